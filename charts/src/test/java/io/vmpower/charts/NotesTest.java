package io.vmpower.charts;

import static org.assertj.core.api.Assertions.assertThat;

import com.marcnuri.helm.DryRun;
import com.marcnuri.helm.Helm;
import com.marcnuri.helm.InstallCommand;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** NOTES.txt, as `helm install --dry-run=client` prints it (no cluster needed). */
class NotesTest {

  private static String notes(Map<String, Object> values) {
    InstallCommand install =
        new Helm(Rendered.CHART)
            .install()
            .withName(Rendered.RELEASE)
            .withNamespace(Rendered.NAMESPACE)
            .withKubeVersion(Rendered.KUBE_VERSION)
            .clientOnly()
            .dryRun()
            .withDryRunOption(DryRun.CLIENT);
    values.forEach(install::set);
    String output = install.call().getOutput();
    int notes = output.indexOf("NOTES:");
    assertThat(notes).as(output).isNotNegative();
    return output.substring(notes);
  }

  @Test
  void tellHowToEnableANamespaceAndAnnotateAVm() {
    String notes = notes(Map.of());

    assertThat(notes)
        .contains("kubectl label namespace NAMESPACE vmpower.io/enabled=true")
        .contains("annotate vm NAME vmpower.io/run-policy=AlwaysOnUnlessStoppedManually")
        .contains("get vm NAME -o yaml")
        .contains("rollout status deployment/vmpower")
        .contains("kube-system or vmpower-system")
        .contains("TCP 8443");
  }

  @Test
  void reflectTheChosenPolicies() {
    String notes =
        notes(Map.of("webhooks.vms.failurePolicy", "Ignore", "tls.mode", "cert-manager"));

    assertThat(notes)
        .contains("VM webhook failurePolicy: Ignore")
        .contains("pod webhook failurePolicy: Ignore")
        .contains("certificates: cert-manager");
  }
}
