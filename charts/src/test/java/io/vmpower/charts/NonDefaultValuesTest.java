package io.vmpower.charts;

import static io.vmpower.charts.Rendered.NAMESPACE;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.entry;

import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.LabelSelector;
import io.fabric8.kubernetes.api.model.PodAffinityTerm;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.VolumeMount;
import io.fabric8.kubernetes.api.model.admissionregistration.v1.MutatingWebhookConfiguration;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.networking.v1.NetworkPolicy;
import io.fabric8.kubernetes.api.model.networking.v1.NetworkPolicyIngressRule;
import io.fabric8.kubernetes.api.model.networking.v1.NetworkPolicyPort;
import io.fabric8.kubernetes.api.model.policy.v1.PodDisruptionBudget;
import io.fabric8.kubernetes.api.model.rbac.ClusterRole;
import io.fabric8.kubernetes.api.model.rbac.Role;
import io.vmpower.api.Keys;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;

class NonDefaultValuesTest {

  @Nested
  class CertManagerWithTheChartsOwnCa {
    private final Rendered chart = Rendered.render(Map.of("tls.mode", "cert-manager"));

    @Test
    void caInjectorIsAskedToFillTheCaBundleFromTheServingCertificate() {
      MutatingWebhookConfiguration config = chart.one(MutatingWebhookConfiguration.class);

      assertThat(config.getMetadata().getAnnotations())
          .containsExactly(entry("cert-manager.io/inject-ca-from", NAMESPACE + "/vmpower-serving"));
      assertThat(chart.contentLines()).noneMatch(l -> l.contains("caBundle"));
    }

    @Test
    void servingCertificateIsIssuedByAPrivateCaForTheServiceDnsNames() {
      assertThat(chart.kindsAndNames())
          .contains(
              "Issuer/vmpower-selfsigned",
              "Certificate/vmpower-ca",
              "Issuer/vmpower-ca",
              "Certificate/vmpower-serving");
      GenericKubernetesResource serving = certificate("vmpower-serving");
      Map<String, Object> spec = ChartConsistency.spec(serving);

      assertThat(spec.get("secretName")).isEqualTo("vmpower-tls");
      assertThat(ChartConsistency.list(spec.get("dnsNames")))
          .containsExactly(
              "vmpower.vmpower-system.svc", "vmpower.vmpower-system.svc.cluster.local");
      assertThat(ChartConsistency.map(spec.get("issuerRef")))
          .containsOnly(
              entry("kind", "Issuer"),
              entry("name", "vmpower-ca"),
              entry("group", "cert-manager.io"));
      assertThat(serving.getMetadata().getNamespace()).isEqualTo(NAMESPACE);

      Map<String, Object> ca = ChartConsistency.spec(certificate("vmpower-ca"));
      assertThat(ca.get("isCA")).isEqualTo(true);
      GenericKubernetesResource caIssuer =
          chart.custom("cert-manager.io/v1", "Issuer").stream()
              .filter(i -> i.getMetadata().getName().equals("vmpower-ca"))
              .findFirst()
              .orElseThrow();
      assertThat(ChartConsistency.map(ChartConsistency.spec(caIssuer).get("ca")))
          .containsEntry("secretName", ca.get("secretName"));
    }

    @Test
    void podServesTheMountedCertificateReadOnlyAndCannotReadSecrets() {
      assertThat(chart.env())
          .containsEntry("VMPOWER_TLS_MODE", "cert-manager")
          .containsEntry("VMPOWER_TLS_DIR", "/etc/vmpower/tls")
          .doesNotContainKey("VMPOWER_TLS_SECRETNAME");
      VolumeMount mount =
          chart.container().getVolumeMounts().stream()
              .filter(m -> m.getName().equals("tls"))
              .findFirst()
              .orElseThrow();
      assertThat(mount.getMountPath()).isEqualTo("/etc/vmpower/tls");
      assertThat(mount.getReadOnly()).isTrue();
      assertThat(chart.container().getSecurityContext().getReadOnlyRootFilesystem()).isTrue();
      // Owner and the pod's fsGroup may read the key; nobody else.
      assertThat(
              chart.one(Deployment.class).getSpec().getTemplate().getSpec().getVolumes().stream()
                  .filter(v -> v.getName().equals("tls"))
                  .findFirst()
                  .orElseThrow()
                  .getSecret()
                  .getDefaultMode())
          .isEqualTo(0440);

      assertThat(Rbac.grants(chart.one(Role.class).getRules()))
          .containsExactlyInAnyOrder(
              "coordination.k8s.io/leases:create",
              "coordination.k8s.io/leases:get@vmpower-controller",
              "coordination.k8s.io/leases:update@vmpower-controller");
      // cert-manager owns the caBundle: the program may read its configuration, not write it.
      assertThat(Rbac.grants(chart.one(ClusterRole.class).getRules()))
          .filteredOn(g -> g.contains("mutatingwebhookconfigurations"))
          .containsExactlyInAnyOrder(
              "admissionregistration.k8s.io/mutatingwebhookconfigurations:get@vmpower",
              "admissionregistration.k8s.io/mutatingwebhookconfigurations:list@vmpower",
              "admissionregistration.k8s.io/mutatingwebhookconfigurations:watch@vmpower");
      ChartConsistency.assertConsistent(chart);
    }

