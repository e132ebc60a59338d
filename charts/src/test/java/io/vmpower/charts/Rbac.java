package io.vmpower.charts;

import io.fabric8.kubernetes.api.model.rbac.PolicyRule;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

/**
 * RBAC rules flattened to one string per grant: {@code group/resource:verb} or {@code
 * group/resource:verb@name} when restricted by name ({@code core} for the "" group), so a test can
 * compare the exact set of permissions.
 */
final class Rbac {
  private Rbac() {}

  static Set<String> grants(List<PolicyRule> rules) {
    Set<String> grants = new TreeSet<>();
    for (PolicyRule rule : rules) {
      List<String> names = rule.getResourceNames();
      for (String group : rule.getApiGroups()) {
        for (String resource : rule.getResources()) {
          for (String verb : rule.getVerbs()) {
            String base = (group.isEmpty() ? "core" : group) + "/" + resource + ":" + verb;
            if (names == null || names.isEmpty()) {
              grants.add(base);
            } else {
              names.forEach(n -> grants.add(base + "@" + n));
            }
          }
        }
      }
    }
    return grants;
  }
}
