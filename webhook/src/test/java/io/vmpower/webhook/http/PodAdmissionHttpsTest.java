package io.vmpower.webhook.http;

import static io.vmpower.admission.testing.Manifests.yaml;
import static io.vmpower.admission.testing.Reviews.podReview;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.github.fge.jsonpatch.JsonPatch;
import io.vmpower.admission.Webhooks;
import io.vmpower.injector.DomainMonitorScript;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import org.junit.jupiter.api.Test;

/** The pod injector endpoint over verified HTTPS. */
class PodAdmissionHttpsTest extends HttpsApplicationTest {

  static ObjectNode launcherPod() {
    return yaml(
        """
        apiVersion: v1
        kind: Pod
        metadata:
          generateName: virt-launcher-db-
          namespace: team-a
          labels:
            kubevirt.io: virt-launcher
            kubevirt.io/domain: db
            vmpower.io/run-policy: AlwaysOnUnlessStoppedManually
        spec:
          securityContext:
            runAsUser: 107
          containers:
            - name: compute
              image: quay.io/kubevirt/virt-launcher:v1.6.2
              command: ["/usr/bin/virt-launcher-monitor"]
              args: ["--qemu-timeout", "321s", "--name", "db", "--namespace", "team-a"]
        """);
  }

  @Test
  void injectsTheMonitorIntoCompute() throws Exception {
    ObjectNode pod = launcherPod();
    JsonNode response = review(Webhooks.PODS, podReview("pod-1", pod));
    assertThat(response.path("allowed").asBoolean()).isTrue();
    assertThat(response.path("patchType").asText()).isEqualTo("JSONPatch");
    JsonNode patch =
        io.vmpower.admission.testing.Reviews.parse(
            new String(
                Base64.getDecoder().decode(response.path("patch").asText()),
                StandardCharsets.UTF_8));
    JsonNode stored = JsonPatch.fromJson(patch).apply(pod);
    // KubeVirt's command and args stay; the monitor starts from a postStart hook
    assertThat(stored.at("/spec/containers/0/command"))
        .isEqualTo(pod.at("/spec/containers/0/command"));
    assertThat(stored.at("/spec/containers/0/args")).isEqualTo(pod.at("/spec/containers/0/args"));
    JsonNode hook = stored.at("/spec/containers/0/lifecycle/postStart/exec/command");
    assertThat(hook.get(0).asText()).isEqualTo("/bin/bash");
    assertThat(hook.get(2).asText()).endsWith("\nexit 0\n");
    assertThat(hook.get(4).asText()).isEqualTo("/usr/bin/virt-launcher-monitor");
    assertThat(hook.get(5).asText()).isEqualTo("--qemu-timeout");
    assertThat(stored.at("/metadata/annotations/vmpower.io~1injection-status").asText())
        .contains(DomainMonitorScript.sha256());
  }

  @Test
  void skipsAreAllowedWithAReason() throws Exception {
    ObjectNode pod = launcherPod();
    pod.withObject("/metadata/annotations").put("kubevirt.io/ephemeral-provisioning", "true");
    JsonNode response = review(Webhooks.PODS, podReview("pod-2", pod));
    assertThat(response.path("allowed").asBoolean()).isTrue();
    assertThat(response.has("patch")).isFalse();
    assertThat(response.path("warnings").get(0).asText()).contains("ephemeral provisioning pod");
  }

  @Test
  void aVmSentToThePodEndpointIs400() throws Exception {
    var response =
        post(
            Webhooks.PODS,
            "application/json",
            io.vmpower.admission.testing.Reviews.bytes(
                io.vmpower.admission.testing.Reviews.vmReview(
                    "vm-at-pods",
                    "CREATE",
                    io.vmpower.admission.testing.Manifests.vm("db", "Manual", ""),
                    null)));
    assertThat(response.statusCode()).isEqualTo(400);
    assertThat(response.body())
        .contains("this endpoint reviews Pod objects, got kubevirt.io/VirtualMachine");
  }
}