    private GenericKubernetesResource certificate(String name) {
      return chart.custom("cert-manager.io/v1", "Certificate").stream()
          .filter(c -> c.getMetadata().getName().equals(name))
          .findFirst()
          .orElseThrow(() -> new AssertionError("no Certificate " + name));
    }
  }

  @Test
  void certManagerWithAGivenIssuerCreatesNoIssuers() {
    Rendered chart =
        Rendered.render(
            Map.of(
                "tls.mode", "cert-manager",
                "tls.certManager.issuerRef.kind", "ClusterIssuer",
                "tls.certManager.issuerRef.name", "corp-ca",
                "tls.secretName", "webhook-cert"));

    assertThat(chart.custom("cert-manager.io/v1", "Issuer")).isEmpty();
    assertThat(chart.custom("cert-manager.io/v1", "Certificate"))
        .singleElement()
        .satisfies(
            c -> {
              assertThat(ChartConsistency.map(ChartConsistency.spec(c).get("issuerRef")))
                  .containsOnly(entry("kind", "ClusterIssuer"), entry("name", "corp-ca"));
              assertThat(ChartConsistency.spec(c).get("secretName")).isEqualTo("webhook-cert");
            });
    ChartConsistency.assertConsistent(chart);
  }

  @Test
  void failurePoliciesTimeoutsAndReinvocationCanBeOverridden() {
    Rendered chart =
        Rendered.render(
            Map.of(
                "webhooks.vms.failurePolicy", "Ignore",
                "webhooks.vms.timeoutSeconds", 3,
                "webhooks.vms.reinvocationPolicy", "Never",
                "webhooks.pods.failurePolicy", "Fail",
                "webhooks.pods.timeoutSeconds", 10,
                "webhooks.pods.reinvocationPolicy", "IfNeeded"));

    assertThat(chart.webhook("vms.vmpower.io").getFailurePolicy()).isEqualTo("Ignore");
    assertThat(chart.webhook("vms.vmpower.io").getTimeoutSeconds()).isEqualTo(3);
    assertThat(chart.webhook("vms.vmpower.io").getReinvocationPolicy()).isEqualTo("Never");
    assertThat(chart.webhook("pods.vmpower.io").getFailurePolicy()).isEqualTo("Fail");
    assertThat(chart.webhook("pods.vmpower.io").getTimeoutSeconds()).isEqualTo(10);
    assertThat(chart.webhook("pods.vmpower.io").getReinvocationPolicy()).isEqualTo("IfNeeded");
    // The selectors do not move with the policies.
    assertThat(chart.webhook("pods.vmpower.io").getObjectSelector().getMatchLabels())
        .containsExactly(entry(Keys.KUBEVIRT_APP, Keys.KUBEVIRT_APP_LAUNCHER));
  }

  @Test
  void moreReplicasWithHardAntiAffinity() {
    Rendered chart = Rendered.render(Map.of("replicaCount", 3, "podAntiAffinity", "hard"));
    Deployment deployment = chart.one(Deployment.class);
    PodSpec pod = deployment.getSpec().getTemplate().getSpec();

    assertThat(deployment.getSpec().getReplicas()).isEqualTo(3);
    List<PodAffinityTerm> required =
        pod.getAffinity().getPodAntiAffinity().getRequiredDuringSchedulingIgnoredDuringExecution();
    assertThat(required).hasSize(1);
    assertThat(required.get(0).getTopologyKey()).isEqualTo("kubernetes.io/hostname");
    assertThat(
            Selectors.matches(
                required.get(0).getLabelSelector(),
                deployment.getSpec().getTemplate().getMetadata().getLabels()))
        .isTrue();
    assertThat(
            pod.getAffinity()
                .getPodAntiAffinity()
                .getPreferredDuringSchedulingIgnoredDuringExecution())
        .isNullOrEmpty();
  }

