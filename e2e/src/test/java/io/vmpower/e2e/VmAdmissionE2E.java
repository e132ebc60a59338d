package io.vmpower.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.admissionregistration.v1.MutatingWebhook;
import io.fabric8.kubernetes.api.model.admissionregistration.v1.MutatingWebhookBuilder;
import io.fabric8.kubernetes.api.model.admissionregistration.v1.MutatingWebhookConfiguration;
import io.fabric8.kubernetes.api.model.admissionregistration.v1.MutatingWebhookConfigurationBuilder;
import io.vmpower.e2e.TestCluster.Kubectl;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The VM webhook through the real API server and kubectl: the configuration's selectors and
 * caBundle are accepted, our JSON patches applied, the result pruned and validated against the CRD
 * schema, warnings and denials reach the client.
 */
@Order(1)
@ExtendWith(Suite.class)
class VmAdmissionE2E {
  static final String NS = Suite.ENABLED_NS;

  static Kubectl kubectl(String stdin, String... args) {
    return Suite.env().cluster.kubectl(stdin, args);
  }

  static GenericKubernetesResource create(String manifest, Kubectl[] result) {
    Kubectl r = kubectl(manifest, "create", "-o", "json", "-f", "-");
    result[0] = r;
    assertThat(r.exit()).as(r.toString()).isZero();
    return Vms.parse(r.stdout());
  }

  @ParameterizedTest(name = "{0} -> runStrategy {1}")
  @CsvSource({
    "AlwaysOn, Always, false",
    "AlwaysOff, Halted, false",
    "Manual, Manual, false",
    "AlwaysOnUnlessStoppedManually, Manual, true"
  })
  void everyPolicyOnCreate(String policy, String strategy, boolean startPending) {
    String name = "create-" + policy.toLowerCase();
    Kubectl[] r = new Kubectl[1];
    GenericKubernetesResource vm =
        create(Vms.manifest(NS, name, Vms.policy(policy), "running: true"), r);

    assertThat(Vms.spec(vm, "runStrategy")).isEqualTo(strategy);
    assertThat(Vms.spec(vm, "running")).as("removed: KubeVirt refuses both").isNull();
    assertThat(Vms.templateLabel(vm, "vmpower.io/run-policy")).isEqualTo(policy);
    assertThat(Vms.templateLabel(vm, "app")).as("other labels kept").isEqualTo("e2e");
    assertThat(Vms.annotation(vm, "vmpower.io/start-pending"))
        .isEqualTo(startPending ? "true" : null);
    assertThat(r[0].stderr())
        .as("the webhook's warning reaches kubectl")
        .contains(
            "Warning: spec.running removed: run policy "
                + policy
                + " sets spec.runStrategy: "
                + strategy);
    // what is stored is what kubectl was shown
    GenericKubernetesResource stored = Suite.env().vm(NS, name);
    assertThat(Vms.spec(stored, "runStrategy")).isEqualTo(strategy);
  }

  @Test
  void aliasIsStoredUnderItsNameWithAWarning() {
    Kubectl[] r = new Kubectl[1];
    GenericKubernetesResource vm =
        create(Vms.manifest(NS, "alias", Vms.policy("AlwaysOnUntilStoppedManually"), ""), r);
    assertThat(Vms.annotation(vm, "vmpower.io/run-policy"))
        .isEqualTo("AlwaysOnUnlessStoppedManually");
    assertThat(Vms.templateLabel(vm, "vmpower.io/run-policy"))
        .isEqualTo("AlwaysOnUnlessStoppedManually");
    assertThat(Vms.spec(vm, "runStrategy")).isEqualTo("Manual");
    assertThat(r[0].stderr())
        .contains(
            "Warning: vmpower.io/run-policy: AlwaysOnUntilStoppedManually is deprecated, stored as"
                + " AlwaysOnUnlessStoppedManually");
  }

