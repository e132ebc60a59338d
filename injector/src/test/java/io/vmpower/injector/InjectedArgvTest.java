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
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Runs the injected container argv with a real bash, as the container runtime would: the launcher
 * (a stand-in) must get exactly its original argv, keep the PID, receive signals and pass its exit
 * code; the monitor (a stand-in too) must be started with the launcher's argv.
 */
class InjectedArgvTest {
  /** Arguments a shell would mangle if the wrapper quoted anything wrongly. */
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

  private static final String STAND_IN_MONITOR =
      """
      printf '%s\\0' "$0" "$@" > "$TEST_DIR/monitor.argv.tmp"
      mv "$TEST_DIR/monitor.argv.tmp" "$TEST_DIR/monitor.argv"
      """;

  @BeforeEach
  void writeLauncher() throws IOException {
    launcher = dir.resolve("virt-launcher-monitor");
    Files.writeString(launcher, STAND_IN_LAUNCHER);
    Files.setPosixFilePermissions(launcher, PosixFilePermissions.fromString("rwxr-xr-x"));
  }

  private List<String> injectedArgv(Shape shape) {
    ObjectNode pod = LauncherPods.pod(shape, 107);
    ObjectNode compute = compute(pod);
    ArrayNode command = compute.putArray("command").add(launcher.toString());
    ArrayNode args = shape == Shape.COMMAND_ONLY ? command : compute.putArray("args");
    TRICKY.forEach(args::add);
    PodMutator mutator = new PodMutator(STAND_IN_MONITOR, "0".repeat(64), "test");
    Verdict verdict =
        mutator.review(new AdmissionInput(Operation.CREATE, "team-a", "", pod, null, false));
    JsonNode injected = compute(((Verdict.Allow) verdict).object());
    List<String> argv = new ArrayList<>(strings(injected.path("command")));
    argv.addAll(strings(injected.path("args")));
    return argv;
  }

  private Process start(List<String> argv, boolean wait) throws IOException {
    ProcessBuilder builder = new ProcessBuilder(argv).redirectErrorStream(true);
    builder.environment().put("TEST_DIR", dir.toString());
    builder.environment().put("LAUNCHER_WAIT", wait ? "1" : "0");
    return builder.start();
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
  void launcherGetsItsArgvUnchangedAndItsExitCodeIsPassedOn(Shape shape) throws Exception {
    Process process = start(injectedArgv(shape), false);
    assertThat(process.waitFor(20, TimeUnit.SECONDS)).isTrue();
    assertThat(process.exitValue()).isEqualTo(42);
    assertThat(nulSeparated(dir.resolve("launcher.argv"))).isEqualTo(TRICKY);
    // exec: the launcher is the process the runtime started (PID 1 in a container).
    assertThat(Files.readString(dir.resolve("launcher.pid")).strip())
        .isEqualTo(Long.toString(process.pid()));

    awaitFile(dir.resolve("monitor.argv"));
    List<String> monitorArgv = nulSeparated(dir.resolve("monitor.argv"));
    assertThat(monitorArgv.get(0)).isEqualTo("vmpower-domain-monitor");
    assertThat(monitorArgv.get(1)).isEqualTo(launcher.toString());
    assertThat(monitorArgv.subList(2, monitorArgv.size())).isEqualTo(TRICKY);
  }

  @ParameterizedTest
  @EnumSource(Shape.class)
  void signalsReachTheLauncher(Shape shape) throws Exception {
    Process process = start(injectedArgv(shape), true);
    awaitFile(dir.resolve("launcher.pid"));
    process.destroy(); // SIGTERM, as the kubelet sends on pod deletion
    assertThat(process.waitFor(20, TimeUnit.SECONDS)).isTrue();
    assertThat(process.exitValue()).isEqualTo(143);
    assertThat(Files.readString(dir.resolve("launcher.signal")).strip()).isEqualTo("TERM");
  }
}