  @Test
  void pdbCanBeTurnedOff() {
    Rendered chart = Rendered.render(Map.of("podDisruptionBudget.enabled", false));

    assertThat(chart.all(PodDisruptionBudget.class)).isEmpty();
  }

  @Test
  void serviceMonitorScrapesTheManagementPortOfTheService() {
    Rendered chart =
        Rendered.render(
            Map.of(
                "metrics.serviceMonitor.enabled",
                true,
                "metrics.serviceMonitor.labels.release",
                "kube-prometheus-stack"));
    GenericKubernetesResource monitor =
        chart.custom("monitoring.coreos.com/v1", "ServiceMonitor").stream()
            .reduce(
                (a, b) -> {
                  throw new AssertionError("more than one ServiceMonitor");
                })
            .orElseThrow();
    Map<String, Object> spec = ChartConsistency.spec(monitor);
    Service service = chart.one(Service.class);

    assertThat(monitor.getMetadata().getNamespace()).isEqualTo(NAMESPACE);
    assertThat(monitor.getMetadata().getLabels()).containsEntry("release", "kube-prometheus-stack");
    assertThat(ChartConsistency.list(spec.get("endpoints")))
        .singleElement()
        .satisfies(
            e -> {
              Map<?, ?> endpoint = (Map<?, ?>) e;
              assertThat(endpoint.get("port")).isEqualTo("http-metrics");
              assertThat(endpoint.get("path")).isEqualTo("/actuator/prometheus");
              assertThat(endpoint.get("scheme")).isEqualTo("http");
            });
    assertThat(service.getSpec().getPorts())
        .anySatisfy(
            p -> {
              assertThat(p.getName()).isEqualTo("http-metrics");
              assertThat(p.getPort()).isEqualTo(8080);
            });
    @SuppressWarnings("unchecked")
    Map<String, String> matchLabels =
        (Map<String, String>) ChartConsistency.map(spec.get("selector")).get("matchLabels");
    assertThat(
            Selectors.matches(
                new LabelSelector(null, matchLabels), service.getMetadata().getLabels()))
        .isTrue();
  }

  @Test
  void networkPolicyAdmitsOnlyTheWebhookAndMetricsPorts() {
    Rendered chart =
        Rendered.renderWithValuesFile(
            """
            networkPolicy:
              enabled: true
              metricsFrom:
                - namespaceSelector:
                    matchLabels:
                      kubernetes.io/metadata.name: monitoring
            """);
    NetworkPolicy policy = chart.one(NetworkPolicy.class);
    Deployment deployment = chart.one(Deployment.class);

    assertThat(policy.getMetadata().getNamespace()).isEqualTo(NAMESPACE);
    assertThat(
            Selectors.matches(
                policy.getSpec().getPodSelector(),
                deployment.getSpec().getTemplate().getMetadata().getLabels()))
        .isTrue();
    assertThat(policy.getSpec().getPolicyTypes()).containsExactly("Ingress");
    List<NetworkPolicyIngressRule> ingress = policy.getSpec().getIngress();
    assertThat(ingress).hasSize(2);
    assertThat(ingress.get(0).getPorts())
        .extracting(NetworkPolicyPort::getPort)
        .extracting(p -> p.getStrVal())
        .containsExactly("https");
    // The API server may call from outside the pod network: no peer restriction by default.
    assertThat(ingress.get(0).getFrom()).isNullOrEmpty();
    assertThat(ingress.get(1).getPorts())
        .extracting(NetworkPolicyPort::getPort)
        .extracting(p -> p.getStrVal())
        .containsExactly("http-metrics");
    assertThat(ingress.get(1).getFrom())
        .singleElement()
        .satisfies(
            peer ->
                assertThat(peer.getNamespaceSelector().getMatchLabels())
                    .containsExactly(entry("kubernetes.io/metadata.name", "monitoring")));
    // Named ports in the policy must exist on the container.
    assertThat(chart.container().getPorts())
        .extracting(p -> p.getName())
        .contains("https", "http-metrics");
  }

  @Test
  void withoutTheControllerThePodGetsNoControllerPermissions() {
    Rendered chart = Rendered.render(Map.of("controller.enabled", false));

    assertThat(chart.env()).containsEntry("VMPOWER_CONTROLLER_ENABLED", "false");
    assertThat(Rbac.grants(chart.one(ClusterRole.class).getRules()))
        .allMatch(g -> g.startsWith("admissionregistration.k8s.io/mutatingwebhookconfigurations:"));
    assertThat(Rbac.grants(chart.one(Role.class).getRules()))
        .allMatch(g -> g.startsWith("core/secrets"));
    ChartConsistency.assertConsistent(chart);
  }

