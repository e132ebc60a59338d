package io.vmpower.injector;

import static io.vmpower.injector.LauncherPods.compute;
import static io.vmpower.injector.LauncherPods.strings;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.vmpower.api.admission.AdmissionInput;
import io.vmpower.api.admission.Operation;
import io.vmpower.api.admission.Verdict;
import io.vmpower.injector.LauncherPods.Shape;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Runs an injected pod's {@code compute} container and its postStart hook with a real bash, as the
 * container runtime would ({@link ContainerStandIn}): the launcher (a stand-in) is PID 1 with
 * exactly its original argv, signals and exit code; the hook returns at once, exit 0, with nothing
 * left holding its output, and leaves the monitor (a stand-in too) running with the launcher's
 * argv, adopted by PID 1 and ended with the container.
 */
class PostStartHookTest {
  /** Arguments a shell would mangle if the hook quoted anything wrongly. */
  static final List<String> TRICKY =
      List.of(
          "--name",
          "db",
          "two words",
          "it's",
          "\"double\"",
          "$HOME",
          "$(id)",
          "`id`",
          "",
          "*",
          "back\\slash",
          "new\nline",
          "tab\there",
          "--namespace",
          "team a");

  @TempDir Path dir;
  private Path launcher;
  private ContainerStandIn container;

  private static final String STAND_IN_LAUNCHER =
      """
      #!/bin/bash
      printf '%s\\0' "$@" > "$TEST_DIR/launcher.argv"
      echo "$$" > "$TEST_DIR/launcher.pid"
      trap 'echo TERM > "$TEST_DIR/launcher.signal"; exit 143' TERM
      if [ "${LAUNCHER_WAIT:-}" = 1 ]; then
        while :; do sleep 0.05; done
      fi
      exit 42
      """;

  /** Records its argv and environment, then its parent once the hook is gone; lives 30 s. */
  private static final String STAND_IN_MONITOR =
      """
      printf '%s\\0' "$0" "$@" > "$TEST_DIR/monitor.argv.tmp"
      printf '%s %s\\n' "$VMPOWER_LAUNCHER_PID" "$VMPOWER_LOG" > "$TEST_DIR/monitor.env"
      readlink /proc/$$/fd/0 /proc/$$/fd/1 /proc/$$/fd/2 > "$TEST_DIR/monitor.fds"
      mv "$TEST_DIR/monitor.argv.tmp" "$TEST_DIR/monitor.argv"
      sleep 1
      grep '^PPid:' /proc/$$/status > "$TEST_DIR/monitor.ppid"
      sleep 29
      echo done > "$TEST_DIR/monitor.done"
      """;

  @BeforeEach
  void writeLauncher() throws IOException {
    launcher = dir.resolve("virt-launcher-monitor");
    Files.writeString(launcher, STAND_IN_LAUNCHER);
    Files.setPosixFilePermissions(launcher, PosixFilePermissions.fromString("rwxr-xr-x"));
  }

  @AfterEach
  void stopContainer() {
    if (container != null) {
      container.close();
    }
  }

  private JsonNode injectedCompute(Shape shape, String monitor) {
    ObjectNode pod = LauncherPods.pod(shape, 107);
    ObjectNode compute = compute(pod);
    ArrayNode command = compute.putArray("command").add(launcher.toString());
    ArrayNode args = shape == Shape.COMMAND_ONLY ? command : compute.putArray("args");
    TRICKY.forEach(args::add);
    PodMutator mutator = new PodMutator(monitor, "0".repeat(64), "test");
    Verdict verdict =
        mutator.review(new AdmissionInput(Operation.CREATE, "team-a", "", pod, null, false));
    return compute(((Verdict.Allow) verdict).object());
  }

  private static List<String> containerArgv(JsonNode compute) {
    List<String> argv = new ArrayList<>(strings(compute.path("command")));
    argv.addAll(strings(compute.path("args")));
    return argv;
  }

  private static List<String> hook(JsonNode compute) {
    return strings(compute.at("/lifecycle/postStart/exec/command"));
  }

  private ContainerStandIn startContainer(JsonNode compute, boolean wait) throws IOException {
    container =
        ContainerStandIn.start(
            containerArgv(compute),
            Map.of("TEST_DIR", dir.toString(), "LAUNCHER_WAIT", wait ? "1" : "0"),
            dir.resolve("container.stdout"),
            dir.resolve("container.stderr"));
    return container;
  }

  private ContainerStandIn.Exec runHook(JsonNode compute) throws Exception {
    awaitFile(dir.resolve("launcher.pid"));
    return container.exec(hook(compute), Map.of("TEST_DIR", dir.toString()), Optional.empty());
  }