  @Test
  void powerChangeAgainstThePolicyIsDeniedWithItsMessage() {
    create(Vms.manifest(NS, "db", Vms.policy("AlwaysOn"), ""), new Kubectl[1]);
    // what `virtctl stop` does to the VM
    Kubectl r =
        kubectl(
            null,
            "patch",
            "vm",
            "db",
            "-n",
            NS,
            "--type=merge",
            "-p",
            "{\"spec\":{\"runStrategy\":\"Halted\"}}");
    assertThat(r.exit()).as(r.toString()).isNotZero();
    assertThat(r.stderr())
        .contains(
            "admission webhook \"vms.vmpower.io\" denied the request: VirtualMachine "
                + NS
                + "/db has run policy AlwaysOn, which keeps spec.runStrategy: Always; refusing"
                + " spec.runStrategy: Halted. To stop it, change its policy first, e.g. kubectl"
                + " annotate vm NAME --overwrite vmpower.io/run-policy=Manual");
    assertThat(Vms.spec(Suite.env().vm(NS, "db"), "runStrategy")).isEqualTo("Always");

    // changing the policy first is the documented way, and is allowed
    Kubectl annotate =
        kubectl(
            null,
            "annotate",
            "vm",
            "db",
            "-n",
            NS,
            "--overwrite",
            "vmpower.io/run-policy=AlwaysOff");
    assertThat(annotate.exit()).as(annotate.toString()).isZero();
    GenericKubernetesResource vm = Suite.env().vm(NS, "db");
    assertThat(Vms.spec(vm, "runStrategy")).isEqualTo("Halted");
    assertThat(Vms.templateLabel(vm, "vmpower.io/run-policy")).isEqualTo("AlwaysOff");
  }

  /**
   * A manifest that carries only the annotation can be applied again and again (client-side and
   * server-side apply): the fields the webhook adds are not the manifest's, so nothing changes.
   */
  @Test
  void reapplyingAnAnnotatedManifestChangesNothing() {
    String manifest = Vms.manifest(NS, "gitops", Vms.policy("Manual"), "");
    for (String mode :
        new String[] {"--server-side=false", "--server-side=false", "--server-side"}) {
      Kubectl r = kubectl(manifest, "apply", mode, "-f", "-");
      assertThat(r.exit()).as(r.toString()).isZero();
    }
    GenericKubernetesResource vm = Suite.env().vm(NS, "gitops");
    assertThat(Vms.spec(vm, "runStrategy")).isEqualTo("Manual");
    assertThat(Vms.templateLabel(vm, "vmpower.io/run-policy")).isEqualTo("Manual");
    assertThat(kubectl(manifest, "apply", "-f", "-").stdout()).contains("unchanged");
  }

  @Test
  void unknownPolicyIsDeniedWithTheValidValues() {
    Kubectl r =
        kubectl(Vms.manifest(NS, "sometimes", Vms.policy("Sometimes"), ""), "create", "-f", "-");
    assertThat(r.exit()).as(r.toString()).isNotZero();
    assertThat(r.stderr())
        .contains(
            "admission webhook \"vms.vmpower.io\" denied the request: metadata.annotations[vmpower.io/run-policy]:"
                + " Unsupported value: \"Sometimes\": supported values: \"AlwaysOn\", \"AlwaysOff\","
                + " \"Manual\", \"AlwaysOnUnlessStoppedManually\"");
    assertThat(Suite.env().vm(NS, "sometimes")).isNull();
  }

  @Test
  void dryRunServerGetsTheSameAnswerAndStoresNothing() {
    Kubectl r =
        kubectl(
            Vms.manifest(NS, "dry", Vms.policy("AlwaysOnUnlessStoppedManually"), "running: false"),
            "create",
            "--dry-run=server",
            "-o",
            "json",
            "-f",
            "-");
    assertThat(r.exit()).as(r.toString()).isZero();
    GenericKubernetesResource vm = Vms.parse(r.stdout());
    assertThat(Vms.spec(vm, "runStrategy")).isEqualTo("Manual");
    assertThat(Vms.spec(vm, "running")).isNull();
    assertThat(Vms.annotation(vm, "vmpower.io/start-pending")).isEqualTo("true");
    assertThat(r.stderr()).contains("Warning: spec.running removed");
    assertThat(Suite.env().vm(NS, "dry")).as("dry run stores nothing").isNull();
    assertThat(Suite.env().reviews(NS, "dry"))
        .as("the webhook was asked, and told it is a dry run")
        .anyMatch(l -> l.contains("\"dryRun\":true"));

    Kubectl denied =
        kubectl(
            Vms.manifest(NS, "dry-bad", Vms.policy("Sometimes"), ""),
            "create",
            "--dry-run=server",
            "-f",
            "-");
    assertThat(denied.exit()).isNotZero();
    assertThat(denied.stderr()).contains("denied the request", "Unsupported value: \"Sometimes\"");
  }

