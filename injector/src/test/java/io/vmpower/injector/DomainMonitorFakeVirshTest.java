package io.vmpower.injector;

import static io.vmpower.injector.MonitorProcesses.describe;
import static io.vmpower.injector.MonitorProcesses.lingering;
import static io.vmpower.injector.MonitorProcesses.logRecords;
import static io.vmpower.injector.MonitorProcesses.messages;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.vmpower.api.termination.ShutdownReason;
import io.vmpower.api.termination.TerminationMessages;
import java.io.File;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Runs the real monitor script against a scripted fake virsh. */
class DomainMonitorFakeVirshTest {
  static final String DOMAIN = "default_testvm";
  static final String SET_ACTION =
      "{\"execute\":\"set-action\",\"arguments\":{\"reboot\":\"shutdown\"}}";
  static final List<String> LAUNCHER_ARGV =
      List.of(
          "/usr/bin/virt-launcher-monitor",
          "--qemu-timeout",
          "301s",
          "--name",
          "testvm",
          "--uid",
          "1234",
          "--namespace",
          "default",
          "--kubevirt-share-dir",
          "/var/run/kubevirt",
          "--ephemeral-disk-dir",
          "/var/run/kubevirt-ephemeral-disks");

  static final String STARTED =
      "emit event 'lifecycle' for domain 'default_testvm': Started Booted";
  static final String STOPPED =
      "emit event 'lifecycle' for domain 'default_testvm': Stopped Shutdown";

  static String qemuEvent(String seconds, String event, String data) {
    return "emit event " + event + " at " + seconds + " for domain 'default_testvm': " + data;
  }

  static String watchdog(String seconds, String action) {
    return qemuEvent(seconds, "WATCHDOG", "{\"action\":\"" + action + "\"}");
  }

  static String panicked(String seconds, String action) {
    return qemuEvent(seconds, "GUEST_PANICKED", "{\"action\":\"" + action + "\"}");
  }

  static String shutdown(String seconds, boolean guest, String reason) {
    return "emit event SHUTDOWN at "
        + seconds
        + " for domain 'default_testvm': {\"guest\":"
        + guest
        + ",\"reason\":\""
        + reason
        + "\"}";
  }

  @TempDir Path tmp;

  @BeforeAll
  static void packages() throws Exception {
    EnsurePackages.packagesOnly();
  }

  /** One monitor run: where its fake lives, and what it left behind. */
  final class Run {
    final Path dir;
    final Path virsh;
    final Path terminationLog;
    final Map<String, String> env = new HashMap<>();
    final List<String> command = new ArrayList<>();
    int exitCode;
    String stdout;
    String stderr;
    Duration elapsed;

    Run() throws IOException {
      dir = Files.createTempDirectory(tmp, "run");
      Files.createDirectories(dir.resolve("bin"));
      virsh = dir.resolve("bin/virsh");
      Files.copy(MonitorProcesses.libvirtHelpers().resolve("fake-virsh"), virsh);
      virsh.toFile().setExecutable(true, false);
      terminationLog = dir.resolve("termination-log");
      env.put("VMPOWER_VIRSH", virsh.toString());
      env.put("FAKE_VIRSH_DIR", dir.toString());
      env.put("VMPOWER_TERMINATION_LOG", terminationLog.toString());
      env.put("VMPOWER_LIBVIRT_URI", "test:///fake");
      env.put("VMPOWER_DEADLINE_SECONDS", "20");
      command.addAll(List.of("bash", "-c", DomainMonitorScript.text(), "vmpower-domain-monitor"));
      command.addAll(LAUNCHER_ARGV);
    }

    Run file(String name, String... lines) throws IOException {
      Files.writeString(dir.resolve(name), String.join("\n", lines) + "\n");
      return this;
    }

    Run lifecycle(String... steps) throws IOException {
      return file("lifecycle.script", steps);
    }

    Run qemu(String... steps) throws IOException {
      return file("qemu.script", steps);
    }

    ProcessBuilder builder() {
      ProcessBuilder pb = new ProcessBuilder(command);
      pb.environment().putAll(env);
      pb.redirectInput(new File("/dev/null"));
      pb.redirectOutput(dir.resolve("stdout").toFile());
      pb.redirectError(dir.resolve("stderr").toFile());
      return pb;
    }

    /** Runs to completion; fails if it takes longer than {@code limit}. */
    Run go(Duration limit) throws Exception {
      long t0 = System.nanoTime();
      Process p = builder().start();
      boolean done = p.waitFor(limit.toMillis(), TimeUnit.MILLISECONDS);
      elapsed = Duration.ofNanos(System.nanoTime() - t0);
      if (!done) {
        p.destroyForcibly();
        killMarked();
      }
      collect();
      assertThat(done).as("monitor still running after %s; stderr:%n%s", limit, stderr).isTrue();
      exitCode = p.exitValue();
      assertClean();
      return this;
    }

    void collect() throws IOException {
      stdout = Files.readString(dir.resolve("stdout"));
      stderr = Files.readString(dir.resolve("stderr"));
    }

    /** The contract every run keeps: exit 0, silent stdout, JSON stderr, no processes left. */
    void assertClean() throws Exception {
      assertThat(exitCode).as("exit code; stderr:%n%s", stderr).isZero();
      assertThat(stdout).as("stdout").isEmpty();
      logRecords(stderr, env.containsKey("VMPOWER_DOMAIN") ? null : DOMAIN);
      List<Long> left = lingering(dir.toString(), Duration.ofMillis(300));
      assertThat(left).as("processes left behind:%n%s", describe(left)).isEmpty();
    }

    void killMarked() {
      for (long pid : MonitorProcesses.processesMentioning(dir.toString())) {
        ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly);
      }
    }

    List<JsonNode> records() {
      return logRecords(stderr, env.containsKey("VMPOWER_DOMAIN") ? null : DOMAIN);
    }

    List<String> errors() {
      return messages(records(), "error");
    }

    List<String> infos() {
      return messages(records(), "info");
    }

    /** Invocations of the fake, as argument lists (the pid column dropped). */
    List<List<String>> calls() throws IOException {
      Path log = dir.resolve("calls.log");
      if (!Files.exists(log)) {
        return List.of();
      }
      return Files.readAllLines(log).stream()
          .map(l -> List.of(l.split("\t")).subList(1, l.split("\t").length))
          .toList();
    }

    List<List<String>> calls(String verb) throws IOException {
      return calls().stream().filter(c -> c.size() > 2 && c.get(2).equals(verb)).toList();
    }

