package io.vmpower.charts;

import static io.vmpower.charts.Rendered.NAMESPACE;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.entry;

import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.ContainerPort;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.LabelSelector;
import io.fabric8.kubernetes.api.model.PodSecurityContext;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.Probe;
import io.fabric8.kubernetes.api.model.SecurityContext;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServiceAccount;
import io.fabric8.kubernetes.api.model.ServicePort;
import io.fabric8.kubernetes.api.model.Volume;
import io.fabric8.kubernetes.api.model.WeightedPodAffinityTerm;
import io.fabric8.kubernetes.api.model.admissionregistration.v1.MutatingWebhook;
import io.fabric8.kubernetes.api.model.admissionregistration.v1.MutatingWebhookConfiguration;
import io.fabric8.kubernetes.api.model.admissionregistration.v1.RuleWithOperations;
import io.fabric8.kubernetes.api.model.admissionregistration.v1.ServiceReference;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.policy.v1.PodDisruptionBudget;
import io.fabric8.kubernetes.api.model.rbac.ClusterRole;
import io.fabric8.kubernetes.api.model.rbac.ClusterRoleBinding;
import io.fabric8.kubernetes.api.model.rbac.PolicyRule;
import io.fabric8.kubernetes.api.model.rbac.Role;
import io.fabric8.kubernetes.api.model.rbac.RoleBinding;
import io.fabric8.kubernetes.api.model.rbac.Subject;
import io.vmpower.api.Keys;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/** The chart as `helm install vmpower charts/vmpower -n vmpower-system` renders it. */
class DefaultValuesTest {

  private static final Rendered CHART = Rendered.render(Map.of());

  @Test
  void rendersExactlyTheseObjects() {
    assertThat(CHART.kindsAndNames())
        .containsExactly(
            "ClusterRole/vmpower",
            "ClusterRoleBinding/vmpower",
            "Deployment/vmpower",
            "MutatingWebhookConfiguration/vmpower",
            "PodDisruptionBudget/vmpower",
            "Role/vmpower",
            "RoleBinding/vmpower",
            "Service/vmpower",
            "ServiceAccount/vmpower");
  }

  @Test
  void namespacedObjectsAreInTheReleaseNamespaceAndClusterObjectsHaveNone() {
    Set<String> clusterScoped =
        Set.of("ClusterRole", "ClusterRoleBinding", "MutatingWebhookConfiguration");
    for (HasMetadata object : CHART.objects) {
      String expected = clusterScoped.contains(object.getKind()) ? null : NAMESPACE;
      assertThat(object.getMetadata().getNamespace()).as(object.getKind()).isEqualTo(expected);
      assertThat(object.getMetadata().getLabels())
          .as(object.getKind())
          .contains(
              entry("app.kubernetes.io/name", "vmpower"),
              entry("app.kubernetes.io/instance", "vmpower"),
              entry("app.kubernetes.io/managed-by", "Helm"));
    }
  }

  @Test
  void webhookConfigurationHasExactlyTheTwoWebhooksAndNoCaBundle() {
    MutatingWebhookConfiguration config = CHART.one(MutatingWebhookConfiguration.class);

    assertThat(config.getWebhooks())
        .extracting(MutatingWebhook::getName)
        .containsExactly("vms.vmpower.io", "pods.vmpower.io");
    for (MutatingWebhook webhook : config.getWebhooks()) {
      assertThat(webhook.getClientConfig().getCaBundle()).as(webhook.getName()).isNull();
      assertThat(webhook.getClientConfig().getUrl()).isNull();
      assertThat(webhook.getSideEffects()).isEqualTo("None");
      assertThat(webhook.getAdmissionReviewVersions()).containsExactly("v1");
      assertThat(webhook.getTimeoutSeconds()).isBetween(1, 10);
      assertThat(webhook.getMatchPolicy()).isEqualTo("Equivalent");
    }
    // Neither the self-managed program nor cert-manager may have to fight the chart over it.
    assertThat(CHART.contentLines()).noneMatch(l -> l.contains("caBundle"));
    assertThat(config.getMetadata().getAnnotations()).isNullOrEmpty();
  }

