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
  void injectsAndKeepsTheLauncherArgv(Shape shape, long uid) throws Exception {
    ObjectNode pod = pod(shape, uid);
    List<String> command = strings(compute(pod).path("command"));
    List<String> args = strings(compute(pod).path("args"));

    Verdict.Allow allow = allowed(create(pod));

    assertThat(allow.decision()).isEqualTo("mutated");
    assertThat(allow.warnings()).isEmpty();
    ObjectNode injected = compute(allow.object());
    List<String> newCommand = strings(injected.path("command"));
    assertThat(newCommand).hasSize(command.size() + 4);
    assertThat(newCommand.subList(0, 2)).containsExactly("/bin/bash", "-c");
    assertThat(newCommand.get(2))
        .contains(PodMutator.singleQuoted(DomainMonitorScript.text()))
        .endsWith("exec \"$@\"\n");
    assertThat(newCommand.get(3)).isEqualTo("vmpower-launcher");
    assertThat(newCommand.subList(4, newCommand.size())).isEqualTo(command);
    assertThat(strings(injected.path("args"))).isEqualTo(args);

    JsonNode status =
        LauncherPods.JSON.readTree(
            allow.object().at("/metadata/annotations/vmpower.io~1injection-status").asText());
    assertThat(status.path("container").asText()).isEqualTo("compute");
    assertThat(status.path("script").asText()).isEqualTo("sha256:" + DomainMonitorScript.sha256());
    assertThat(status.path("version").asText()).isNotBlank().isNotEqualTo("unknown");

    // Nothing else changed: same pod once command and the annotation are put back.
    ObjectNode restored = allow.object().deepCopy();
    ArrayNode original = compute(restored).putArray("command");
    command.forEach(original::add);
    restored.withObject("/metadata/annotations").remove("vmpower.io/injection-status");
    assertThat(restored).isEqualTo(pod);
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
    String wrapper = strings(compute(allowed(create(pod)).object()).path("command")).get(2);
    assertThat(wrapper).contains("VMPOWER_TERMINATION_LOG='/var/run/it'\\''s here' /bin/bash -c");
  }

  @Test
  void defaultTerminationMessagePathNeedsNoOverride() {
    String wrapper =
        strings(compute(allowed(create(pod(Shape.COMMAND_ONLY, 107))).object()).path("command"))
            .get(2);
    assertThat(wrapper.lines().skip(1).findFirst().orElseThrow()).startsWith("/bin/bash -c '");
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
    assertSkipped(pod, "skipped-bad-command", "not a list of strings");
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
    assertThat(PodMutator.singleQuoted("a'b")).isEqualTo("'a'\\''b'");
    List<String> expected = new ArrayList<>(List.of("it's", "$HOME", "\\n", "`x`"));
    expected.forEach(s -> assertThat(PodMutator.singleQuoted(s)).startsWith("'").endsWith("'"));
  }
}