  @Test
  void vmInANamespaceThatIsNotEnabledIsUntouched() {
    Kubectl[] r = new Kubectl[1];
    GenericKubernetesResource vm =
        create(Vms.manifest(Suite.PLAIN_NS, "plain", Vms.policy("AlwaysOn"), "running: false"), r);
    assertThat(Vms.spec(vm, "running")).isEqualTo(false);
    assertThat(Vms.spec(vm, "runStrategy")).isNull();
    assertThat(Vms.templateLabel(vm, "vmpower.io/run-policy")).isNull();
    // only KubeVirt's own warning (its VM validator), none of vmpower's
    assertThat(r[0].stderr())
        .contains("Warning: spec.running is deprecated, please use spec.runStrategy instead.")
        .doesNotContain("vmpower", "spec.running removed");
    assertThat(Suite.env().reviews(Suite.PLAIN_NS, "plain"))
        .as("namespaceSelector: the API server never called the webhook")
        .isEmpty();
  }

  /**
   * The chart's namespaceSelector also excludes the release namespace by the {@code
   * kubernetes.io/metadata.name} label, which only a real API server sets.
   */
  @Test
  void releaseNamespaceIsExcludedEvenWhenLabelled() {
    Kubectl label =
        kubectl(null, "label", "namespace", Suite.RELEASE_NAMESPACE, "vmpower.io/enabled=true");
    assertThat(label.exit()).as(label.toString()).isZero();
    try {
      Kubectl[] r = new Kubectl[1];
      // KubeVirt refuses a VM without runStrategy (or running): vmpower would have set it
      GenericKubernetesResource vm =
          create(
              Vms.manifest(
                  Suite.RELEASE_NAMESPACE, "own", Vms.policy("AlwaysOn"), "runStrategy: Halted"),
              r);
      assertThat(Vms.spec(vm, "runStrategy")).isEqualTo("Halted");
      assertThat(Suite.env().reviews(Suite.RELEASE_NAMESPACE, "own")).isEmpty();
    } finally {
      kubectl(null, "label", "namespace", Suite.RELEASE_NAMESPACE, "vmpower.io/enabled-");
    }
  }

  @Test
  void runPolicyAsASpecFieldIsRejectedBeforeAdmission() {
    String manifest =
        Vms.manifest(NS, "field", Map.of(), "runPolicy: AlwaysOn\nrunStrategy: Halted");
    Kubectl strict = kubectl(manifest, "create", "-f", "-");
    assertThat(strict.exit()).as(strict.toString()).isNotZero();
    assertThat(strict.stderr()).contains("unknown field \"spec.runPolicy\"");
    assertThat(Suite.env().vm(NS, "field")).isNull();
    assertThat(Suite.env().reviews(NS, "field"))
        .as("strict field validation decodes before any webhook runs")
        .isEmpty();

    // Without strict validation the field is pruned before admission: the webhook sees no policy.
    Kubectl ignored = kubectl(manifest, "create", "--validate=false", "-o", "json", "-f", "-");
    assertThat(ignored.exit()).as(ignored.toString()).isZero();
    assertThat(Suite.env().reviews(NS, "field")).as("now admission ran").isNotEmpty();
    GenericKubernetesResource vm = Vms.parse(ignored.stdout());
    assertThat(Vms.spec(vm, "runPolicy")).isNull();
    assertThat(Vms.spec(vm, "runStrategy")).as("no policy, not managed").isEqualTo("Halted");
    assertThat(Vms.templateLabel(vm, "vmpower.io/run-policy")).isNull();
  }