  @Test
  void vmWebhook() {
    MutatingWebhook vms = CHART.webhook("vms.vmpower.io");

    assertThat(vms.getFailurePolicy()).isEqualTo("Fail");
    assertThat(vms.getReinvocationPolicy()).isEqualTo("IfNeeded");
    assertThat(vms.getRules()).hasSize(1);
    RuleWithOperations rule = vms.getRules().get(0);
    assertThat(rule.getApiGroups()).containsExactly("kubevirt.io");
    assertThat(rule.getApiVersions()).containsExactly("v1");
    assertThat(rule.getResources()).containsExactly("virtualmachines");
    assertThat(rule.getOperations()).containsExactly("CREATE", "UPDATE");
    assertThat(rule.getScope()).isEqualTo("Namespaced");
    assertThat(vms.getObjectSelector()).isNull();
    assertService(vms.getClientConfig().getService(), "/mutate-virtualmachines");
  }

  @Test
  void podWebhook() {
    MutatingWebhook pods = CHART.webhook("pods.vmpower.io");

    assertThat(pods.getFailurePolicy()).isEqualTo("Ignore");
    assertThat(pods.getReinvocationPolicy()).isEqualTo("Never");
    assertThat(pods.getRules()).hasSize(1);
    RuleWithOperations rule = pods.getRules().get(0);
    assertThat(rule.getApiGroups()).containsExactly("");
    assertThat(rule.getApiVersions()).containsExactly("v1");
    assertThat(rule.getResources()).containsExactly("pods");
    assertThat(rule.getOperations()).containsExactly("CREATE");
    assertThat(rule.getScope()).isEqualTo("Namespaced");
    assertService(pods.getClientConfig().getService(), "/mutate-pods");
  }

  private static void assertService(ServiceReference service, String path) {
    assertThat(service.getName()).isEqualTo(CHART.one(Service.class).getMetadata().getName());
    assertThat(service.getNamespace()).isEqualTo(NAMESPACE);
    assertThat(service.getPath()).isEqualTo(path);
    assertThat(service.getPort()).isEqualTo(443);
  }

  @Test
  void podObjectSelectorIsExactlyVirtLauncherPodsWithARunPolicyLabel() {
    LabelSelector selector = CHART.webhook("pods.vmpower.io").getObjectSelector();

    assertThat(selector.getMatchLabels())
        .containsExactly(entry(Keys.KUBEVIRT_APP, Keys.KUBEVIRT_APP_LAUNCHER));
    assertThat(selector.getMatchExpressions()).hasSize(1);
    assertThat(selector.getMatchExpressions().get(0).getKey()).isEqualTo(Keys.RUN_POLICY);
    assertThat(selector.getMatchExpressions().get(0).getOperator()).isEqualTo("Exists");
    assertThat(selector.getMatchExpressions().get(0).getValues()).isNullOrEmpty();

    assertThat(
            Selectors.matches(
                selector, Map.of("kubevirt.io", "virt-launcher", Keys.RUN_POLICY, "AlwaysOn")))
        .isTrue();
    assertThat(Selectors.matches(selector, Map.of("kubevirt.io", "virt-launcher"))).isFalse();
    assertThat(Selectors.matches(selector, Map.of("app", "db", Keys.RUN_POLICY, "AlwaysOn")))
        .isFalse();
    assertThat(
            Selectors.matches(
                selector, Map.of("kubevirt.io", "virt-handler", Keys.RUN_POLICY, "AlwaysOn")))
        .isFalse();
  }

  @Test
  void bothNamespaceSelectorsAreExactlyEnabledAndNotKubeSystemOrTheReleaseNamespace() {
    for (String name : List.of("vms.vmpower.io", "pods.vmpower.io")) {
      LabelSelector selector = CHART.webhook(name).getNamespaceSelector();

      assertThat(selector.getMatchLabels()).as(name).isNullOrEmpty();
      assertThat(selector.getMatchExpressions()).as(name).hasSize(2);
      assertThat(selector.getMatchExpressions().get(0).getKey()).isEqualTo(Keys.ENABLED);
      assertThat(selector.getMatchExpressions().get(0).getOperator()).isEqualTo("In");
      assertThat(selector.getMatchExpressions().get(0).getValues()).containsExactly("true");
      assertThat(selector.getMatchExpressions().get(1).getKey())
          .isEqualTo("kubernetes.io/metadata.name");
      assertThat(selector.getMatchExpressions().get(1).getOperator()).isEqualTo("NotIn");
      assertThat(selector.getMatchExpressions().get(1).getValues())
          .containsExactly("kube-system", NAMESPACE);

      assertThat(Selectors.matches(selector, Selectors.namespace("team-a", Keys.ENABLED, "true")))
          .as(name)
          .isTrue();
      assertThat(Selectors.matches(selector, Selectors.namespace("team-a"))).isFalse();
      assertThat(Selectors.matches(selector, Selectors.namespace("team-a", Keys.ENABLED, "false")))
          .isFalse();
      // Even if someone labels them: the webhook must never gate its own pods or the system's.
      assertThat(
              Selectors.matches(selector, Selectors.namespace("kube-system", Keys.ENABLED, "true")))
          .isFalse();
      assertThat(Selectors.matches(selector, Selectors.namespace(NAMESPACE, Keys.ENABLED, "true")))
          .isFalse();
    }
  }

