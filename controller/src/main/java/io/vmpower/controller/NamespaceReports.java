package io.vmpower.controller;

import io.fabric8.kubernetes.api.model.Namespace;
import io.vmpower.api.Keys;
import io.vmpower.api.NamespaceDefault;
import io.vmpower.api.RunPolicy;
import io.vmpower.controller.Outcome.EventReason;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reports an enabled namespace whose {@code vmpower.io/default-run-policy} is no run policy: a log
 * line and a Warning Event on the namespace, once per value (the gauge {@code
 * vmpower_controller_namespaces_default_invalid} counts them, {@link FleetCensus}). The VM webhook
 * ignores such a default and never blocks a VM write for it.
 */
final class NamespaceReports {
  private static final Logger log = LoggerFactory.getLogger(NamespaceReports.class);

  private final Events events;
  private final Set<String> reported = ConcurrentHashMap.newKeySet();

  NamespaceReports(Events events) {
    this.events = events;
  }

  void seen(Namespace namespace) {
    Map<String, String> annotations = namespace.getMetadata().getAnnotations();
    String value = annotations == null ? null : annotations.get(Keys.DEFAULT_RUN_POLICY);
    if (!(NamespaceDefault.of(value) instanceof NamespaceDefault.Invalid)) {
      return;
    }
    String name = namespace.getMetadata().getName();
    String uid = namespace.getMetadata().getUid();
    if (!reported.add(uid + "\n" + value)) {
      return;
    }
    log.atWarn()
        .addKeyValue("namespace", name)
        .addKeyValue("value", value)
        .log("namespace default run policy is invalid and ignored");
    events.emitOnNamespace(
        name,
        uid,
        "default-run-policy/" + value,
        EventReason.InvalidDefaultRunPolicy,
        Keys.DEFAULT_RUN_POLICY
            + " \""
            + (value.length() > 100 ? value.substring(0, 100) + "…" : value)
            + "\" is no run policy ("
            + String.join(", ", RunPolicy.values(false))
            + "): ignored, VMs without their own "
            + Keys.RUN_POLICY
            + " stay unmanaged.");
  }
}
