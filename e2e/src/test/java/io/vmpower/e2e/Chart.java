package io.vmpower.e2e;

import com.marcnuri.helm.Helm;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServiceAccount;
import io.fabric8.kubernetes.api.model.admissionregistration.v1.MutatingWebhookConfiguration;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * charts/vmpower rendered with its default values by Helm's own code (helm-java, in-process), as
 * {@code helm install} would send it, and what the suite needs from it: the objects to apply and
 * the Deployment's container environment, so the application runs with the chart's settings.
 */
final class Chart {
  private static final Pattern DOCUMENT_SEPARATOR = Pattern.compile("(?m)^---\\s*$");
  private static final KubernetesSerialization SERIALIZATION = new KubernetesSerialization();

  private final List<HasMetadata> objects;

  private Chart(List<HasMetadata> objects) {
    this.objects = objects;
  }

  static Chart render(Path chart, String release, String namespace, String kubeVersion) {
    String yaml =
        new Helm(chart)
            .template()
            .withName(release)
            .withNamespace(namespace)
            .withKubeVersion(kubeVersion.replaceFirst("^v", ""))
            // The native reboot policy where KubeVirt's gate is on (StopReasonsE2E turns it on).
            .set("webhooks.vms.nativeRebootPolicy", "if-supported")
            .call();
    List<HasMetadata> objects = new ArrayList<>();
    for (String document : DOCUMENT_SEPARATOR.split(yaml)) {
      if (document.lines().map(String::strip).allMatch(l -> l.isEmpty() || l.startsWith("#"))) {
        continue;
      }
      objects.add((HasMetadata) SERIALIZATION.unmarshal(document));
    }
    Suite.say(
        "rendered %s: %s",
        chart, objects.stream().map(o -> o.getKind() + "/" + o.getMetadata().getName()).toList());
    return new Chart(objects);
  }

  List<HasMetadata> objects() {
    return objects;
  }

  <T extends HasMetadata> T one(Class<T> kind) {
    List<T> found = objects.stream().filter(kind::isInstance).map(kind::cast).toList();
    if (found.size() != 1) {
      throw new IllegalStateException(
          "the chart renders " + found.size() + " " + kind.getSimpleName());
    }
    return found.get(0);
  }

  MutatingWebhookConfiguration webhookConfiguration() {
    return one(MutatingWebhookConfiguration.class);
  }

  String webhookConfigurationName() {
    return webhookConfiguration().getMetadata().getName();
  }

  String serviceName() {
    return one(Service.class).getMetadata().getName();
  }

  String serviceAccount() {
    return one(ServiceAccount.class).getMetadata().getName();
  }

  Container container() {
    List<Container> containers =
        one(Deployment.class).getSpec().getTemplate().getSpec().getContainers();
    if (containers.size() != 1) {
      throw new IllegalStateException("expected one container, found " + containers.size());
    }
    return containers.get(0);
  }

  private String literalEnv(String name) {
    return container().getEnv().stream()
        .filter(e -> e.getName().equals(name) && e.getValue() != null)
        .map(EnvVar::getValue)
        .findFirst()
        .orElseThrow(() -> new IllegalStateException("the Deployment sets no " + name));
  }

  String tlsSecret() {
    return literalEnv("VMPOWER_TLS_SECRETNAME");
  }

  String leaseName() {
    return literalEnv("VMPOWER_CONTROLLER_LEASENAME");
  }

  /**
   * The container's environment as the kubelet would set it for a pod {@code podName} in {@code
   * namespace}: literal values as they are, downward-API fields filled in. Anything else (Secret or
   * ConfigMap references) is not expected and fails.
   */
  Map<String, String> environment(String podName, String namespace) {
    Map<String, String> env = new HashMap<>();
    for (EnvVar e : container().getEnv()) {
      if (e.getValueFrom() == null) {
        env.put(e.getName(), e.getValue() == null ? "" : e.getValue());
        continue;
      }
      String field =
          e.getValueFrom().getFieldRef() == null
              ? null
              : e.getValueFrom().getFieldRef().getFieldPath();
      if ("metadata.name".equals(field)) {
        env.put(e.getName(), podName);
      } else if ("metadata.namespace".equals(field)) {
        env.put(e.getName(), namespace);
      } else {
        throw new IllegalStateException(
            "cannot fill in " + e.getName() + " from " + e.getValueFrom());
      }
    }
    return env;
  }
}