  @Test
  void clusterRoleGrantsExactlyWhatTheProgramUses() {
    ClusterRole role = CHART.one(ClusterRole.class);

    assertThat(Rbac.grants(role.getRules()))
        .containsExactlyInAnyOrder(
            "kubevirt.io/virtualmachines:get",
            "kubevirt.io/virtualmachines:list",
            "kubevirt.io/virtualmachines:watch",
            "kubevirt.io/virtualmachines:patch",
            "kubevirt.io/virtualmachines:update",
            "kubevirt.io/virtualmachineinstances:get",
            "kubevirt.io/virtualmachineinstances:list",
            "kubevirt.io/virtualmachineinstances:watch",
            "subresources.kubevirt.io/virtualmachines/start:update",
            "core/pods:get",
            "core/pods:list",
            "core/pods:watch",
            "core/namespaces:get",
            "core/namespaces:list",
            "core/namespaces:watch",
            "core/events:create",
            "core/events:patch",
            "events.k8s.io/events:create",
            "events.k8s.io/events:patch",
            "admissionregistration.k8s.io/mutatingwebhookconfigurations:get@vmpower",
            "admissionregistration.k8s.io/mutatingwebhookconfigurations:list@vmpower",
            "admissionregistration.k8s.io/mutatingwebhookconfigurations:watch@vmpower",
            "admissionregistration.k8s.io/mutatingwebhookconfigurations:patch@vmpower",
            "admissionregistration.k8s.io/mutatingwebhookconfigurations:update@vmpower");
    assertThat(role.getAggregationRule()).isNull();
  }

  @Test
  void roleGrantsLeaseAndTlsSecretAccessByNameExceptCreate() {
    Role role = CHART.one(Role.class);

    assertThat(Rbac.grants(role.getRules()))
        .containsExactlyInAnyOrder(
            // create cannot be restricted by resourceNames: the authorizer sees no name yet.
            "coordination.k8s.io/leases:create",
            "coordination.k8s.io/leases:get@vmpower-controller",
            "coordination.k8s.io/leases:update@vmpower-controller",
            "core/secrets:create",
            "core/secrets:get@vmpower-tls",
            "core/secrets:update@vmpower-tls",
            "core/secrets:watch@vmpower-tls");
  }

  @Test
  void noRuleGrantsAWildcardAndSecretsAndWebhookConfigurationsAreNameRestricted() {
    List<PolicyRule> rules =
        Stream.concat(
                CHART.one(ClusterRole.class).getRules().stream(),
                CHART.one(Role.class).getRules().stream())
            .toList();
    for (PolicyRule rule : rules) {
      assertThat(rule.getApiGroups()).doesNotContain("*");
      assertThat(rule.getResources()).doesNotContain("*").noneMatch(r -> r.endsWith("/*"));
      assertThat(rule.getVerbs()).doesNotContain("*", "escalate", "bind", "impersonate");
      assertThat(rule.getNonResourceURLs()).isNullOrEmpty();
    }
    // Secrets: only in the namespaced Role, and every verb but create tied to one name.
    assertThat(Rbac.grants(CHART.one(ClusterRole.class).getRules()))
        .noneMatch(g -> g.startsWith("core/secrets"));
    assertThat(Rbac.grants(CHART.one(Role.class).getRules()))
        .filteredOn(g -> g.startsWith("core/secrets") && !g.endsWith(":create"))
        .isNotEmpty()
        .allMatch(g -> g.endsWith("@vmpower-tls"));
    assertThat(Rbac.grants(rules))
        .filteredOn(g -> g.contains("mutatingwebhookconfigurations"))
        .isNotEmpty()
        .allMatch(g -> g.endsWith("@vmpower"));
    assertThat(Rbac.grants(rules)).noneMatch(g -> g.contains("validatingwebhookconfigurations"));
  }

