package io.vmpower.charts;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.LabelSelector;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.Volume;
import io.fabric8.kubernetes.api.model.admissionregistration.v1.MutatingWebhook;
import io.fabric8.kubernetes.api.model.admissionregistration.v1.MutatingWebhookConfiguration;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.rbac.ClusterRole;
import io.fabric8.kubernetes.api.model.rbac.ClusterRoleBinding;
import io.fabric8.kubernetes.api.model.rbac.Role;
import io.fabric8.kubernetes.api.model.rbac.RoleBinding;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Checks that hold for every set of values: the names the pod is given in its environment are the
 * names of the objects the chart renders, and RBAC allows exactly those names.
 */
final class ChartConsistency {
  private ChartConsistency() {}

  static void assertConsistent(Rendered chart) {
    Map<String, String> env = chart.env();
    MutatingWebhookConfiguration config = chart.one(MutatingWebhookConfiguration.class);
    Service service = chart.one(Service.class);
    Deployment deployment = chart.one(Deployment.class);
    PodSpec pod = deployment.getSpec().getTemplate().getSpec();
    Map<String, String> podLabels = deployment.getSpec().getTemplate().getMetadata().getLabels();
    Set<String> clusterGrants = Rbac.grants(chart.one(ClusterRole.class).getRules());
    Set<String> namespaceGrants =
        chart.optional(Role.class).map(r -> Rbac.grants(r.getRules())).orElse(Set.of());

    assertThat(env)
        .containsEntry("POD_NAME", "fieldRef:metadata.name")
        .containsEntry("POD_NAMESPACE", "fieldRef:metadata.namespace")
        .containsEntry("VMPOWER_TLS_NAMESPACE", "fieldRef:metadata.namespace")
        .containsEntry("VMPOWER_WEBHOOK_ENABLED", "true");

    // The configuration the program keeps the caBundle in, and the only one it may touch.
    String configName = config.getMetadata().getName();
    assertThat(env).containsEntry("VMPOWER_TLS_WEBHOOKCONFIGURATIONNAME", configName);
    assertThat(clusterGrants)
        .filteredOn(g -> g.startsWith("admissionregistration.k8s.io/"))
        .isNotEmpty()
        .allMatch(g -> g.endsWith("@" + configName));

    // The Service the certificate is issued for is the one both webhooks call.
    String serviceName = service.getMetadata().getName();
    assertThat(env).containsEntry("VMPOWER_TLS_SERVICENAME", serviceName);
    for (MutatingWebhook webhook : config.getWebhooks()) {
      assertThat(webhook.getClientConfig().getService().getName()).isEqualTo(serviceName);
      assertThat(webhook.getClientConfig().getService().getNamespace()).isEqualTo(chart.namespace);
      assertThat(webhook.getClientConfig().getCaBundle()).isNull();
    }
    assertThat(
            Selectors.matches(new LabelSelector(null, service.getSpec().getSelector()), podLabels))
        .isTrue();

    String mode = env.get("VMPOWER_TLS_MODE");
    if ("cert-manager".equals(mode)) {
      List<GenericKubernetesResource> certificates =
          chart.custom("cert-manager.io/v1", "Certificate").stream()
              .filter(c -> !Boolean.TRUE.equals(spec(c).get("isCA")))
              .toList();
      assertThat(certificates).hasSize(1);
      GenericKubernetesResource certificate = certificates.get(0);
      assertThat(config.getMetadata().getAnnotations())
          .containsEntry(
              "cert-manager.io/inject-ca-from",
              chart.namespace + "/" + certificate.getMetadata().getName());
      assertThat(env).containsEntry("VMPOWER_TLS_DIR", "/etc/vmpower/tls");
      assertThat(env).doesNotContainKey("VMPOWER_TLS_SECRETNAME");
      Volume tls =
          pod.getVolumes().stream()
              .filter(v -> v.getName().equals("tls"))
              .findFirst()
              .orElseThrow();
      assertThat(tls.getSecret().getSecretName()).isEqualTo(spec(certificate).get("secretName"));
      assertThat(clusterGrants).noneMatch(g -> g.startsWith("core/secrets"));
      assertThat(namespaceGrants).noneMatch(g -> g.startsWith("core/secrets"));
    } else {
      assertThat(mode).isEqualTo("self-managed");
      String secretName = env.get("VMPOWER_TLS_SECRETNAME");
      assertThat(secretName).isNotBlank();
      assertThat(namespaceGrants)
          .filteredOn(g -> g.startsWith("core/secrets/") || g.startsWith("core/secrets:"))
          .containsExactlyInAnyOrder(
              "core/secrets:create",
              "core/secrets:get@" + secretName,
              "core/secrets:update@" + secretName,
              "core/secrets:watch@" + secretName);
      assertThat(config.getMetadata().getAnnotations())
          .doesNotContainKey("cert-manager.io/inject-ca-from");
    }

    if ("true".equals(env.get("VMPOWER_CONTROLLER_ENABLED"))) {
      String lease = env.get("VMPOWER_CONTROLLER_LEASENAME");
      assertThat(lease).isNotBlank();
      assertThat(env)
          .containsEntry("VMPOWER_CONTROLLER_LEASENAMESPACE", "fieldRef:metadata.namespace");
      assertThat(namespaceGrants)
          .filteredOn(g -> g.startsWith("coordination.k8s.io/leases"))
          .containsExactlyInAnyOrder(
              "coordination.k8s.io/leases:create",
              "coordination.k8s.io/leases:get@" + lease,
              "coordination.k8s.io/leases:update@" + lease);
    } else {
      assertThat(env).containsEntry("VMPOWER_CONTROLLER_ENABLED", "false");
      assertThat(env).doesNotContainKeys("VMPOWER_CONTROLLER_LEASENAME");
      assertThat(namespaceGrants).noneMatch(g -> g.startsWith("coordination.k8s.io"));
    }

    // Both bindings name the account the pods run as.
    String account = pod.getServiceAccountName();
    assertThat(chart.one(ClusterRoleBinding.class).getSubjects())
        .singleElement()
        .satisfies(s -> assertThat(s.getName()).isEqualTo(account));
    chart
        .optional(RoleBinding.class)
        .ifPresent(
            b ->
                assertThat(b.getSubjects())
                    .singleElement()
                    .satisfies(s -> assertThat(s.getName()).isEqualTo(account)));
  }

  @SuppressWarnings("unchecked")
  static Map<String, Object> spec(GenericKubernetesResource resource) {
    return (Map<String, Object>) resource.getAdditionalProperties().get("spec");
  }

  @SuppressWarnings("unchecked")
  static Map<String, Object> map(Object value) {
    assertThat(value).isInstanceOf(Map.class);
    return (Map<String, Object>) value;
  }

  @SuppressWarnings("unchecked")
  static List<Object> list(Object value) {
    assertThat(value).isInstanceOf(List.class);
    return (List<Object>) value;
  }
}