  @Test
  void removingTheAnnotationUnmanagesTheVm() {
    create(Vms.manifest(NS, "leaving", Vms.policy("Manual"), ""), new Kubectl[1]);
    Kubectl r = kubectl(null, "annotate", "vm", "leaving", "-n", NS, "vmpower.io/run-policy-");
    assertThat(r.exit()).as(r.toString()).isZero();
    GenericKubernetesResource vm = Suite.env().vm(NS, "leaving");
    assertThat(Vms.templateLabel(vm, "vmpower.io/run-policy")).isNull();
    assertThat(Vms.spec(vm, "runStrategy")).as("left as it is").isEqualTo("Manual");
  }

  @Test
  void switchingIntoUnlessStoppedManuallyMarksTheFirstStart() {
    create(Vms.manifest(NS, "switch", Vms.policy("AlwaysOff"), ""), new Kubectl[1]);
    Kubectl r =
        kubectl(
            null,
            "annotate",
            "vm",
            "switch",
            "-n",
            NS,
            "--overwrite",
            "vmpower.io/run-policy=AlwaysOnUnlessStoppedManually",
            "-o",
            "json");
    assertThat(r.exit()).as(r.toString()).isZero();
    GenericKubernetesResource vm = Vms.parse(r.stdout());
    assertThat(Vms.spec(vm, "runStrategy")).isEqualTo("Manual");
    assertThat(Vms.annotation(vm, "vmpower.io/start-pending")).isEqualTo("true");
  }

  @Test
  void statusUpdatesAreNotIntercepted() {
    create(Vms.manifest(NS, "status", Vms.policy("AlwaysOff"), ""), new Kubectl[1]);
    // virt-controller's own first writes of the VM (its finalizer) are reviewed; wait for them
    int[] seen = {-1};
    Suite.await(
        "virt-controller done with VM status",
        Duration.ofSeconds(30),
        () -> {
          GenericKubernetesResource vm = Suite.env().vm(NS, "status");
          int reviews = Suite.env().reviews(NS, "status").size();
          boolean settled =
              reviews == seen[0]
                  && vm.getMetadata().getFinalizers() != null
                  && !vm.getMetadata().getFinalizers().isEmpty()
                  && "Stopped".equals(vm.get("status", "printableStatus"));
          seen[0] = reviews;
          TestCluster.sleep(500);
          return settled;
        });
    int before = Suite.env().reviews(NS, "status").size();
    Kubectl r =
        kubectl(
            null,
            "patch",
            "vm",
            "status",
            "-n",
            NS,
            "--subresource=status",
            "--type=merge",
            "-p",
            "{\"status\":{\"printableStatus\":\"Starting\"}}");
    assertThat(r.exit()).as(r.toString()).isZero();
    TestCluster.sleep(1000);
    assertThat(Suite.env().reviews(NS, "status")).hasSize(before);
  }