  @Test
  void bindingsGiveTheRolesToTheServiceAccountThePodsRunAs() {
    ServiceAccount account = CHART.one(ServiceAccount.class);
    String podAccount =
        CHART.one(Deployment.class).getSpec().getTemplate().getSpec().getServiceAccountName();
    assertThat(podAccount).isEqualTo(account.getMetadata().getName());

    ClusterRoleBinding clusterBinding = CHART.one(ClusterRoleBinding.class);
    assertThat(clusterBinding.getRoleRef().getKind()).isEqualTo("ClusterRole");
    assertThat(clusterBinding.getRoleRef().getName())
        .isEqualTo(CHART.one(ClusterRole.class).getMetadata().getName());
    assertSubject(clusterBinding.getSubjects(), podAccount);

    RoleBinding binding = CHART.one(RoleBinding.class);
    assertThat(binding.getRoleRef().getKind()).isEqualTo("Role");
    assertThat(binding.getRoleRef().getName())
        .isEqualTo(CHART.one(Role.class).getMetadata().getName());
    assertSubject(binding.getSubjects(), podAccount);
  }

  private static void assertSubject(List<Subject> subjects, String account) {
    assertThat(subjects).hasSize(1);
    assertThat(subjects.get(0).getKind()).isEqualTo("ServiceAccount");
    assertThat(subjects.get(0).getName()).isEqualTo(account);
    assertThat(subjects.get(0).getNamespace()).isEqualTo(NAMESPACE);
  }

  @Test
  void deploymentRunsTwoSpreadReplicasWithAZeroDowntimeRollout() {
    Deployment deployment = CHART.one(Deployment.class);
    PodSpec pod = deployment.getSpec().getTemplate().getSpec();
    Map<String, String> podLabels = deployment.getSpec().getTemplate().getMetadata().getLabels();

    assertThat(deployment.getSpec().getReplicas()).isEqualTo(2);
    assertThat(Selectors.matches(deployment.getSpec().getSelector(), podLabels)).isTrue();
    assertThat(
            deployment.getSpec().getStrategy().getRollingUpdate().getMaxUnavailable().getIntVal())
        .isZero();

    List<WeightedPodAffinityTerm> preferred =
        pod.getAffinity().getPodAntiAffinity().getPreferredDuringSchedulingIgnoredDuringExecution();
    assertThat(preferred).hasSize(1);
    assertThat(preferred.get(0).getPodAffinityTerm().getTopologyKey())
        .isEqualTo("kubernetes.io/hostname");
    assertThat(
            Selectors.matches(preferred.get(0).getPodAffinityTerm().getLabelSelector(), podLabels))
        .isTrue();
    assertThat(
            pod.getAffinity()
                .getPodAntiAffinity()
                .getRequiredDuringSchedulingIgnoredDuringExecution())
        .isNullOrEmpty();
  }

  @Test
  void podDisruptionBudgetKeepsOneOfTheReplicas() {
    PodDisruptionBudget pdb = CHART.one(PodDisruptionBudget.class);
    Map<String, String> podLabels =
        CHART.one(Deployment.class).getSpec().getTemplate().getMetadata().getLabels();

    assertThat(pdb.getSpec().getMaxUnavailable().getIntVal()).isEqualTo(1);
    assertThat(pdb.getSpec().getMinAvailable()).isNull();
    assertThat(Selectors.matches(pdb.getSpec().getSelector(), podLabels)).isTrue();
  }

  @Test
  void podMeetsTheRestrictedPodSecurityStandard() {
    PodSpec pod = CHART.one(Deployment.class).getSpec().getTemplate().getSpec();
    PodSecurityContext podContext = pod.getSecurityContext();
    Container container = CHART.container();
    SecurityContext context = container.getSecurityContext();

    assertThat(podContext.getRunAsNonRoot()).isTrue();
    assertThat(podContext.getRunAsUser()).isPositive();
    assertThat(podContext.getSeccompProfile().getType()).isEqualTo("RuntimeDefault");
    assertThat(context.getRunAsNonRoot()).isTrue();
    assertThat(context.getRunAsUser()).isPositive();
    assertThat(context.getAllowPrivilegeEscalation()).isFalse();
    assertThat(context.getReadOnlyRootFilesystem()).isTrue();
    assertThat(context.getPrivileged()).isNotEqualTo(Boolean.TRUE);
    assertThat(context.getCapabilities().getDrop()).containsExactly("ALL");
    assertThat(context.getCapabilities().getAdd()).isNullOrEmpty();
    assertThat(context.getSeccompProfile().getType()).isEqualTo("RuntimeDefault");
    assertThat(pod.getHostNetwork()).isNotEqualTo(Boolean.TRUE);
    assertThat(pod.getHostPID()).isNotEqualTo(Boolean.TRUE);
    assertThat(pod.getHostIPC()).isNotEqualTo(Boolean.TRUE);
    assertThat(pod.getInitContainers()).isNullOrEmpty();
    assertThat(container.getPorts()).allMatch(p -> p.getHostPort() == null);
  }