  private static List<String> nulSeparated(Path file) throws IOException {
    String text = Files.readString(file, StandardCharsets.UTF_8);
    return Arrays.asList(text.substring(0, text.length() - 1).split("\0", -1));
  }

  private static void awaitFile(Path file) throws InterruptedException {
    Instant deadline = Instant.now().plus(Duration.ofSeconds(10));
    while (!Files.exists(file) && Instant.now().isBefore(deadline)) {
      Thread.sleep(20);
    }
    assertThat(file).exists();
  }

  @ParameterizedTest
  @EnumSource(Shape.class)
  void theLauncherIsPid1WithItsArgvAndItsExitCode(Shape shape) throws Exception {
    JsonNode compute = injectedCompute(shape, STAND_IN_MONITOR);
    startContainer(compute, false);
    assertThat(container.awaitExit(Duration.ofSeconds(20))).isEqualTo(42);
    assertThat(nulSeparated(dir.resolve("launcher.argv"))).isEqualTo(TRICKY);
    // KubeVirt's command is what the runtime starts: the launcher is the container's PID 1
    assertThat(Files.readString(dir.resolve("launcher.pid")).strip()).isEqualTo("1");
  }

  @ParameterizedTest
  @EnumSource(Shape.class)
  void signalsReachTheLauncher(Shape shape) throws Exception {
    startContainer(injectedCompute(shape, STAND_IN_MONITOR), true);
    awaitFile(dir.resolve("launcher.pid"));
    container.terminate(); // SIGTERM, as the kubelet sends on pod deletion
    assertThat(container.awaitExit(Duration.ofSeconds(20))).isEqualTo(143);
    assertThat(Files.readString(dir.resolve("launcher.signal")).strip()).isEqualTo("TERM");
  }

  @ParameterizedTest
  @EnumSource(Shape.class)
  void theHookReturnsAtOnceAndLeavesTheMonitorRunningWithTheLauncherArgv(Shape shape)
      throws Exception {
    JsonNode compute = injectedCompute(shape, STAND_IN_MONITOR);
    startContainer(compute, true);
    ContainerStandIn.Exec hook = runHook(compute);

    assertThat(hook.exit()).isZero();
    assertThat(hook.output()).isEmpty();
    // The runtime answers the kubelet only when the hook's output is closed: the monitor holds
    // none of it, so the hook is done while the monitor lives on.
    assertThat(hook.untilOutputClosed()).isLessThan(Duration.ofSeconds(2));
    awaitFile(dir.resolve("monitor.argv"));
    List<String> monitorArgv = nulSeparated(dir.resolve("monitor.argv"));
    assertThat(monitorArgv.get(0)).isEqualTo("vmpower-domain-monitor");
    assertThat(monitorArgv.subList(1, monitorArgv.size())).isEqualTo(containerArgv(compute));
    assertThat(Files.readString(dir.resolve("monitor.env")))
        .isEqualTo("1 /proc/1/fd/2:/var/run/kubevirt-private/vmpower-domain-monitor.log\n");
    // stdin, stdout and stderr: /dev/null, none of them the hook's pipe
    assertThat(Files.readAllLines(dir.resolve("monitor.fds")))
        .containsExactly("/dev/null", "/dev/null", "/dev/null");

    // The hook's shell is gone: the monitor now belongs to the container's PID 1.
    awaitFile(dir.resolve("monitor.ppid"));
    assertThat(Files.readString(dir.resolve("monitor.ppid")).strip()).isEqualTo("PPid:\t1");
    assertThat(dir.resolve("monitor.done")).doesNotExist();
    assertThat(container.running()).isTrue();

    // The container ends with its PID 1, and the monitor with it.
    container.terminate();
    assertThat(container.awaitExit(Duration.ofSeconds(20))).isEqualTo(143);
    List<Long> left = MonitorProcesses.lingering(dir.toString(), Duration.ofSeconds(2));
    assertThat(left).as(MonitorProcesses.describe(left)).isEmpty();
    assertThat(dir.resolve("monitor.done")).doesNotExist();
  }

  @Test
  void theHookSucceedsWhateverTheMonitorDoes() throws Exception {
    JsonNode compute = injectedCompute(Shape.COMMAND_ONLY, "echo broken >&2; exit 3");
    startContainer(compute, true);
    ContainerStandIn.Exec hook = runHook(compute);
    // A failing postStart hook makes the kubelet kill the container: the hook always exits 0.
    assertThat(hook.exit()).isZero();
    assertThat(hook.output()).isEmpty();
    assertThat(container.running()).isTrue();
  }
}
