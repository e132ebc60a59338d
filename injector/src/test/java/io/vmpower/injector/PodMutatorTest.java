package io.vmpower.injector;

import static io.vmpower.injector.LauncherPods.compute;
import static io.vmpower.injector.LauncherPods.pod;
import static io.vmpower.injector.LauncherPods.strings;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.vmpower.api.admission.AdmissionInput;
import io.vmpower.api.admission.Operation;
import io.vmpower.api.admission.Verdict;
import io.vmpower.injector.LauncherPods.Shape;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class PodMutatorTest {
  private final PodMutator mutator = PodMutator.withBundledMonitor();

  private Verdict create(JsonNode pod) {
    return mutator.review(new AdmissionInput(Operation.CREATE, "team-a", "", pod, null, false));
  }

  private static Verdict.Allow allowed(Verdict verdict) {
    assertThat(verdict).isInstanceOf(Verdict.Allow.class);
    return (Verdict.Allow) verdict;
  }

  @ParameterizedTest(name = "{0}, uid {1}")
  @CsvSource({
    "COMMAND_ONLY, 107",
    "COMMAND_ONLY, 0",
    "COMMAND_AND_ARGS, 107",
    "COMMAND_AND_ARGS, 0"
  })
  void addsThePostStartHookAndLeavesTheLauncherAlone(Shape shape, long uid) throws Exception {
    ObjectNode pod = pod(shape, uid);
    List<String> command = strings(compute(pod).path("command"));
    List<String> args = strings(compute(pod).path("args"));

    Verdict.Allow allow = allowed(create(pod));

    assertThat(allow.decision()).isEqualTo("mutated");
    assertThat(allow.warnings()).isEmpty();
    ObjectNode injected = compute(allow.object());
    // KubeVirt's command and args, untouched: virt-launcher-monitor stays PID 1 as KubeVirt starts
    // it (with its file capability under allowPrivilegeEscalation: false)
    assertThat(strings(injected.path("command"))).isEqualTo(command);
    assertThat(strings(injected.path("args"))).isEqualTo(args);

    List<String> hook = strings(injected.at("/lifecycle/postStart/exec/command"));
    assertThat(hook.subList(0, 2)).containsExactly("/bin/bash", "-c");
    assertThat(hook.get(2))
        .contains(MonitorHook.singleQuoted(DomainMonitorScript.text()))
        .contains("VMPOWER_LAUNCHER_PID=1 ")
        .contains("VMPOWER_LOG=/proc/1/fd/2:/var/run/kubevirt-private/vmpower-domain-monitor.log ")
        .contains(" vmpower-domain-monitor \"$@\" </dev/null >/dev/null 2>&1 &\n")
        .endsWith("\nexit 0\n");
    assertThat(hook.get(3)).isEqualTo("vmpower-poststart");
    List<String> argv = new ArrayList<>(command);
    argv.addAll(args);
    assertThat(hook.subList(4, hook.size())).isEqualTo(argv);
    assertThat(injected.path("lifecycle").size()).isEqualTo(1);
    assertThat(injected.at("/lifecycle/postStart").size()).isEqualTo(1);

    JsonNode status =
        LauncherPods.JSON.readTree(
            allow.object().at("/metadata/annotations/vmpower.io~1injection-status").asText());
    assertThat(status.path("container").asText()).isEqualTo("compute");
    assertThat(status.path("mode").asText()).isEqualTo("postStart");
    assertThat(status.path("script").asText()).isEqualTo("sha256:" + DomainMonitorScript.sha256());
    assertThat(status.path("version").asText()).isNotBlank().isNotEqualTo("unknown");

    // Nothing else changed: same pod once the hook and the annotation are taken out again.
    ObjectNode restored = allow.object().deepCopy();
    compute(restored).remove("lifecycle");
    restored.withObject("/metadata/annotations").remove("vmpower.io/injection-status");
    assertThat(restored).isEqualTo(pod);
  }

  @Test
  void anotherLifecycleHookStays() {
    ObjectNode pod = pod(Shape.COMMAND_ONLY, 107);
    compute(pod)
        .putObject("lifecycle")
        .putObject("preStop")
        .putObject("exec")
        .putArray("command")
        .add("/bin/true");
    ObjectNode injected = compute(allowed(create(pod)).object());
    assertThat(strings(injected.at("/lifecycle/preStop/exec/command")))
        .containsExactly("/bin/true");
    assertThat(injected.at("/lifecycle/postStart/exec/command/3").asText())
        .isEqualTo("vmpower-poststart");
  }

  @Test
  void aNullPostStartIsNoHook() {
    ObjectNode pod = pod(Shape.COMMAND_ONLY, 107);
    compute(pod).putObject("lifecycle").putNull("postStart");
    ObjectNode injected = compute(allowed(create(pod)).object());
    assertThat(injected.at("/lifecycle/postStart/exec/command/3").asText())
        .isEqualTo("vmpower-poststart");
  }

  @Test
  void reinvocationOnAnInjectedPodChangesNothing() {
    JsonNode injected = allowed(create(pod(Shape.COMMAND_ONLY, 107))).object();
    Verdict.Allow again = allowed(create(injected));
    assertThat(again.object()).isEqualTo(injected);
    assertThat(again.decision()).isEqualTo("skipped-already-injected");
    assertThat(again.warnings()).singleElement().asString().contains("already injected");
  }

  @Test
  void customTerminationMessagePathReachesTheMonitor() {
    ObjectNode pod = pod(Shape.COMMAND_ONLY, 107);
    compute(pod).put("terminationMessagePath", "/var/run/it's here");
    String text = hookText(allowed(create(pod)).object());
    assertThat(text).contains("VMPOWER_TERMINATION_LOG='/var/run/it'\\''s here' /bin/bash -c");
  }

  @Test
  void defaultTerminationMessagePathNeedsNoOverride() {
    String text = hookText(allowed(create(pod(Shape.COMMAND_ONLY, 107))).object());
    assertThat(text.substring(0, text.indexOf("/bin/bash -c")))
        .doesNotContain("VMPOWER_TERMINATION_LOG");
    assertThat(text.lines().skip(1).findFirst().orElseThrow())
        .startsWith("VMPOWER_LAUNCHER_PID=1 VMPOWER_LOG=/proc/1/fd/2:")
        .contains(".log /bin/bash -c '");
    // the same instance every time: the answer writer encodes it once
    assertThat(mutator.recurringStrings()).singleElement().isSameAs(text);
  }

  private static String hookText(JsonNode pod) {
    return compute(pod).at("/lifecycle/postStart/exec/command/2").asText();
  }

  private void assertSkipped(JsonNode pod, String decision, String warning) {
    Verdict.Allow allow = allowed(create(pod));
    assertThat(allow.object()).isEqualTo(pod);
    assertThat(allow.decision()).isEqualTo(decision);
    assertThat(allow.warnings())
        .singleElement()
        .asString()
        .startsWith("vmpower: ")
        .contains(warning);
  }

  @Test
  void skipsEphemeralProvisioningPods() {
    ObjectNode pod = pod(Shape.COMMAND_ONLY, 107);
    pod.withObject("/metadata/annotations").put("kubevirt.io/ephemeral-provisioning", "true");
    assertSkipped(pod, "skipped-ephemeral", "ephemeral provisioning pod");
  }

  @Test
  void skipsPodsWithoutCompute() {
    ObjectNode pod = pod(Shape.COMMAND_ONLY, 107);
    ((ObjectNode) pod.at("/spec/containers/0")).put("name", "launcher");
    assertSkipped(pod, "skipped-no-compute", "no container named compute");
  }

  @Test
  void skipsPodsWithTwoComputeContainers() {
    ObjectNode pod = pod(Shape.COMMAND_ONLY, 107);
    ((ObjectNode) pod.at("/spec/containers/1")).put("name", "compute");
    assertSkipped(pod, "skipped-duplicate-compute", "more than one container named compute");
  }

  @Test
  void skipsComputeWithoutCommand() {
    ObjectNode pod = pod(Shape.COMMAND_AND_ARGS, 107);
    compute(pod).remove("command");
    assertSkipped(pod, "skipped-no-command", "compute container has no command");
  }

  @Test
  void skipsComputeWithAnEmptyCommand() {
    ObjectNode pod = pod(Shape.COMMAND_ONLY, 107);
    compute(pod).putArray("command");
    assertSkipped(pod, "skipped-no-command", "compute container has no command");
  }

  @Test
  void skipsACommandThatIsNotStrings() {
    ObjectNode pod = pod(Shape.COMMAND_ONLY, 107);
    ((ArrayNode) compute(pod).get("command")).add(5);
    assertSkipped(pod, "skipped-bad-command", "command or args is not a list of strings");
  }

  @Test
  void skipsArgsThatAreNotStrings() {
    ObjectNode pod = pod(Shape.COMMAND_AND_ARGS, 107);
    ((ArrayNode) compute(pod).get("args")).addObject();
    assertSkipped(pod, "skipped-bad-command", "command or args is not a list of strings");
    ObjectNode text = pod(Shape.COMMAND_AND_ARGS, 107);
    compute(text).put("args", "--name db");
    assertSkipped(text, "skipped-bad-command", "command or args is not a list of strings");
  }

  @Test
  void skipsComputeThatAlreadyHasAPostStartHook() {
    ObjectNode pod = pod(Shape.COMMAND_ONLY, 107);
    compute(pod)
        .putObject("lifecycle")
        .putObject("postStart")
        .putObject("httpGet")
        .put("path", "/started")
        .put("port", 8080);
    assertSkipped(pod, "skipped-has-poststart", "already has a postStart hook");
  }

  @Test
  void skipsALifecycleThatIsNotAnObject() {
    ObjectNode pod = pod(Shape.COMMAND_ONLY, 107);
    compute(pod).putArray("lifecycle");
    assertSkipped(pod, "skipped-malformed", "unexpected shape");
  }

  @Test
  void skipsPodsThatAreNotManagedLaunchers() {
    ObjectNode pod = pod(Shape.COMMAND_ONLY, 107);
    pod.withObject("/metadata/labels").remove("vmpower.io/run-policy");
    assertSkipped(pod, "skipped-not-managed", "not a virt-launcher pod");
    ObjectNode other = pod(Shape.COMMAND_ONLY, 107);
    other.withObject("/metadata/labels").put("kubevirt.io", "virt-handler");
    assertSkipped(other, "skipped-not-managed", "not a virt-launcher pod");
  }

  @Test
  void skipsContainersThatAreNotAList() {
    ObjectNode pod = pod(Shape.COMMAND_ONLY, 107);
    pod.withObject("/spec").put("containers", "compute");
    assertSkipped(pod, "skipped-malformed", "unexpected shape");
  }

  @Test
  void updatesAreLeftAlone() {
    ObjectNode pod = pod(Shape.COMMAND_ONLY, 107);
    Verdict.Allow allow =
        allowed(
            mutator.review(new AdmissionInput(Operation.UPDATE, "team-a", "x", pod, pod, false)));
    assertThat(allow.object()).isEqualTo(pod);
    assertThat(allow.decision()).isEqualTo("ignored");
  }

  @Test
  void singleQuotingSurvivesEveryCharacter() {
    assertThat(MonitorHook.singleQuoted("a'b")).isEqualTo("'a'\\''b'");
    List<String> expected = new ArrayList<>(List.of("it's", "$HOME", "\\n", "`x`"));
    expected.forEach(s -> assertThat(MonitorHook.singleQuoted(s)).startsWith("'").endsWith("'"));
  }
}