    List<String> terminationLines() throws IOException {
      return Files.readAllLines(terminationLog);
    }
  }

  Run run() throws IOException {
    return new Run();
  }

  /** Reboot: events in the order libvirt delivers them; the log and the parser agree. */
  @Test
  void guestResetIsRecordedFirstAndParsedByTheApi() throws Exception {
    Run r =
        run()
            .lifecycle(STARTED, "await applied", "await shutdown-sent", STOPPED)
            .qemu(
                "await applied",
                shutdown("1795599736.260076", true, "guest-reset"),
                shutdown("1795599736.262072", false, "host-signal"),
                "touch shutdown-sent")
            .go(Duration.ofSeconds(10));

    assertThat(r.calls("qemu-monitor-command"))
        .containsExactly(List.of("-c", "test:///fake", "qemu-monitor-command", DOMAIN, SET_ACTION));
    assertThat(r.calls("event"))
        .containsExactly(List.of("-c", "test:///fake", "event", "--loop", "--event", "lifecycle"));
    assertThat(r.calls("qemu-monitor-event"))
        .containsExactly(
            List.of(
                "-c",
                "test:///fake",
                "qemu-monitor-event",
                "--loop",
                "--regex",
                "--event",
                "^(SHUTDOWN|WATCHDOG|GUEST_PANICKED)$"));
    List<String> lines = r.terminationLines();
    assertThat(lines).hasSize(2);
    JsonNode first = MonitorProcesses.JSON.readTree(lines.get(0));
    assertThat(first.path("source").asText()).isEqualTo("vmpower");
    assertThat(first.path("event").asText()).isEqualTo("SHUTDOWN");
    assertThat(first.path("guest").asBoolean()).isTrue();
    assertThat(first.path("reason").asText()).isEqualTo("guest-reset");
    assertThat(first.path("timestamp").asText()).isEqualTo("2026-11-25T09:42:16.260Z");
    JsonNode second = MonitorProcesses.JSON.readTree(lines.get(1));
    assertThat(second.path("guest").asBoolean()).isFalse();
    assertThat(second.path("reason").asText()).isEqualTo("host-signal");
    assertThat(TerminationMessages.parse(Files.readString(r.terminationLog)))
        .isEqualTo(ShutdownReason.GUEST_RESET);
    assertThat(r.errors()).isEmpty();
    assertThat(r.infos())
        .contains(
            "domain monitor started",
            "set-action reboot=shutdown applied",
            "SHUTDOWN event recorded",
            "domain stopped");
    assertThat(r.records().get(0).path("uri").asText()).isEqualTo("test:///fake");
    assertThat(r.records().get(0).path("setupDeadlineSeconds").asInt()).isEqualTo(20);
  }

  @Test
  void guestShutdownAsAFileWithEqualsArguments() throws Exception {
    Run r = run();
    Path script = r.dir.resolve("domain-monitor.sh");
    Files.writeString(script, DomainMonitorScript.text());
    r.command.clear();
    r.command.addAll(
        List.of(
            "bash",
            script.toString(),
            "/usr/bin/virt-launcher-monitor",
            "--qemu-timeout=301s",
            "--name=testvm",
            "--namespace=default",
            "--no-fork"));
    r.lifecycle(STARTED, "await shutdown-sent", STOPPED)
        .qemu(
            "await applied",
            shutdown("1795599736.1", true, "guest-shutdown"),
            shutdown("1795599736.2", false, "host-signal"),
            "touch shutdown-sent")
        .go(Duration.ofSeconds(10));
    assertThat(r.calls("qemu-monitor-command")).hasSize(1);
    assertThat(TerminationMessages.parse(Files.readString(r.terminationLog)))
        .isEqualTo(ShutdownReason.GUEST_SHUTDOWN);
    assertThat(r.terminationLines().get(0)).contains("\"timestamp\":\"2026-11-25T09:42:16.100Z\"");
  }

  @Test
  void firstGuestEventGoesFirstEvenAfterHostEvents() throws Exception {
    Run r =
        run()
            .lifecycle(STARTED, "await shutdown-sent", STOPPED)
            .qemu(
                "await applied",
                shutdown("1795599736.000001", false, "host-qmp-quit"),
                shutdown("1795599736.000002", true, "guest-reset"),
                shutdown("1795599736.000003", true, "guest-shutdown"),
                "touch shutdown-sent")
            .go(Duration.ofSeconds(10));
    List<String> lines = r.terminationLines();
    assertThat(lines).hasSize(3);
    assertThat(lines.get(0)).contains("\"guest\":true", "\"reason\":\"guest-reset\"");
    assertThat(lines.get(1)).contains("\"guest\":false", "\"reason\":\"host-qmp-quit\"");
    assertThat(lines.get(2)).contains("\"guest\":true", "\"reason\":\"guest-shutdown\"");
    assertThat(TerminationMessages.parse(String.join("\n", lines)))
        .isEqualTo(ShutdownReason.GUEST_RESET);
  }

  @Test
  void terminationLogNeverExceeds4096BytesAndKeepsTheGuestEventFirst() throws Exception {
    List<String> qemu = new ArrayList<>(List.of("await applied"));
    for (int i = 0; i < 60; i++) {
      qemu.add(shutdown("1795599736." + (100000 + i), false, "host-signal"));
    }
    qemu.add(shutdown("1795599737.000000", true, "guest-reset"));
    qemu.add("touch shutdown-sent");
    Run r =
        run()
            .lifecycle(STARTED, "await shutdown-sent", STOPPED)
            .qemu(qemu.toArray(String[]::new))
            .go(Duration.ofSeconds(20));
    byte[] bytes = Files.readAllBytes(r.terminationLog);
    assertThat(bytes.length).isLessThanOrEqualTo(4096).isGreaterThan(3500);
    String text = new String(bytes, StandardCharsets.UTF_8);
    assertThat(text).endsWith("\n");
    List<String> lines = r.terminationLines();
    assertThat(lines.get(0)).contains("\"guest\":true", "guest-reset");
    for (String line : lines) {
      assertThat(MonitorProcesses.JSON.readTree(line).path("event").asText()).isEqualTo("SHUTDOWN");
    }
    assertThat(TerminationMessages.parse(text)).isEqualTo(ShutdownReason.GUEST_RESET);
    assertThat(r.errors()).contains("termination log full; SHUTDOWN event not recorded");
  }

  /** The ways of stopping issue 14 adds, as libvirt 9.0 / QEMU 7.2 deliver them (measured). */
  @Nested
  class WaysOfStopping {
    Run stops(String... qemuSteps) throws Exception {
      List<String> qemu = new ArrayList<>(List.of("await applied"));
      qemu.addAll(List.of(qemuSteps));
      qemu.add("touch events-sent");
      return run()
          .lifecycle(STARTED, "await events-sent", STOPPED)
          .qemu(qemu.toArray(String[]::new))
          .go(Duration.ofSeconds(10));
    }

    List<String> recorded(Run r) throws IOException {
      return MonitorProcesses.recordedEvents(Files.readString(r.terminationLog));
    }

    @Test
    void softRebootWithoutAgentKeepsTheFakeRebootPairInOrder() throws Exception {
      Run r =
          stops(
              shutdown("1795928636.312000", true, "guest-shutdown"),
              shutdown("1795928636.313000", false, "host-qmp-system-reset"),
              shutdown("1795928637.716000", false, "host-signal"));
      assertThat(recorded(r))
          .containsExactly(
              "SHUTDOWN +guest-shutdown",
              "SHUTDOWN -host-qmp-system-reset",
              "SHUTDOWN -host-signal");
      assertThat(TerminationMessages.parse(Files.readString(r.terminationLog)))
          .isEqualTo(ShutdownReason.SOFT_REBOOT);
      assertThat(r.errors()).isEmpty();
    }

    @Test
    void hostResetIsRecorded() throws Exception {
      Run r =
          stops(
              shutdown("1795928579.049000", false, "host-qmp-system-reset"),
              shutdown("1795928579.049500", false, "host-signal"));
      assertThat(recorded(r))
          .containsExactly("SHUTDOWN -host-qmp-system-reset", "SHUTDOWN -host-signal");
      assertThat(TerminationMessages.parse(Files.readString(r.terminationLog)))
          .isEqualTo(ShutdownReason.HOST_RESET);
    }

    @Test
    void watchdogResetComesRightBeforeItsReset() throws Exception {
      Run r =
          stops(
              watchdog("1795928745.385357", "reset"),
              shutdown("1795928745.385424", true, "guest-reset"),
              shutdown("1795928745.388420", false, "host-signal"));
      assertThat(recorded(r))
          .containsExactly("WATCHDOG reset", "SHUTDOWN +guest-reset", "SHUTDOWN -host-signal");
      assertThat(r.terminationLines().get(0))
          .isEqualTo(
              "{\"source\":\"vmpower\",\"event\":\"WATCHDOG\",\"action\":\"reset\","
                  + "\"timestamp\":\"2026-11-29T05:05:45.385Z\"}");
      assertThat(TerminationMessages.parse(Files.readString(r.terminationLog)))
          .isEqualTo(ShutdownReason.WATCHDOG_RESET);
      assertThat(r.infos()).contains("WATCHDOG event recorded", "SHUTDOWN event recorded");
    }

    @Test
    void guestPanicWithoutAnyShutdownEvent() throws Exception {
      Run r =
          run()
              .lifecycle(
                  STARTED,
                  "await events-sent",
                  "emit event 'lifecycle' for domain 'default_testvm': Crashed Panicked",
                  "emit event 'lifecycle' for domain 'default_testvm': Stopped Crashed")
              .qemu("await applied", panicked("1795928730.893820", "pause"), "touch events-sent")
              .go(Duration.ofSeconds(10));
      assertThat(recorded(r)).containsExactly("GUEST_PANICKED pause");
      assertThat(TerminationMessages.parse(Files.readString(r.terminationLog)))
          .isEqualTo(ShutdownReason.GUEST_PANIC);
      assertThat(r.infos()).contains("domain stopped");
    }

    @Test
    void decidingEventsGoAheadOfHostFollowUps() throws Exception {
      Run r =
          stops(
              shutdown("1795928700.000001", false, "host-signal"),
              watchdog("1795928700.000002", "none"),
              panicked("1795928700.000003", "pause"),
              watchdog("1795928700.000004", "reset"),
              shutdown("1795928700.000005", true, "guest-reset"),
              shutdown("1795928700.000006", true, "guest-shutdown"));
      assertThat(recorded(r))
          .containsExactly(
              "GUEST_PANICKED pause",
              "WATCHDOG reset",
              "SHUTDOWN +guest-reset",
              "SHUTDOWN -host-signal",
              "WATCHDOG none",
              "SHUTDOWN +guest-shutdown");
      assertThat(TerminationMessages.parse(Files.readString(r.terminationLog)))
          .isEqualTo(ShutdownReason.GUEST_PANIC);
    }

    /**
     * A watchdog that fires again and again without acting cannot crowd out the SHUTDOWN pair that
     * decides: WATCHDOG lines stop 1024 bytes short of the cap.
     */
    @Test
    void repeatedWatchdogEventsLeaveRoomForTheClosingPair() throws Exception {
      List<String> steps = new ArrayList<>();
      for (int i = 0; i < 60; i++) {
        steps.add(watchdog("1795928700." + (100000 + i), "none"));
      }
      steps.add(shutdown("1795928701.000000", true, "guest-shutdown"));
      steps.add(shutdown("1795928701.000100", false, "host-qmp-system-reset"));
      steps.add(shutdown("1795928701.000200", false, "host-signal"));
      Run r = stops(steps.toArray(String[]::new));
      byte[] bytes = Files.readAllBytes(r.terminationLog);
      assertThat(bytes.length).isLessThanOrEqualTo(4096);
      List<String> recorded = recorded(r);
      assertThat(recorded.subList(recorded.size() - 3, recorded.size()))
          .containsExactly(
              "SHUTDOWN +guest-shutdown",
              "SHUTDOWN -host-qmp-system-reset",
              "SHUTDOWN -host-signal");
      assertThat(recorded.subList(0, recorded.size() - 3)).allMatch(l -> l.equals("WATCHDOG none"));
      assertThat(TerminationMessages.parse(new String(bytes, StandardCharsets.UTF_8)))
          .isEqualTo(ShutdownReason.SOFT_REBOOT);
      assertThat(r.errors()).contains("termination log full; WATCHDOG event not recorded");
      assertThat(r.errors()).doesNotContain("termination log full; SHUTDOWN event not recorded");
    }

    @Test
    void otherQemuEventsAreNotRecorded() throws Exception {
      Run r =
          stops(
              qemuEvent("1795928700.1", "RESUME", "<null>"),
              qemuEvent("1795928700.2", "RESET", "{\"guest\":true,\"reason\":\"guest-reset\"}"),
              shutdown("1795928700.3", true, "guest-shutdown"));
      assertThat(recorded(r)).containsExactly("SHUTDOWN +guest-shutdown");
    }
  }

  /**
   * virt-launcher-monitor SIGTERMs the first process whose command line contains {@code
   * qemu-system} or {@code qemu-kvm} (DESIGN.md section 9): the hook's shell and the monitor run as
   * {@code bash -c <text>}, so neither may appear in the script or the injected hook.
   */
  @Test
  void theInjectedHookNeverNamesTheQemuBinary() {
    var compute = MonitorProcesses.JSON.createObjectNode().put("name", "compute");
    String injected =
        String.join("\0", PodMutator.withBundledMonitor().hookCommand(compute, LAUNCHER_ARGV))
            .toLowerCase(java.util.Locale.ROOT);
    assertThat(injected).contains("qemu-monitor-event");
    for (String forbidden : List.of("qemu-system", "qemu-kvm")) {
      assertThat(DomainMonitorScript.text().toLowerCase(java.util.Locale.ROOT))
          .doesNotContain(forbidden);
      assertThat(injected).doesNotContain(forbidden);
    }
  }

  @Test
  void missingStoppedEventDoesNotKeepTheMonitorAlive() throws Exception {
    Run r =
        runWithoutStoppedEvent(
            shutdown("1795599736.1", true, "guest-shutdown"),
            shutdown("1795599736.2", false, "host-signal"));
    assertThat(r.infos()).contains("domain gone without a Stopped event");
    assertThat(r.elapsed).isLessThan(Duration.ofSeconds(9));
    assertThat(TerminationMessages.parse(Files.readString(r.terminationLog)))
        .isEqualTo(ShutdownReason.GUEST_SHUTDOWN);
  }

  @Test
  void missingStoppedEventAfterAPanicDoesNotKeepTheMonitorAlive() throws Exception {
    // libvirt's on_crash destroy ends QEMU after GUEST_PANICKED, no SHUTDOWN follows; the Stopped
    // event did not reach the monitor once in DomainMonitorLibvirtIT (libvirt 9.0)
    Run r = runWithoutStoppedEvent(panicked("1795599736.1", "pause"));
    assertThat(r.infos()).contains("domain gone without a Stopped event");
    assertThat(r.elapsed).isLessThan(Duration.ofSeconds(9));
    assertThat(TerminationMessages.parse(Files.readString(r.terminationLog)))
        .isEqualTo(ShutdownReason.GUEST_PANIC);
  }

  /**
   * The domain runs, QEMU sends {@code events} and goes away, and no Stopped lifecycle event
   * follows; once QEMU is gone, domstate fails like it does for a vanished transient domain.
   */
  private Run runWithoutStoppedEvent(String... events) throws Exception {
    List<String> qemu = new java.util.ArrayList<>(List.of("await applied"));
    qemu.addAll(List.of(events));
    Run r = run().file("domstate", "running").lifecycle(STARTED).qemu(qemu.toArray(String[]::new));
    Files.writeString(
        r.dir.resolve("qemu.script"), "touch gone\n", java.nio.file.StandardOpenOption.APPEND);
    Files.writeString(
        r.dir.resolve("lifecycle.script"),
        String.join("\n", STARTED, "await gone", "pause 0.1") + "\n");
    r.env.put("FAKE_DOMSTATE_GONE_WHEN", "gone");
    r.go(Duration.ofSeconds(12));
    return r;
  }

  @Test
  void virshMissing() throws Exception {
    Run r = run();
    r.env.put("VMPOWER_VIRSH", r.dir.resolve("no-such-virsh").toString());
    r.go(Duration.ofSeconds(5));
    assertThat(r.elapsed).isLessThan(Duration.ofSeconds(3));
    assertThat(r.errors()).singleElement().asString().startsWith("virsh not found");
    assertThat(r.terminationLog).doesNotExist();
  }

  @Test
  void libvirtUnreachableGivesUpAtTheDeadline() throws Exception {
    Run r = run().file("connect-fails", "always");
    r.env.put("VMPOWER_DEADLINE_SECONDS", "3");
    r.go(Duration.ofSeconds(10));
    assertThat(r.elapsed).isBetween(Duration.ofSeconds(2), Duration.ofSeconds(7));
    assertThat(r.errors())
        .contains(
            "cannot listen to libvirt events yet; retrying",
            "domain did not start within 3s; giving up");
    JsonNode last = r.records().get(r.records().size() - 1);
    assertThat(last.path("lastError").asText()).startsWith("error: ");
    assertThat(r.calls("event").size()).isGreaterThan(1);
    assertThat(r.calls("qemu-monitor-command")).isEmpty();
  }

  @Test
  void daemonComingUpLateIsPickedUp() throws Exception {
    Run r =
        run()
            .file("connect-fails", String.valueOf(System.currentTimeMillis() / 1000 + 2))
            .lifecycle(STARTED, "await shutdown-sent", STOPPED)
            .qemu(
                "await applied",
                shutdown("1795599736.1", true, "guest-reset"),
                "touch shutdown-sent");
    r.go(Duration.ofSeconds(15));
    assertThat(r.calls("qemu-monitor-command")).hasSize(1);
    assertThat(TerminationMessages.parse(Files.readString(r.terminationLog)))
        .isEqualTo(ShutdownReason.GUEST_RESET);
    assertThat(r.errors()).contains("cannot listen to libvirt events yet; retrying");
  }

  @Test
  void waitsForTheSocketOfASocketUriBeforeConnecting() throws Exception {
    Run r =
        run()
            .lifecycle(STARTED, "await shutdown-sent", STOPPED)
            .qemu(
                "await applied",
                shutdown("1795599736.1", true, "guest-reset"),
                "touch shutdown-sent");
    Path sock = r.dir.resolve("virtqemud-sock");
    String uri = "qemu+unix:///session?socket=" + sock;
    r.env.put("VMPOWER_LIBVIRT_URI", uri);
    Process p = r.builder().start();
    try (ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
      Thread.sleep(1500);
      assertThat(p.isAlive()).isTrue();
      assertThat(r.calls()).as("no virsh before the socket exists").isEmpty();
      server.bind(UnixDomainSocketAddress.of(sock));
      assertThat(p.waitFor(10, TimeUnit.SECONDS)).isTrue();
    } finally {
      p.destroyForcibly();
    }
    r.exitCode = p.exitValue();
    r.collect();
    r.assertClean();
    assertThat(r.calls("qemu-monitor-command").get(0)).containsSequence("-c", uri);
    assertThat(r.infos()).contains("waiting for the libvirt socket");
  }

  @Test
  void domainNeverAppearsHonoursTheDeadline() throws Exception {
    Run r = run();
    r.env.put("VMPOWER_DEADLINE_SECONDS", "2");
    r.go(Duration.ofSeconds(8));
    assertThat(r.elapsed).isBetween(Duration.ofSeconds(2), Duration.ofSeconds(5));
    assertThat(r.errors()).containsExactly("domain did not start within 2s; giving up");
    assertThat(r.calls("qemu-monitor-command")).isEmpty();
    // one look right after arming and one after a quiet second
    assertThat(r.calls("domstate")).hasSize(2);
  }

  @Test
  void domainAlreadyRunningWhenTheListenersComeUp() throws Exception {
    Run r =
        run()
            .file("domstate", "running")
            .lifecycle("await shutdown-sent", STOPPED)
            .qemu(
                "await applied",
                shutdown("1795599736.1", true, "guest-reset"),
                "touch shutdown-sent")
            .go(Duration.ofSeconds(10));
    assertThat(r.calls("qemu-monitor-command")).hasSize(1);
    assertThat(r.records())
        .anySatisfy(
            n -> {
              assertThat(n.path("msg").asText()).isEqualTo("set-action reboot=shutdown applied");
              assertThat(n.path("trigger").asText()).isEqualTo("domstate running");
            });
    assertThat(TerminationMessages.parse(Files.readString(r.terminationLog)))
        .isEqualTo(ShutdownReason.GUEST_RESET);
  }

  @Test
  void eventsOfOtherDomainsAreIgnored() throws Exception {
    Run r = run();
    r.env.put("VMPOWER_DEADLINE_SECONDS", "2");
    r.lifecycle(
            "emit event 'lifecycle' for domain 'default_testvm2': Started Booted",
            "emit event 'lifecycle' for domain 'other_testvm': Stopped Shutdown")
        .qemu(
            "emit event SHUTDOWN at 1795599736.1 for domain 'other_testvm': "
                + "{\"guest\":true,\"reason\":\"guest-reset\"}")
        .go(Duration.ofSeconds(8));
    assertThat(r.calls("qemu-monitor-command")).isEmpty();
    assertThat(r.terminationLog).doesNotExist();
    assertThat(r.errors()).containsExactly("domain did not start within 2s; giving up");
  }

  @Test
  void qemuRefusingSetActionIsLoggedAndEventsAreStillRecorded() throws Exception {
    Run r =
        run()
            .file(
                "set-action.reply",
                "{\"id\":\"libvirt-9\",\"error\":{\"class\":\"CommandNotFound\","
                    + "\"desc\":\"The command set-action has not been found\"}}")
            .lifecycle(STARTED, "pause 0.3", "touch refused", "await shutdown-sent", STOPPED)
            .qemu(
                "await refused",
                shutdown("1795599736.1", true, "guest-shutdown"),
                "touch shutdown-sent")
            .go(Duration.ofSeconds(10));
    assertThat(r.errors())
        .containsExactly("set-action reboot=shutdown failed; guest reboots stay in place");
    JsonNode error =
        r.records().stream()
            .filter(n -> n.path("level").asText().equals("error"))
            .findFirst()
            .get();
    assertThat(error.path("output").asText()).contains("CommandNotFound");
    assertThat(TerminationMessages.parse(Files.readString(r.terminationLog)))
        .isEqualTo(ShutdownReason.GUEST_SHUTDOWN);
  }

  @Test
  void eventStreamEndingAbruptlyAfterStartEndsTheMonitor() throws Exception {
    Run r =
        run()
            .lifecycle(STARTED, "await applied", "pause 0.2", "exit 1")
            .qemu(
                "await applied", "pause 0.2", "emit error: Disconnected from hypervisor", "exit 1")
            .go(Duration.ofSeconds(8));
    assertThat(r.calls("qemu-monitor-command")).hasSize(1);
    // it listens again (libvirt may be restarting), finds the domain gone, and ends
    assertThat(r.errors()).containsExactly("libvirt event stream ended; reconnecting");
    JsonNode error =
        r.records().stream()
            .filter(n -> n.path("level").asText().equals("error"))
            .findFirst()
            .get();
    assertThat(error.path("lastError").asText()).isEqualTo("error: Disconnected from hypervisor");
    assertThat(r.infos()).contains("domain gone while reconnecting");
    assertThat(r.elapsed).isLessThan(Duration.ofSeconds(6));
  }

  @Test
  void unwritableTerminationLogIsLoggedNotFatal() throws Exception {
    Run r =
        run()
            .lifecycle(STARTED, "await shutdown-sent", STOPPED)
            .qemu(
                "await applied",
                shutdown("1795599736.1", true, "guest-reset"),
                shutdown("1795599736.2", false, "host-signal"),
                "touch shutdown-sent");
    r.env.put("VMPOWER_TERMINATION_LOG", r.dir.resolve("missing-dir/termination-log").toString());
    r.go(Duration.ofSeconds(10));
    assertThat(r.calls("qemu-monitor-command")).hasSize(1);
    // logged once, not once per event
    assertThat(r.errors())
        .containsExactly(
            "cannot write termination log " + r.dir.resolve("missing-dir/termination-log"));
    assertThat(r.infos()).contains("domain stopped");
  }

  @Test
  void missingDomainNameGivesUp() throws Exception {
    Run r = run();
    r.command.subList(4, r.command.size()).clear();
    r.command.addAll(List.of("/usr/bin/virt-launcher-monitor", "--qemu-timeout", "301s"));
    r.env.put("VMPOWER_DOMAIN", "");
    r.go(Duration.ofSeconds(5));
    assertThat(r.errors()).singleElement().asString().startsWith("no domain");
    assertThat(r.calls()).isEmpty();
  }

  @Test
  void domainOverrideAndDeadlineFromQemuTimeout() throws Exception {
    Run r = run().lifecycle("emit event 'lifecycle' for domain 'ns_override': Stopped Destroyed");
    r.env.put("VMPOWER_DOMAIN", "ns_override");
    r.env.remove("VMPOWER_DEADLINE_SECONDS");
    r.command.set(r.command.indexOf("301s"), "840s");
    r.go(Duration.ofSeconds(8));
    JsonNode started = r.records().get(0);
    assertThat(started.path("domain").asText()).isEqualTo("ns_override");
    assertThat(started.path("setupDeadlineSeconds").asInt()).isEqualTo(900);
    assertThat(r.infos()).contains("domain stopped");
  }

  @Test
  void defaultUriFollowsTheUid() throws Exception {
    Run root = run();
    root.env.remove("VMPOWER_LIBVIRT_URI");
    root.env.put("VMPOWER_DEADLINE_SECONDS", "1");
    root.go(Duration.ofSeconds(8));
    assertThat(root.records().get(0).path("uri").asText()).isEqualTo("qemu:///system");

    Run user = run();
    user.env.remove("VMPOWER_LIBVIRT_URI");
    user.env.put("VMPOWER_DEADLINE_SECONDS", "1");
    Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rwxr-xr-x"));
    Files.setPosixFilePermissions(user.dir, PosixFilePermissions.fromString("rwxrwxrwx"));
    // uid 107 is the KubeVirt launcher's qemu user
    user.command.addAll(0, List.of("setpriv", "--reuid=107", "--regid=107", "--clear-groups"));
    user.go(Duration.ofSeconds(8));
    assertThat(user.records().get(0).path("uri").asText())
        .isEqualTo("qemu+unix:///session?socket=/var/run/libvirt/virtqemud-sock");
    // a launcher owned by another user (here: root) is not mistaken for a dead one
    assertThat(user.errors()).containsExactly("domain did not start within 1s; giving up");
    assertThat(user.infos()).doesNotContain("launcher is gone; exiting");
  }

  @Test
  void exitsWhenTheLauncherIsGone() throws Exception {
    Run r = run();
    // The outer shell plays the launcher: it starts the monitor and exits a second later.
    r.command.clear();
    r.command.addAll(
        List.of(
            "bash",
            "-c",
            "bash -c \"$0\" vmpower-domain-monitor --namespace default --name testvm"
                + " </dev/null >/dev/null 2>\"$1\" & echo $!; sleep 1",
            DomainMonitorScript.text(),
            r.dir.resolve("monitor-stderr").toString()));
    Process outer = r.builder().start();
    try {
      assertThat(outer.waitFor(5, TimeUnit.SECONDS)).isTrue();
      long pid = Long.parseLong(Files.readString(r.dir.resolve("stdout")).strip());
      long t0 = System.nanoTime();
      var monitor = ProcessHandle.of(pid);
      if (monitor.isPresent()) {
        monitor.get().onExit().get(6, TimeUnit.SECONDS);
      }
      assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofSeconds(4));
    } finally {
      r.killMarked();
    }
    List<Long> left = lingering(r.dir.toString(), Duration.ofMillis(300));
    assertThat(left).as(describe(left)).isEmpty();
    String stderr = Files.readString(r.dir.resolve("monitor-stderr"));
    assertThat(messages(logRecords(stderr, DOMAIN), "info")).contains("launcher is gone; exiting");
  }

  /** Started by the postStart hook, the monitor watches the launcher it is told, not its parent. */
  @Test
  void exitsWhenTheNamedLauncherIsGone() throws Exception {
    Process launcher = new ProcessBuilder("sleep", "1").start();
    try {
      Run r = run();
      r.env.put("VMPOWER_LAUNCHER_PID", Long.toString(launcher.pid()));
      r.go(Duration.ofSeconds(6));
      assertThat(r.elapsed).isLessThan(Duration.ofSeconds(4));
      assertThat(r.records().get(0).path("launcherPid").asLong()).isEqualTo(launcher.pid());
      assertThat(r.infos()).contains("launcher is gone; exiting");
    } finally {
      launcher.destroyForcibly();
    }
  }

  /**
   * Where the log goes: the first of {@code VMPOWER_LOG}'s paths that opens (the hook names the
   * launcher's stderr, then a file); the monitor's own stderr is left alone.
   */
  @Nested
  class LogTarget {
    Run reboot() throws IOException {
      return run()
          .lifecycle(STARTED, "await shutdown-sent", STOPPED)
          .qemu(
              "await applied",
              shutdown("1795599736.1", true, "guest-reset"),
              shutdown("1795599736.2", false, "host-signal"),
              "touch shutdown-sent");
    }

    @Test
    void theFirstPathThatOpensTakesTheLog() throws Exception {
      Run r = reboot();
      Path log = r.dir.resolve("monitor.log");
      r.env.put("VMPOWER_LOG", r.dir.resolve("no-such-dir/x.log") + ":" + log);
      r.go(Duration.ofSeconds(10));
      assertThat(r.stderr).isEmpty();
      List<JsonNode> records = logRecords(Files.readString(log), DOMAIN);
      assertThat(records.get(0).path("log").asText()).isEqualTo(log.toString());
      assertThat(messages(records, "info"))
          .contains("set-action reboot=shutdown applied", "SHUTDOWN event recorded");
      assertThat(TerminationMessages.parse(Files.readString(r.terminationLog)))
          .isEqualTo(ShutdownReason.GUEST_RESET);
    }

    @Test
    void noPathOpensAndTheRecordIsStillWritten() throws Exception {
      Run r = reboot();
      r.env.put("VMPOWER_LOG", "/proc/no-such-process/fd/2:" + r.dir.resolve("no-such-dir/x.log"));
      r.go(Duration.ofSeconds(10));
      assertThat(r.stderr).isEmpty();
      assertThat(TerminationMessages.parse(Files.readString(r.terminationLog)))
          .isEqualTo(ShutdownReason.GUEST_RESET);
    }

    @Test
    void aLogFileTakesALimitedNumberOfLines() throws Exception {
      Run r = reboot();
      Path log = r.dir.resolve("monitor.log");
      r.env.put("VMPOWER_LOG", log.toString());
      r.env.put("VMPOWER_LOG_MAX_LINES", "3");
      r.go(Duration.ofSeconds(10));
      List<JsonNode> records = logRecords(Files.readString(log), DOMAIN);
      assertThat(records)
          .extracting(n -> n.path("msg").asText())
          .containsExactly(
              "domain monitor started",
              "set-action reboot=shutdown applied",
              "log limit reached; further lines dropped");
      assertThat(records.get(2).path("log").asText()).isEqualTo(log.toString());
      // the record does not depend on the log
      assertThat(TerminationMessages.parse(Files.readString(r.terminationLog)))
          .isEqualTo(ShutdownReason.GUEST_RESET);
    }

    /** A log whose reader is gone (EPIPE) must not end the monitor through SIGPIPE. */
    @Test
    void aLogReaderThatGoesAwayDoesNotEndTheMonitor() throws Exception {
      Run r =
          run()
              .lifecycle("await reader-closed", STARTED, "await shutdown-sent", STOPPED)
              .qemu(
                  "await applied",
                  shutdown("1795599736.1", true, "guest-reset"),
                  shutdown("1795599736.2", false, "host-signal"),
                  "touch shutdown-sent");
      Path fifo = r.dir.resolve("log.fifo");
      Process mkfifo = new ProcessBuilder("mkfifo", fifo.toString()).start();
      assertThat(mkfifo.waitFor()).isZero();
      r.env.put("VMPOWER_LOG", fifo.toString());
      Process p = r.builder().start();
      String first;
      try (var reader = Files.newBufferedReader(fifo)) {
        first = reader.readLine(); // "domain monitor started"; then the reader goes away
      }
      Files.writeString(r.dir.resolve("reader-closed"), "");
      assertThat(p.waitFor(10, TimeUnit.SECONDS)).isTrue();
      r.exitCode = p.exitValue();
      r.collect();
      r.assertClean();
      assertThat(logRecords(first, DOMAIN).get(0).path("msg").asText())
          .isEqualTo("domain monitor started");
      assertThat(TerminationMessages.parse(Files.readString(r.terminationLog)))
          .isEqualTo(ShutdownReason.GUEST_RESET);
    }
  }

  /**
   * The injected hook with the real monitor, in a container stand-in (PID and mount namespace, the
   * hook exec'd from outside): as root it logs to the launcher's stderr, as uid 107 with
   * no_new_privs, where /proc/1/fd is closed to it, to the file; either way the reboot is recorded
   * and nothing outlives the container.
   */
  @Nested
  class InTheContainer {
    static final String WAITING_LAUNCHER =
        "#!/bin/bash\ntrap 'exit 0' TERM\nwhile :; do sleep 0.1; done\n";

    void reboot(Optional<String> user, String expectedLog) throws Exception {
      Run r =
          run()
              .lifecycle(STARTED, "await shutdown-sent", STOPPED)
              .qemu(
                  "await applied",
                  shutdown("1795599736.1", true, "guest-reset"),
                  shutdown("1795599736.2", false, "host-signal"),
                  "touch shutdown-sent");
      Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rwxr-xr-x"));
      Files.setPosixFilePermissions(r.dir, PosixFilePermissions.fromString("rwxrwxrwx"));
      Path launcher = r.dir.resolve("bin/virt-launcher-monitor");
      Files.writeString(launcher, WAITING_LAUNCHER);
      launcher.toFile().setExecutable(true, false);
      List<String> argv = new ArrayList<>(LAUNCHER_ARGV);
      argv.set(0, launcher.toString());
      // the pod's terminationMessagePath reaches the monitor through the hook
      var compute =
          MonitorProcesses.JSON
              .createObjectNode()
              .put("name", "compute")
              .put("terminationMessagePath", r.terminationLog.toString());
      List<String> hook =
          new ArrayList<>(PodMutator.withBundledMonitor().hookCommand(compute, argv));
      // the launcher's private emptyDir is this run's directory
      Path logFile = r.dir.resolve("vmpower-domain-monitor.log");
      hook.set(2, hook.get(2).replace(MonitorHook.LOG_FILE, logFile.toString()));
      Map<String, String> env = new HashMap<>(r.env);
      env.remove("VMPOWER_TERMINATION_LOG");
      Path containerLog = r.dir.resolve("container.stderr");
      try (ContainerStandIn container =
          ContainerStandIn.start(argv, Map.of(), r.dir.resolve("container.stdout"), containerLog)) {
        ContainerStandIn.Exec exec = container.exec(hook, env, user);
        assertThat(exec.exit()).isZero();
        assertThat(exec.output()).isEmpty();
        assertThat(exec.untilOutputClosed()).isLessThan(Duration.ofSeconds(2));
        long end = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (!Files.exists(r.dir.resolve("shutdown-sent")) && System.nanoTime() < end) {
          Thread.sleep(50);
        }
        // the monitor exits once the domain stopped, the container (the launcher) runs on
        List<Long> monitors =
            MonitorProcesses.lingering(
                "vmpower-domain-monitor", r.dir.toString(), Duration.ofSeconds(8));
        assertThat(monitors).as(describe(monitors)).isEmpty();
        assertThat(container.running()).isTrue();
        container.terminate();
        assertThat(container.awaitExit(Duration.ofSeconds(10))).isZero();
      }
      List<Long> left = lingering(r.dir.toString(), Duration.ofSeconds(2));
      assertThat(left).as(describe(left)).isEmpty();
      String log = Files.readString(expectedLog.equals("/proc/1/fd/2") ? containerLog : logFile);
      List<JsonNode> records = logRecords(log, DOMAIN);
      assertThat(records.get(0).path("log").asText())
          .isEqualTo(expectedLog.equals("/proc/1/fd/2") ? expectedLog : logFile.toString());
      assertThat(records.get(0).path("launcherPid").asInt()).isEqualTo(1);
      assertThat(messages(records, "error")).isEmpty();
      assertThat(messages(records, "info"))
          .contains(
              "set-action reboot=shutdown applied", "SHUTDOWN event recorded", "domain stopped");
      assertThat(TerminationMessages.parse(Files.readString(r.terminationLog)))
          .isEqualTo(ShutdownReason.GUEST_RESET);
    }

    @Test
    void aRootLauncherGetsTheLogOnItsStderr() throws Exception {
      reboot(Optional.empty(), "/proc/1/fd/2");
    }

    @Test
    void aNonRootLauncherGetsTheLogInTheFile() throws Exception {
      reboot(Optional.of("107"), "file");
    }
  }

  @Test
  void sigtermStopsTheListenersToo() throws Exception {
    Run r = run();
    Process p = r.builder().start();
    long end = System.nanoTime() + Duration.ofSeconds(5).toNanos();
    while (r.calls("qemu-monitor-event").isEmpty() && System.nanoTime() < end) {
      Thread.sleep(20);
    }
    Thread.sleep(300);
    assertThat(MonitorProcesses.processesMentioning(r.dir.toString())).hasSizeGreaterThan(1);
    p.destroy();
    assertThat(p.waitFor(5, TimeUnit.SECONDS)).isTrue();
    r.exitCode = p.exitValue();
    r.collect();
    r.assertClean();
  }

  /**
   * A hostile environment (RELIABILITY.md): missing tools, an unwritable termination log, libvirt
   * restarting, the domain vanishing, virsh hanging. The monitor never blocks or fails the
   * launcher: it always exits 0, in bounded time, with nothing left behind.
   */
  @Nested
  class Hostile {
    /** The reboot every case tries to get recorded. */
    Run rebootScript(Run r) throws IOException {
      return r.lifecycle(STARTED, "await shutdown-sent", STOPPED)
          .qemu(
              "await applied",
              shutdown("1795599736.260076", true, "guest-reset"),
              shutdown("1795599736.262072", false, "host-signal"),
              "touch shutdown-sent");
    }

    @Test
    void noCoreutilsOnThePath() throws Exception {
      Run r = rebootScript(run());
      Path bin = Files.createDirectories(r.dir.resolve("bash-only"));
      Files.createSymbolicLink(bin.resolve("bash"), Path.of("/bin/bash"));
      r.env.put("FAKE_VIRSH_PATH", System.getenv("PATH"));
      r.env.put("PATH", bin.toString());
      r.command.set(0, "/bin/bash");
      r.go(Duration.ofSeconds(10));
      assertThat(r.errors()).isEmpty();
      assertThat(TerminationMessages.parse(Files.readString(r.terminationLog)))
          .isEqualTo(ShutdownReason.GUEST_RESET);
    }

    @Test
    void terminationLogOnAFullDisk() throws Exception {
      Run r = rebootScript(run());
      r.env.put("VMPOWER_TERMINATION_LOG", "/dev/full");
      r.go(Duration.ofSeconds(10));
      assertThat(r.calls("qemu-monitor-command")).hasSize(1);
      assertThat(r.errors()).containsExactly("cannot write termination log /dev/full");
      assertThat(r.infos()).contains("set-action reboot=shutdown applied", "domain stopped");
    }

    @Test
    void terminationLogIsADirectory() throws Exception {
      Run r = rebootScript(run());
      Path dir = Files.createDirectories(r.dir.resolve("a-directory"));
      r.env.put("VMPOWER_TERMINATION_LOG", dir.toString());
      r.go(Duration.ofSeconds(10));
      assertThat(r.errors()).containsExactly("cannot write termination log " + dir);
      assertThat(r.infos()).contains("domain stopped");
    }

    @Test
    void terminationLogReadOnlyForTheLauncherUser() throws Exception {
      Run r = rebootScript(run());
      Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rwxr-xr-x"));
      Files.setPosixFilePermissions(r.dir, PosixFilePermissions.fromString("rwxrwxrwx"));
      Files.writeString(r.terminationLog, "");
      Files.setPosixFilePermissions(r.terminationLog, PosixFilePermissions.fromString("r--r--r--"));
      // uid 107, KubeVirt's qemu user, against a root-owned read-only file
      r.command.addAll(0, List.of("setpriv", "--reuid=107", "--regid=107", "--clear-groups"));
      r.go(Duration.ofSeconds(10));
      assertThat(r.errors()).containsExactly("cannot write termination log " + r.terminationLog);
      assertThat(Files.readString(r.terminationLog)).isEmpty();
      assertThat(r.infos()).contains("set-action reboot=shutdown applied", "domain stopped");
    }

    @Test
    void libvirtRestartsBeforeTheDomainStarts() throws Exception {
      Run r =
          run()
              .lifecycle("crash-once lifecycle-crashed", STARTED, "await shutdown-sent", STOPPED)
              .qemu(
                  "crash-once qemu-crashed",
                  "await applied",
                  shutdown("1795599736.1", true, "guest-reset"),
                  "touch shutdown-sent");
      r.go(Duration.ofSeconds(10));
      assertThat(r.calls("event")).hasSize(2);
      assertThat(r.calls("qemu-monitor-command")).hasSize(1);
      assertThat(TerminationMessages.parse(Files.readString(r.terminationLog)))
          .isEqualTo(ShutdownReason.GUEST_RESET);
    }

    /** Regression: the monitor used to give up here, and the reboot went unrecorded. */
    @Test
    void libvirtRestartsWhileTheDomainRuns() throws Exception {
      Run r =
          run()
              .file("domstate", "running")
              .lifecycle(
                  STARTED,
                  "await applied",
                  "crash-once lifecycle-crashed",
                  "await shutdown-sent",
                  STOPPED)
              .qemu(
                  "await applied",
                  "pause 0.2",
                  "emit error: Disconnected from hypervisor",
                  "crash-once qemu-crashed",
                  shutdown("1795599736.1", true, "guest-reset"),
                  shutdown("1795599736.2", false, "host-signal"),
                  "touch shutdown-sent");
      r.go(Duration.ofSeconds(12));
      assertThat(r.calls("event")).hasSize(2);
      assertThat(r.calls("qemu-monitor-command")).as("set-action lives in QEMU").hasSize(1);
      assertThat(r.errors()).containsExactly("libvirt event stream ended; reconnecting");
      assertThat(r.infos()).contains("reconnected to libvirt", "SHUTDOWN event recorded");
      assertThat(TerminationMessages.parse(Files.readString(r.terminationLog)))
          .isEqualTo(ShutdownReason.GUEST_RESET);
    }

    @Test
    void libvirtDoesNotComeBack() throws Exception {
      Run r =
          run()
              .file("domstate", "running")
              .lifecycle(STARTED, "await applied", "write connect-fails always", "exit 1")
              .qemu("await applied", "pause 0.1", "exit 1");
      r.env.put("VMPOWER_RECONNECT_SECONDS", "3");
      r.go(Duration.ofSeconds(12));
      assertThat(r.elapsed).isBetween(Duration.ofSeconds(3), Duration.ofSeconds(8));
      assertThat(r.errors())
          .containsExactly(
              "libvirt event stream ended; reconnecting",
              "libvirt did not come back within 3s; giving up");
    }

    @Test
    void domainVanishesMidStream() throws Exception {
      Run r =
          run()
              .file("domstate", "running")
              .lifecycle(STARTED, "await applied", "pause 0.2", "touch vanished", "exit 1")
              .qemu(
                  "await applied",
                  "emit-partial event SHUTDOWN at 1795599736.1 for domain 'default_te",
                  "exit 1");
      r.env.put("FAKE_DOMSTATE_GONE_WHEN", "vanished");
      r.go(Duration.ofSeconds(10));
      assertThat(r.elapsed).isLessThan(Duration.ofSeconds(7));
      assertThat(r.infos()).contains("domain gone while reconnecting");
      assertThat(r.terminationLog).as("a cut line is not a record").doesNotExist();
    }

    /** Regression: a hanging qemu-monitor-command used to stop the monitor for good. */
    @Test
    void virshHangingOnOneShotCommands() throws Exception {
      Run r = rebootScript(run());
      r.env.put("FAKE_VIRSH_HANG", "qemu-monitor-command,domstate");
      r.env.put("VMPOWER_VIRSH_TIMEOUT_SECONDS", "2");
      // qemu events wait for the attempt, not for success
      r.qemu(
          "await set-action-tried",
          shutdown("1795599736.1", true, "guest-shutdown"),
          "touch shutdown-sent");
      r.lifecycle(STARTED, "pause 2.5", "touch set-action-tried", "await shutdown-sent", STOPPED);
      r.go(Duration.ofSeconds(15));
      assertThat(r.errors())
          .containsExactly("set-action reboot=shutdown failed; guest reboots stay in place");
      assertThat(TerminationMessages.parse(Files.readString(r.terminationLog)))
          .isEqualTo(ShutdownReason.GUEST_SHUTDOWN);
    }

    /**
     * The injected hook under all of it at once: it returns at once with exit 0 and nothing holding
     * its output, and the monitor it leaves ends with the container.
     */
    @Test
    void theHookIsNeverHeldUp() throws Exception {
      Run r = run();
      r.env.put("FAKE_VIRSH_HANG", "qemu-monitor-command,domstate");
      r.env.put("VMPOWER_VIRSH_TIMEOUT_SECONDS", "1");
      r.env.put("PATH", r.dir.resolve("bin") + ":" + System.getenv("PATH"));
      Path launcher = r.dir.resolve("bin/virt-launcher-monitor");
      Files.writeString(launcher, "#!/bin/bash\necho \"launcher $*\"\nsleep 2\nexit 42\n");
      launcher.toFile().setExecutable(true, false);
      List<String> argv = new ArrayList<>(LAUNCHER_ARGV);
      argv.set(0, launcher.toString());
      var compute =
          MonitorProcesses.JSON
              .createObjectNode()
              .put("name", "compute")
              .put("terminationMessagePath", "/dev/full");
      Map<String, String> env = new HashMap<>(r.env);
      env.remove("VMPOWER_TERMINATION_LOG");
      Path stdout = r.dir.resolve("container.stdout");
      long t0 = System.nanoTime();
      List<Long> left;
      String leftBehind;
      try (ContainerStandIn container =
          ContainerStandIn.start(argv, Map.of(), stdout, r.dir.resolve("container.stderr"))) {
        ContainerStandIn.Exec hook =
            container.exec(
                PodMutator.withBundledMonitor().hookCommand(compute, argv), env, Optional.empty());
        assertThat(hook.exit()).isZero();
        assertThat(hook.output()).isEmpty();
        assertThat(hook.untilOutputClosed()).isLessThan(Duration.ofSeconds(2));
        assertThat(container.awaitExit(Duration.ofSeconds(8))).isEqualTo(42);
        assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofSeconds(6));
        assertThat(Files.readString(stdout))
            .startsWith("launcher --qemu-timeout 301s --name testvm");
        // the launcher, PID 1, ended: the kernel ends the monitor and its listeners with it
        left = lingering(r.dir.toString(), Duration.ofSeconds(2));
        leftBehind = describe(left);
      } finally {
        // nothing may outlive the test: other runs (the libvirt IT) count monitor processes
        for (int i = 0;
            i < 5 && !MonitorProcesses.processesMentioning(r.dir.toString()).isEmpty();
            i++) {
          r.killMarked();
          Thread.sleep(200);
        }
      }
      assertThat(left).as("left behind:%n%s", leftBehind).isEmpty();
      List<JsonNode> records =
          logRecords(Files.readString(r.dir.resolve("container.stderr")), DOMAIN);
      assertThat(messages(records, "info")).contains("domain monitor started");
    }
  }
}