  @Test
  void onlyTmpIsWritableAndItIsAnEmptyDir() {
    PodSpec pod = CHART.one(Deployment.class).getSpec().getTemplate().getSpec();

    assertThat(pod.getVolumes()).extracting(Volume::getName).containsExactly("tmp");
    assertThat(pod.getVolumes().get(0).getEmptyDir()).isNotNull();
    assertThat(pod.getVolumes()).allMatch(v -> v.getHostPath() == null);
    assertThat(CHART.container().getVolumeMounts())
        .singleElement()
        .satisfies(
            m -> {
              assertThat(m.getName()).isEqualTo("tmp");
              assertThat(m.getMountPath()).isEqualTo("/tmp");
            });
  }

  @Test
  void containerPortsProbesAndResources() {
    Container container = CHART.container();

    assertThat(container.getPorts())
        .extracting(ContainerPort::getName, ContainerPort::getContainerPort)
        .containsExactlyInAnyOrder(
            org.assertj.core.groups.Tuple.tuple("https", 8443),
            org.assertj.core.groups.Tuple.tuple("http-metrics", 8080));
    assertProbe(container.getLivenessProbe(), "/actuator/health/liveness");
    assertProbe(container.getReadinessProbe(), "/actuator/health/readiness");
    assertProbe(container.getStartupProbe(), "/actuator/health/liveness");
    assertThat(container.getResources().getRequests()).containsKeys("cpu", "memory");
    assertThat(container.getResources().getLimits()).containsKey("memory");
    assertThat(container.getImage()).isEqualTo("ghcr.io/vmpower/vmpower:0.1.0");
  }

  private static void assertProbe(Probe probe, String path) {
    assertThat(probe.getHttpGet().getPath()).isEqualTo(path);
    // Management port, plain HTTP: the kubelet does not need the webhook's CA.
    assertThat(probe.getHttpGet().getPort().getStrVal()).isEqualTo("http-metrics");
    assertThat(probe.getHttpGet().getScheme()).isNull();
  }

  @Test
  void serviceSendsPort443ToTheWebhookPort8443OfThesePods() {
    Service service = CHART.one(Service.class);
    Container container = CHART.container();
    Map<String, String> podLabels =
        CHART.one(Deployment.class).getSpec().getTemplate().getMetadata().getLabels();

    assertThat(
            Selectors.matches(new LabelSelector(null, service.getSpec().getSelector()), podLabels))
        .isTrue();
    ServicePort https =
        service.getSpec().getPorts().stream()
            .filter(p -> p.getPort() == 443)
            .findFirst()
            .orElseThrow();
    String target = https.getTargetPort().getStrVal();
    assertThat(container.getPorts())
        .filteredOn(p -> p.getName().equals(target))
        .extracting(ContainerPort::getContainerPort)
        .containsExactly(8443);
  }

  @Test
  void environmentIsExactlyTheProgramsContract() {
    assertThat(CHART.env())
        .containsExactly(
            entry("POD_NAME", "fieldRef:metadata.name"),
            entry("POD_NAMESPACE", "fieldRef:metadata.namespace"),
            entry("VMPOWER_TLS_MODE", "self-managed"),
            entry("VMPOWER_TLS_DIR", "/tmp/vmpower/tls"),
            entry("VMPOWER_TLS_SECRETNAME", "vmpower-tls"),
            entry("VMPOWER_TLS_WEBHOOKCONFIGURATIONNAME", "vmpower"),
            entry("VMPOWER_TLS_SERVICENAME", "vmpower"),
            entry("VMPOWER_TLS_NAMESPACE", "fieldRef:metadata.namespace"),
            entry("VMPOWER_WEBHOOK_ENABLED", "true"),
            entry("VMPOWER_WEBHOOK_NATIVEREBOOTPOLICY", "never"),
            entry("VMPOWER_CONTROLLER_ENABLED", "true"),
            entry("VMPOWER_CONTROLLER_LEASENAME", "vmpower-controller"),
            entry("VMPOWER_CONTROLLER_LEASENAMESPACE", "fieldRef:metadata.namespace"),
            entry(
                "JAVA_TOOL_OPTIONS",
                "-XX:+UseSerialGC -XX:MaxRAMPercentage=50 -XX:MaxMetaspaceSize=96m"
                    + " -XX:ReservedCodeCacheSize=64m -Xss512k -XX:+ExitOnOutOfMemoryError"));
  }

  @Test
  void namesThePodIsToldAreTheNamesTheChartCreatedAndRbacAllows() {
    ChartConsistency.assertConsistent(CHART);
  }
}