  /**
   * KubeVirt's VM mutator and vmpower's, in both orders. By name, KubeVirt's configuration ({@code
   * virt-api-mutator}) runs before vmpower's; a copy of vmpower's VM webhook under a name that
   * sorts first ({@code 0-vmpower-first}, for one namespace only) makes vmpower run before KubeVirt
   * too. Either way the stored VM carries both mutations, and vmpower, reinvoked after KubeVirt's
   * change (reinvocationPolicy IfNeeded), finds nothing more to do.
   */
  @Test
  void kubevirtsAndVmpowersMutatorsInEitherOrder() {
    // KubeVirt first: vmpower is called once, on the object KubeVirt has defaulted
    GenericKubernetesResource vm =
        create(Vms.manifest(NS, "order-default", Vms.policy("Manual"), ""), new Kubectl[1]);
    assertThat(vm.<String>get("spec", "template", "spec", "domain", "firmware", "uuid"))
        .as("KubeVirt's VM mutator")
        .isNotBlank();
    assertThat(Vms.spec(vm, "runStrategy")).isEqualTo("Manual");
    assertThat(Suite.env().reviews(NS, "order-default"))
        .filteredOn(l -> l.contains("\"operation\":\"CREATE\""))
        .hasSize(1);

    String ns = "team-order";
    Suite.env()
        .namespace(
            ns, Map.of("vmpower.io/enabled", "true", "vmpower.io/e2e-order", "vmpower-first"));
    MutatingWebhookConfiguration live = CertificatesE2E.webhookConfiguration();
    MutatingWebhook vms =
        live.getWebhooks().stream()
            .filter(w -> w.getName().equals("vms.vmpower.io"))
            .findFirst()
            .orElseThrow();
    MutatingWebhook first =
        new MutatingWebhookBuilder(vms)
            .withName("vms-first.vmpower.io")
            .withNewNamespaceSelector()
            .addToMatchLabels("vmpower.io/e2e-order", "vmpower-first")
            .endNamespaceSelector()
            .build();
    Suite.env()
        .client
        .admissionRegistration()
        .v1()
        .mutatingWebhookConfigurations()
        .resource(
            new MutatingWebhookConfigurationBuilder()
                .withNewMetadata()
                .withName("0-vmpower-first")
                .endMetadata()
                .withWebhooks(first)
                .build())
        .create();
    try {
      GenericKubernetesResource reversed =
          create(Vms.manifest(ns, "order-reversed", Vms.policy("Manual"), ""), new Kubectl[1]);
      assertThat(reversed.<String>get("spec", "template", "spec", "domain", "firmware", "uuid"))
          .isNotBlank();
      assertThat(Vms.spec(reversed, "runStrategy")).isEqualTo("Manual");
      assertThat(Vms.templateLabel(reversed, "vmpower.io/run-policy")).isEqualTo("Manual");
      List<String> reviews =
          Suite.env().reviews(ns, "order-reversed").stream()
              .filter(l -> l.contains("\"operation\":\"CREATE\""))
              .sorted()
              .toList();
      // vmpower first (it patches), then KubeVirt, then vmpower again (nothing left to patch)
      assertThat(reviews).hasSizeGreaterThanOrEqualTo(2);
      assertThat(reviews.get(0)).contains("\"decision\":\"mutated\"");
      assertThat(reviews.subList(1, reviews.size()))
          .allMatch(l -> l.contains("\"decision\":\"unchanged\""));
    } finally {
      Suite.env()
          .client
          .admissionRegistration()
          .v1()
          .mutatingWebhookConfigurations()
          .withName("0-vmpower-first")
          .delete();
    }
  }

  /**
   * {@code spec.template.spec.domain.rebootPolicy} (KubeVirt 1.8, alpha): KubeVirt's VM validation
   * refuses it unless the KubeVirt CR lists the RebootPolicy feature gate; vmpower leaves the field
   * alone either way.
   */
  @Test
  void rebootPolicyIsAcceptedOnlyWithKubeVirtsFeatureGate() {
    String manifest =
        Vms.manifest(NS, "reboot-policy", Vms.policy("Manual"), "")
            .replace(
                "    spec:\n      domain:\n",
                "    spec:\n      domain:\n        rebootPolicy: Terminate\n");
    assertThat(manifest).contains("        rebootPolicy: Terminate\n");
    Kubectl refused = kubectl(manifest, "create", "-f", "-");
    assertThat(refused.exit()).as(refused.toString()).isNotZero();
    assertThat(refused.stderr())
        .contains(
            "The request is invalid: spec.template.spec.domain.rebootPolicy: RebootPolicy is"
                + " specified but the RebootPolicy feature gate is not enabled");
    List<String> gates = new ArrayList<>(KubeVirtControlPlane.FEATURE_GATES);
    gates.add("RebootPolicy");
    Suite.env().kubevirt.featureGates(gates);
    try {
      Kubectl[] r = new Kubectl[1];
      Suite.await(
          "virt-api sees the RebootPolicy gate",
          Duration.ofSeconds(30),
          () -> kubectl(manifest, "create", "--dry-run=server", "-f", "-").exit() == 0);
      GenericKubernetesResource vm = create(manifest, r);
      assertThat(vm.<String>get("spec", "template", "spec", "domain", "rebootPolicy"))
          .isEqualTo("Terminate");
      assertThat(Vms.spec(vm, "runStrategy")).isEqualTo("Manual");
    } finally {
      Suite.env().kubevirt.featureGates(KubeVirtControlPlane.FEATURE_GATES);
    }
  }
}