  @Test
  void otherReleaseNameAndNamespaceKeepEveryNameConsistent() {
    Rendered chart =
        Rendered.render(
            "prod", "ops", Map.of("webhooks.extraExcludedNamespaces[0]", "kube-public"));

    assertThat(chart.kindsAndNames())
        .contains(
            "Deployment/prod-vmpower",
            "MutatingWebhookConfiguration/prod-vmpower",
            "Service/prod-vmpower");
    assertThat(chart.env())
        .containsEntry("VMPOWER_TLS_SECRETNAME", "prod-vmpower-tls")
        .containsEntry("VMPOWER_CONTROLLER_LEASENAME", "prod-vmpower-controller");
    for (String webhook : List.of("vms.vmpower.io", "pods.vmpower.io")) {
      LabelSelector selector = chart.webhook(webhook).getNamespaceSelector();
      assertThat(selector.getMatchExpressions().get(1).getValues())
          .containsExactly("kube-system", "ops", "kube-public");
      assertThat(Selectors.matches(selector, Selectors.namespace("ops", Keys.ENABLED, "true")))
          .isFalse();
      assertThat(
              Selectors.matches(
                  selector, Selectors.namespace("vmpower-system", Keys.ENABLED, "true")))
          .isTrue();
    }
    ChartConsistency.assertConsistent(chart);
  }

  @Test
  void kubeSystemStaysExcludedWhateverTheExtraList() {
    Rendered chart =
        Rendered.render(
            Map.of(
                "webhooks.extraExcludedNamespaces[0]",
                "kube-system",
                "webhooks.extraExcludedNamespaces[1]",
                NAMESPACE));

    assertThat(
            chart
                .webhook("vms.vmpower.io")
                .getNamespaceSelector()
                .getMatchExpressions()
                .get(1)
                .getValues())
        .containsExactly("kube-system", NAMESPACE);
  }

  @Test
  void fullnameOverrideImageDigestAndExtraEnv() {
    Rendered chart =
        Rendered.renderWithValuesFile(
            """
            fullnameOverride: kv-power
            image:
              repository: registry.example.com/vmpower
              digest: sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
            javaToolOptions: "-XX:MaxRAMPercentage=50"
            extraEnv:
              - name: LOGGING_LEVEL_IO_VMPOWER
                value: DEBUG
            """);

    assertThat(chart.kindsAndNames())
        .contains("MutatingWebhookConfiguration/kv-power", "Service/kv-power");
    assertThat(chart.container().getImage())
        .isEqualTo(
            "registry.example.com/vmpower@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef");
    assertThat(chart.env())
        .containsEntry("JAVA_TOOL_OPTIONS", "-XX:MaxRAMPercentage=50")
        .containsEntry("LOGGING_LEVEL_IO_VMPOWER", "DEBUG")
        .containsEntry("VMPOWER_TLS_SECRETNAME", "kv-power-tls");
    ChartConsistency.assertConsistent(chart);
  }

  @Test
  void existingServiceAccountIsUsedWhenNotCreated() {
    Rendered chart =
        Rendered.render(
            Map.of("serviceAccount.create", false, "serviceAccount.name", "vmpower-sa"));

    assertThat(chart.kindsAndNames()).noneMatch(n -> n.startsWith("ServiceAccount/"));
    assertThat(
            chart.one(Deployment.class).getSpec().getTemplate().getSpec().getServiceAccountName())
        .isEqualTo("vmpower-sa");
    ChartConsistency.assertConsistent(chart);
  }

  @Test
  void theNativeRebootPolicyReadsTheKubeVirtCr() {
    Rendered chart = Rendered.render(Map.of("webhooks.vms.nativeRebootPolicy", "if-supported"));
    assertThat(chart.env()).containsEntry("VMPOWER_WEBHOOK_NATIVEREBOOTPOLICY", "if-supported");
    assertThat(Rbac.grants(chart.one(ClusterRole.class).getRules()))
        .contains(
            "kubevirt.io/kubevirts:get",
            "kubevirt.io/kubevirts:list",
            "kubevirt.io/kubevirts:watch")
        .noneMatch(
            g -> g.startsWith("kubevirt.io/kubevirts:") && !g.matches(".*:(get|list|watch)"));
    Rendered defaults = Rendered.render(Map.of());
    assertThat(defaults.env()).containsEntry("VMPOWER_WEBHOOK_NATIVEREBOOTPOLICY", "never");
    assertThat(Rbac.grants(defaults.one(ClusterRole.class).getRules()))
        .noneMatch(g -> g.startsWith("kubevirt.io/kubevirts"));
  }
}
