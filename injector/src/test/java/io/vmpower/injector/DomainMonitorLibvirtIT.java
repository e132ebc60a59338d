package io.vmpower.injector;

import static io.vmpower.injector.MonitorProcesses.describe;
import static io.vmpower.injector.MonitorProcesses.logRecords;
import static io.vmpower.injector.MonitorProcesses.messages;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.vmpower.api.termination.ShutdownReason;
import io.vmpower.api.termination.TerminationMessages;
import java.io.BufferedReader;
import java.io.File;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * The monitor against a real libvirt daemon and real QEMU (TCG), with busybox guests that reboot,
 * power off, wait for the ACPI power button, panic or starve their watchdog. Every way of stopping
 * QEMU can produce here (issue 14) is checked for the record the monitor writes and the reason the
 * api module's parser reads from it. Starts its own daemons: a root one ({@code qemu:///system})
 * and a session one running as the unprivileged {@code libvirt-qemu} user behind a socket URI, like
 * virt-launcher's non-root virtqemud.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class DomainMonitorLibvirtIT {
  static final String NAMESPACE = "vmpower-it";
  static final String SESSION_USER = "libvirt-qemu";
  static final Pattern RESUME =
      Pattern.compile("^event RESUME at (\\d+)\\.(\\d+) for domain '([^']+)'");
  static final AtomicInteger COUNTER = new AtomicInteger();

  static Path base;
  static Path kernel;
  static Daemon system;
  static Daemon session;
  static final List<Daemon> started = new ArrayList<>();
  static final List<Process> live = new ArrayList<>();
  static final List<ContainerStandIn> containers = new ArrayList<>();

  /** A libvirt daemon: its URI, the user its clients run as, and its pid if we started it. */
  record Daemon(String uri, String user, String pid, boolean ours, Path home) {
    List<String> asUser(List<String> command) {
      if (user.equals("root")) {
        return command;
      }
      List<String> c =
          new ArrayList<>(
              List.of(
                  "setpriv",
                  "--reuid=" + SESSION_USER,
                  "--regid=" + SESSION_USER,
                  "--clear-groups",
                  "env",
                  "HOME=" + home));
      c.addAll(command);
      return c;
    }
  }

  record Exec(int exit, String output) {}

  static Exec exec(List<String> command, Duration limit) throws Exception {
    Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
    p.getOutputStream().close();
    CompletableFuture<String> out =
        CompletableFuture.supplyAsync(
            () -> {
              try {
                return new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
              } catch (IOException e) {
                return e.toString();
              }
            });
    if (!p.waitFor(limit.toMillis(), TimeUnit.MILLISECONDS)) {
      p.descendants().forEach(ProcessHandle::destroyForcibly);
      p.destroyForcibly();
      throw new AssertionError("timed out: " + command);
    }
    return new Exec(p.exitValue(), out.get(5, TimeUnit.SECONDS));
  }

  static String helper(String name) {
    return MonitorProcesses.libvirtHelpers().resolve(name).toString();
  }

  @BeforeAll
  static void setUp() throws Exception {
    kernel = EnsurePackages.kernel();
    Runtime.getRuntime().addShutdownHook(new Thread(DomainMonitorLibvirtIT::stopAll));
    // short: the session daemon's QEMU monitor socket lives below it (108-byte limit)
    base = Files.createTempDirectory(Path.of("/tmp"), "vmp");
    Files.setPosixFilePermissions(base, PosixFilePermissions.fromString("rwxr-xr-x"));
    // Readable by the unprivileged session daemon too (the cache lives under /root).
    Files.copy(kernel, base.resolve("vmlinuz"), StandardCopyOption.REPLACE_EXISTING);
    Path modules = kernel.resolveSibling("guest-modules");
    for (String action : List.of("reboot", "poweroff", "acpi", "panic", "watchdog")) {
      Exec g =
          exec(
              List.of(
                  "bash",
                  helper("make-guest.sh"),
                  base.resolve(action + ".img").toString(),
                  action,
                  modules.toString()),
              Duration.ofMinutes(1));
      assertThat(g.exit()).as(g.output()).isZero();
    }
    Exec up = exec(List.of("bash", helper("libvirtd-ctl.sh"), "up-system"), Duration.ofMinutes(1));
    assertThat(up.exit()).as(up.output()).isZero();
    String[] words = up.output().strip().split("\\s+");
    system =
        new Daemon(
            "qemu:///system",
            "root",
            words[words.length - 1],
            words[words.length - 2].equals("started"),
            null);
    if (system.ours()) {
      started.add(system);
    }
    Path sessionDir = base.resolve("s");
    Files.createDirectories(sessionDir);
    Exec s =
        exec(
            List.of(
                "bash",
                helper("libvirtd-ctl.sh"),
                "up-session",
                sessionDir.toString(),
                SESSION_USER),
            Duration.ofMinutes(1));
    assertThat(s.exit()).as(s.output()).isZero();
    String[] sw = s.output().strip().split("\\s+");
    session =
        new Daemon(
            "qemu+unix:///session?socket=" + sessionDir.resolve("run/libvirt/libvirt-sock"),
            SESSION_USER,
            sw[sw.length - 1],
            true,
            sessionDir.resolve("home"));
    started.add(session);
  }

  @AfterEach
  void killLeftovers() {
    synchronized (containers) {
      containers.forEach(ContainerStandIn::close);
      containers.clear();
    }
    synchronized (live) {
      for (Process p : live) {
        p.descendants().forEach(ProcessHandle::destroyForcibly);
        p.destroyForcibly();
      }
      live.clear();
    }
    for (Daemon d : new Daemon[] {system, session}) {
      if (d != null) {
        destroyTestDomains(d);
      }
    }
  }

  static void destroyTestDomains(Daemon d) {
    try {
      Exec list =
          exec(d.asUser(List.of("virsh", "-c", d.uri(), "list", "--name")), Duration.ofSeconds(20));
      for (String dom : list.output().split("\n")) {
        if (dom.startsWith(NAMESPACE)) {
          exec(
              d.asUser(List.of("virsh", "-c", d.uri(), "destroy", dom.strip())),
              Duration.ofSeconds(20));
        }
      }
    } catch (Exception | AssertionError e) {
      System.err.println("cleanup: " + e);
    }
  }

  @AfterAll
  static void tearDown() throws Exception {
    stopAll();
    if (base != null && !Boolean.getBoolean("vmpower.keep")) {
      try (var files = Files.walk(base)) {
        files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
      }
    }
    // no QEMU of ours may survive
    List<Long> qemu = MonitorProcesses.lingering("guest=" + NAMESPACE, Duration.ofSeconds(10));
    assertThat(qemu).as(describe(qemu)).isEmpty();
  }

  static synchronized void stopAll() {
    for (Daemon d : started) {
      try {
        exec(
            List.of("bash", helper("libvirtd-ctl.sh"), "down", d.uri(), d.pid(), d.user()),
            Duration.ofSeconds(60));
      } catch (Exception | AssertionError e) {
        System.err.println("stopping " + d + ": " + e);
      }
    }
    started.clear();
    for (long pid : MonitorProcesses.processesMentioning("guest=" + NAMESPACE)) {
      ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly);
    }
  }

  static Process start(ProcessBuilder pb) throws IOException {
    Process p = pb.start();
    synchronized (live) {
      live.add(p);
    }
    return p;
  }

  /** What one guest boot left behind. */
  record Boot(
      String domain,
      Path dir,
      Integer monitorExit,
      String monitorStderr,
      String terminationLog,
      String console,
      boolean domainGone,
      Instant createStart,
      Instant resumed,
      Instant applied,
      String trigger) {

    List<JsonNode> records() {
      return logRecords(monitorStderr, domain);
    }

    long windowMillis() {
      return Duration.between(resumed, applied).toMillis();
    }

    int boots() {
      return console.split("vmpower-guest-up", -1).length - 1;
    }

    List<String> recorded() throws IOException {
      return MonitorProcesses.recordedEvents(terminationLog);
    }
  }

  /**
   * A guest and how it is ended: the initramfs ({@code make-guest.sh} action), extra devices,
   * libvirt's {@code <on_reboot>}, and a virsh command run once the guest says it is ready.
   */
  record Scenario(String image, String devices, String onReboot, List<String> hostAction) {
    static Scenario guest(String image) {
      return new Scenario(image, "", "restart", List.of());
    }

    Scenario devices(String xml) {
      return new Scenario(image, xml, onReboot, hostAction);
    }

    Scenario onReboot(String action) {
      return new Scenario(image, devices, action, hostAction);
    }

    /** {@code virsh <command...> <domain>} once "vmpower-guest-ready" is on the console. */
    Scenario then(String... virsh) {
      return new Scenario(image, devices, onReboot, List.of(virsh));
    }
  }

  enum Start {
    /** monitor first, domain 1.5 s later: caught by the lifecycle event */
    MONITOR_FIRST,
    /** domain created paused first, then the monitor: caught by its look after arming */
    DOMAIN_FIRST,
    /** no monitor at all: the control */
    NO_MONITOR,
    /**
     * as in a pod: the injector's postStart hook exec'd into a container stand-in whose PID 1 is
     * the launcher (a stand-in), domain 1.5 s later
     */
    HOOK
  }

  static String domainXml(String domain, Scenario scenario, Path console) {
    return """
        <domain type='qemu'>
          <name>%s</name>
          <memory unit='MiB'>128</memory>
          <vcpu>1</vcpu>
          <os>
            <type arch='x86_64' machine='pc'>hvm</type>
            <kernel>%s</kernel>
            <initrd>%s</initrd>
            <cmdline>console=ttyS0 quiet panic=-1</cmdline>
          </os>
          <features><acpi/></features>
          <on_reboot>%s</on_reboot>
          <devices>
            <serial type='file'><source path='%s'/><target port='0'/></serial>
            <memballoon model='none'/>
            %s
          </devices>
        </domain>
        """
        .formatted(
            domain,
            base.resolve("vmlinuz"),
            base.resolve(scenario.image() + ".img"),
            scenario.onReboot(),
            console,
            scenario.devices());
  }

  static Boot boot(Daemon d, String action, Start how) throws Exception {
    return boot(d, Scenario.guest(action), how);
  }

  static Boot boot(Daemon d, Scenario scenario, Start how) throws Exception {
    String name = scenario.image() + "-" + COUNTER.incrementAndGet();
    String domain = NAMESPACE + "_" + name;
    Path dir = base.resolve(name);
    Files.createDirectories(dir);
    Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxrwxrwx"));
    Path console = dir.resolve("console.log");
    Path xml = dir.resolve("domain.xml");
    Files.writeString(xml, domainXml(domain, scenario, console));
    Path termination = dir.resolve("termination-log");
    Path stderr = dir.resolve("monitor.stderr");

    // QEMU's own RESUME timestamp: the moment the guest CPUs start running.
    Process resumeListener =
        start(
            new ProcessBuilder(
                    d.asUser(
                        List.of(
                            "virsh",
                            "-c",
                            d.uri(),
                            "qemu-monitor-event",
                            "--loop",
                            "--event",
                            "RESUME")))
                .redirectErrorStream(true));
    CompletableFuture<Instant> resumed = new CompletableFuture<>();
    Thread reader =
        new Thread(
            () -> {
              try (BufferedReader r =
                  new BufferedReader(
                      new InputStreamReader(
                          resumeListener.getInputStream(), StandardCharsets.UTF_8))) {
                for (String line; (line = r.readLine()) != null; ) {
                  Matcher m = RESUME.matcher(line);
                  if (m.find() && m.group(3).equals(domain) && !resumed.isDone()) {
                    long micros = Long.parseLong((m.group(2) + "000000").substring(0, 6));
                    resumed.complete(
                        Instant.ofEpochSecond(Long.parseLong(m.group(1)), micros * 1000));
                  }
                }
              } catch (IOException e) {
                // listener stopped
              }
            });
    reader.setDaemon(true);
    reader.start();
    Thread.sleep(300);

    List<String> create =
        new ArrayList<>(List.of("virsh", "-c", d.uri(), "create", xml.toString()));
    if (how == Start.DOMAIN_FIRST) {
      create.add("--paused");
      Exec c = exec(d.asUser(create), Duration.ofSeconds(60));
      assertThat(c.exit()).as(c.output()).isZero();
    }

    Process monitor = null;
    ContainerStandIn container = null;
    if (how == Start.HOOK) {
      container = startByHook(d, name, dir, termination, stderr);
    } else if (how != Start.NO_MONITOR) {
      List<String> cmd =
          new ArrayList<>(
              List.of(
                  "bash",
                  "-c",
                  DomainMonitorScript.text(),
                  "vmpower-domain-monitor",
                  "/usr/bin/virt-launcher-monitor",
                  "--qemu-timeout",
                  "301s",
                  "--name",
                  name,
                  "--uid",
                  "b1e7a2c4",
                  "--namespace",
                  NAMESPACE,
                  "--kubevirt-share-dir",
                  "/var/run/kubevirt"));
      ProcessBuilder pb = new ProcessBuilder(d.asUser(cmd));
      pb.environment().put("VMPOWER_TERMINATION_LOG", termination.toString());
      pb.environment().put("VMPOWER_DEADLINE_SECONDS", "120");
      if (!d.user().equals("root")) {
        pb.environment().put("VMPOWER_LIBVIRT_URI", d.uri());
      }
      pb.redirectInput(new File("/dev/null"));
      pb.redirectOutput(dir.resolve("monitor.stdout").toFile());
      pb.redirectError(stderr.toFile());
      monitor = start(pb);
    }

    Instant createStart = Instant.now();
    if (how == Start.DOMAIN_FIRST) {
      Thread.sleep(1500);
      Exec r =
          exec(d.asUser(List.of("virsh", "-c", d.uri(), "resume", domain)), Duration.ofSeconds(30));
      assertThat(r.exit()).as(r.output()).isZero();
    } else {
      // past the monitor's one look after arming, so the lifecycle event is what triggers it
      Thread.sleep(1500);
      createStart = Instant.now();
      Exec c = exec(d.asUser(create), Duration.ofSeconds(60));
      assertThat(c.exit()).as(c.output()).isZero();
    }

    if (!scenario.hostAction().isEmpty()) {
      waitForConsole(console, "vmpower-guest-ready", Duration.ofSeconds(90));
      List<String> virsh = new ArrayList<>(List.of("virsh", "-c", d.uri()));
      virsh.addAll(scenario.hostAction());
      virsh.add(domain);
      Exec act = exec(d.asUser(virsh), Duration.ofSeconds(30));
      assertThat(act.exit()).as("%s: %s", virsh, act.output()).isZero();
    }

    Integer exit = -1;
    if (container != null) {
      // the monitor is PID 1's now, not ours: its exit code is not seen, its end is
      String ours = "VMPOWER_TERMINATION_LOG=" + termination;
      List<Long> monitors =
          MonitorProcesses.lingering("vmpower-domain-monitor", ours, Duration.ofSeconds(90));
      assertThat(monitors)
          .as("monitor still running; log:%n%s", Files.readString(stderr))
          .isEmpty();
      exit = null;
      assertThat(container.running()).as("the launcher outlives the monitor").isTrue();
      container.terminate();
      assertThat(container.awaitExit(Duration.ofSeconds(10))).isZero();
      container.close();
    } else if (monitor != null) {
      assertThat(monitor.waitFor(90, TimeUnit.SECONDS))
          .as("monitor still running; stderr:%n%s", Files.readString(stderr))
          .isTrue();
      exit = monitor.exitValue();
      assertThat(Files.readString(dir.resolve("monitor.stdout"))).as("monitor stdout").isEmpty();
      // this run's listeners only (they inherit its termination log path): other builds on the
      // machine run monitors too
      String ours = "VMPOWER_TERMINATION_LOG=" + termination;
      List<Long> listeners =
          MonitorProcesses.lingering("event --loop --event lifecycle", ours, Duration.ofSeconds(1));
      listeners.addAll(
          MonitorProcesses.lingering("qemu-monitor-event --loop", ours, Duration.ofSeconds(1)));
      assertThat(listeners).as("listeners left behind:%n%s", describe(listeners)).isEmpty();
    } else {
      // without the monitor: wait for a second boot on the console, or for QEMU to end
      long end = System.nanoTime() + Duration.ofSeconds(60).toNanos();
      for (int i = 0;
          System.nanoTime() < end
              && (!Files.exists(console)
                  || Files.readString(console).split("vmpower-guest-up", -1).length < 3);
          i++) {
        if (i % 5 == 4 && !domainExists(d, domain)) {
          break;
        }
        Thread.sleep(200);
      }
    }
    Exec state =
        exec(d.asUser(List.of("virsh", "-c", d.uri(), "domstate", domain)), Duration.ofSeconds(20));
    resumeListener.descendants().forEach(ProcessHandle::destroy);
    resumeListener.destroy();
    resumeListener.waitFor(5, TimeUnit.SECONDS);

    String stderrText = Files.exists(stderr) ? Files.readString(stderr) : "";
    Instant applied = null;
    String trigger = null;
    for (JsonNode n : logRecords(stderrText, domain)) {
      if (n.path("msg").asText().equals("set-action reboot=shutdown applied")) {
        applied = Instant.parse(n.path("ts").asText());
        trigger = n.path("trigger").asText();
      }
    }
    return new Boot(
        domain,
        dir,
        exit,
        stderrText,
        Files.exists(termination) ? Files.readString(termination) : "",
        Files.exists(console) ? Files.readString(console) : "",
        state.exit() != 0,
        createStart,
        resumed.isDone() ? resumed.get() : null,
        applied,
        trigger);
  }

  /**
   * The monitor as a pod starts it: the pod injector's postStart hook for a compute container with
   * this termination log, exec'd as the daemon's user into a container stand-in whose PID 1 (a
   * waiting launcher, root) has {@code stderr} as its stderr. A root monitor logs there; the
   * session user's may not open it and logs to the hook's file, here {@code stderr} too.
   */
  static ContainerStandIn startByHook(
      Daemon d, String name, Path dir, Path termination, Path stderr) throws Exception {
    Path launcher = dir.resolve("virt-launcher-monitor");
    Files.writeString(launcher, "#!/bin/bash\ntrap 'exit 0' TERM\nwhile :; do sleep 0.1; done\n");
    Files.setPosixFilePermissions(launcher, PosixFilePermissions.fromString("rwxr-xr-x"));
    List<String> argv =
        List.of(
            launcher.toString(),
            "--qemu-timeout",
            "301s",
            "--name",
            name,
            "--uid",
            "b1e7a2c4",
            "--namespace",
            NAMESPACE,
            "--kubevirt-share-dir",
            "/var/run/kubevirt");
    boolean root = d.user().equals("root");
    ContainerStandIn container =
        start(
            argv, dir.resolve("container.stdout"), root ? stderr : dir.resolve("container.stderr"));
    var compute =
        MonitorProcesses.JSON
            .createObjectNode()
            .put("name", "compute")
            .put("terminationMessagePath", termination.toString());
    List<String> hook = new ArrayList<>(PodMutator.withBundledMonitor().hookCommand(compute, argv));
    // the launcher's private emptyDir is this boot's directory
    hook.set(2, hook.get(2).replace(MonitorHook.LOG_FILE, stderr.toString()));
    Map<String, String> env = new HashMap<>();
    env.put("VMPOWER_DEADLINE_SECONDS", "120");
    if (!root) {
      env.put("VMPOWER_LIBVIRT_URI", d.uri());
      env.put("HOME", d.home().toString());
    }
    ContainerStandIn.Exec exec =
        container.exec(hook, env, root ? Optional.empty() : Optional.of(SESSION_USER));
    assertThat(exec.exit()).as(exec.output()).isZero();
    assertThat(exec.untilOutputClosed()).isLessThan(Duration.ofSeconds(2));
    return container;
  }

  static ContainerStandIn start(List<String> argv, Path stdout, Path stderr) throws IOException {
    ContainerStandIn container = ContainerStandIn.start(argv, Map.of(), stdout, stderr);
    synchronized (containers) {
      containers.add(container);
    }
    return container;
  }

  static void waitForConsole(Path console, String marker, Duration limit) throws Exception {
    long end = System.nanoTime() + limit.toNanos();
    while (!Files.exists(console) || !Files.readString(console).contains(marker)) {
      if (System.nanoTime() > end) {
        throw new AssertionError(
            "no "
                + marker
                + " on the console; console:\n"
                + (Files.exists(console) ? Files.readString(console) : ""));
      }
      Thread.sleep(100);
    }
  }

  /** True while libvirt knows the domain; false once it says it does not. */
  static boolean domainExists(Daemon d, String domain) throws Exception {
    Exec state =
        exec(d.asUser(List.of("virsh", "-c", d.uri(), "domstate", domain)), Duration.ofSeconds(20));
    if (state.exit() == 0) {
      return true;
    }
    assertThat(state.output()).containsAnyOf("failed to get domain", "Domain not found");
    return false;
  }

  /**
   * QEMU ended after one boot, the monitor was clean, the record starts with {@code events}
   * (compact form, see {@link MonitorProcesses#recordedEvents}) and parses as {@code parsed}.
   */
  static void assertRecorded(Boot b, List<String> events, ShutdownReason parsed) throws Exception {
    if (b.monitorExit() != null) { // started by the hook, its exit code is PID 1's to see
      assertThat(b.monitorExit()).as(b.monitorStderr()).isZero();
    }
    assertThat(messages(b.records(), "error")).as(b.monitorStderr()).isEmpty();
    assertThat(b.applied()).as("set-action applied; stderr:%n%s", b.monitorStderr()).isNotNull();
    assertThat(b.domainGone()).as("QEMU exited, the transient domain is gone").isTrue();
    assertThat(b.boots()).as("booted exactly once, console:%n%s", b.console()).isEqualTo(1);
    assertThat(b.terminationLog().getBytes(StandardCharsets.UTF_8).length)
        .isLessThanOrEqualTo(4096);
    List<String> recorded = b.recorded();
    System.out.printf("%s: recorded %s%n", b.domain(), recorded);
    assertThat(recorded).as(b.terminationLog()).startsWith(events.toArray(String[]::new));
    ShutdownReason reason = TerminationMessages.parse(b.terminationLog());
    assertThat(reason).as(b.terminationLog()).isEqualTo(parsed);
  }

  static void assertEndedBy(Boot b, String reason, ShutdownReason parsed) throws Exception {
    if (b.monitorExit() != null) { // started by the hook, its exit code is PID 1's to see
      assertThat(b.monitorExit()).as(b.monitorStderr()).isZero();
    }
    assertThat(messages(b.records(), "error")).as(b.monitorStderr()).isEmpty();
    assertThat(b.applied()).as("set-action applied; stderr:%n%s", b.monitorStderr()).isNotNull();
    assertThat(b.domainGone()).as("QEMU exited, the transient domain is gone").isTrue();
    assertThat(b.boots()).as("booted exactly once, console:%n%s", b.console()).isEqualTo(1);
    List<String> lines = b.terminationLog().lines().toList();
    assertThat(lines).as(b.terminationLog()).isNotEmpty();
    JsonNode first = MonitorProcesses.JSON.readTree(lines.get(0));
    // the whole record and the monitor's log when the first line is not the guest's own event
    String record = b.terminationLog() + "\nmonitor log:\n" + b.monitorStderr();
    assertThat(first.path("source").asText()).as(record).isEqualTo("vmpower");
    assertThat(first.path("guest").asBoolean()).as(record).isTrue();
    assertThat(first.path("reason").asText()).as(record).isEqualTo(reason);
    assertThat(first.path("timestamp").asText()).matches(MonitorProcesses.ISO_MILLIS);
    assertThat(b.terminationLog().getBytes(StandardCharsets.UTF_8).length)
        .isLessThanOrEqualTo(4096);
    assertThat(TerminationMessages.parse(b.terminationLog())).isEqualTo(parsed);
  }

  @Test
  @Order(1)
  void withoutTheMonitorAGuestRebootStaysInPlace() throws Exception {
    Boot b = boot(system, "reboot", Start.NO_MONITOR);
    assertThat(b.boots()).as(b.console()).isGreaterThanOrEqualTo(2);
    assertThat(b.domainGone()).as("still running after the guest rebooted").isFalse();
  }

  @Test
  @Order(2)
  void rootGuestRebootEndsQemuWithGuestReset() throws Exception {
    Boot b = boot(system, "reboot", Start.MONITOR_FIRST);
    assertEndedBy(b, "guest-reset", ShutdownReason.GUEST_RESET);
    assertThat(b.records().get(0).path("uri").asText()).isEqualTo("qemu:///system");
    assertThat(b.trigger()).startsWith("event ");
  }

  @Test
  @Order(3)
  void rootGuestPoweroffIsRecordedAsGuestShutdown() throws Exception {
    Boot b = boot(system, "poweroff", Start.MONITOR_FIRST);
    assertEndedBy(b, "guest-shutdown", ShutdownReason.GUEST_SHUTDOWN);
    assertThat(b.trigger()).startsWith("event ");
  }

  @Test
  @Order(4)
  void domainThatExistsBeforeTheMonitorIsCaughtToo() throws Exception {
    Boot b = boot(system, "reboot", Start.DOMAIN_FIRST);
    assertEndedBy(b, "guest-reset", ShutdownReason.GUEST_RESET);
    assertThat(b.trigger()).isEqualTo("domstate paused");
  }

  @Test
  @Order(5)
  void nonRootSessionDaemonBehindASocketUri() throws Exception {
    Boot reboot = boot(session, "reboot", Start.MONITOR_FIRST);
    assertEndedBy(reboot, "guest-reset", ShutdownReason.GUEST_RESET);
    assertThat(reboot.records().get(0).path("uri").asText()).isEqualTo(session.uri());
    Boot poweroff = boot(session, "poweroff", Start.MONITOR_FIRST);
    assertEndedBy(poweroff, "guest-shutdown", ShutdownReason.GUEST_SHUTDOWN);
  }

  /**
   * The monitor as the pod injector starts it: its postStart hook exec'd into a container whose PID
   * 1 is the launcher, against the root and the session daemon, as root and as the session's
   * unprivileged user (who may not open PID 1's stderr and logs to the file).
   */
  @Test
  @Order(5)
  void startedByThePostStartHookAsInAPod() throws Exception {
    Boot root = boot(system, "reboot", Start.HOOK);
    assertEndedBy(root, "guest-reset", ShutdownReason.GUEST_RESET);
    assertThat(root.records().get(0).path("log").asText()).isEqualTo("/proc/1/fd/2");
    assertThat(root.records().get(0).path("launcherPid").asInt()).isEqualTo(1);
    assertThat(root.trigger()).startsWith("event ");
    Boot user = boot(session, "reboot", Start.HOOK);
    assertEndedBy(user, "guest-reset", ShutdownReason.GUEST_RESET);
    assertThat(user.records().get(0).path("log").asText())
        .isEqualTo(user.dir().resolve("monitor.stderr").toString());
    assertThat(user.records().get(0).path("uri").asText()).isEqualTo(session.uri());
    assertThat(user.trigger()).startsWith("event ");
  }

  // --- issue 14: every way of stopping QEMU can produce here ------------------------------------

  /**
   * {@code virtctl reset} is QMP system_reset, as {@code virsh reset}: a reset, not a power-off.
   */
  @Test
  @Order(6)
  void hostResetIsRecordedAsAHostReset() throws Exception {
    Boot b = boot(system, Scenario.guest("acpi").then("reset"), Start.MONITOR_FIRST);
    assertRecorded(b, List.of("SHUTDOWN -host-qmp-system-reset"), ShutdownReason.HOST_RESET);
    assertThat(b.console()).doesNotContain("vmpower-power-button");
  }

  /**
   * {@code virtctl soft-reboot} without the guest agent is {@code virsh reboot --mode acpi}:
   * libvirt presses the power button, the guest powers off, libvirt resets it ("fake reboot"),
   * which set-action turns into a second SHUTDOWN.
   */
  @Test
  @Order(7)
  void acpiRebootWithoutAgentIsASoftReboot() throws Exception {
    Boot b =
        boot(system, Scenario.guest("acpi").then("reboot", "--mode", "acpi"), Start.MONITOR_FIRST);
    assertRecorded(
        b,
        List.of("SHUTDOWN +guest-shutdown", "SHUTDOWN -host-qmp-system-reset"),
        ShutdownReason.SOFT_REBOOT);
    assertThat(b.console()).contains("vmpower-power-button");
  }

  /**
   * A kernel panic with an ISA pvpanic device: QEMU pauses with GUEST_PANICKED, libvirt's default
   * on_crash (destroy) kills it, no SHUTDOWN follows.
   */
  @Test
  @Order(8)
  void guestPanicWithAPanicDevice() throws Exception {
    Boot b =
        boot(
            system,
            Scenario.guest("panic")
                .devices("<panic model='isa'><address type='isa' iobase='0x505'/></panic>"),
            Start.MONITOR_FIRST);
    assertRecorded(b, List.of("GUEST_PANICKED pause"), ShutdownReason.GUEST_PANIC);
    assertThat(b.recorded()).noneMatch(e -> e.startsWith("SHUTDOWN +"));
  }

  /** An i6300esb watchdog the guest stops feeding, action reset: WATCHDOG, then the reset. */
  @Test
  @Order(9)
  void watchdogResetIsRecordedAsTheWatchdog() throws Exception {
    Boot b =
        boot(
            system,
            Scenario.guest("watchdog").devices("<watchdog model='i6300esb' action='reset'/>"),
            Start.MONITOR_FIRST);
    assertRecorded(
        b, List.of("WATCHDOG reset", "SHUTDOWN +guest-reset"), ShutdownReason.WATCHDOG_RESET);
    assertThat(b.console()).contains("vmpower-guest-ready");
  }

  /**
   * {@code <on_reboot>destroy</on_reboot>} (KubeVirt's rebootPolicy Terminate): a reboot in the
   * guest ends QEMU as with set-action; an ACPI reboot (soft reboot without agent) becomes a plain
   * power-down in libvirt ({@code qemuDomainReboot}: isReboot false, no fake reboot) and records
   * exactly what a guest power-off records.
   */
  @Test
  @Order(10)
  void onRebootDestroy() throws Exception {
    Boot reboot = boot(system, Scenario.guest("reboot").onReboot("destroy"), Start.MONITOR_FIRST);
    assertRecorded(reboot, List.of("SHUTDOWN +guest-reset"), ShutdownReason.GUEST_RESET);

    Boot acpi =
        boot(
            system,
            Scenario.guest("acpi").onReboot("destroy").then("reboot", "--mode", "acpi"),
            Start.MONITOR_FIRST);
    assertRecorded(
        acpi,
        List.of("SHUTDOWN +guest-shutdown", "SHUTDOWN -host-signal"),
        ShutdownReason.GUEST_SHUTDOWN);
    assertThat(acpi.recorded()).doesNotContain("SHUTDOWN -host-qmp-system-reset");
    assertThat(acpi.console()).contains("vmpower-power-button");
  }

  /**
   * The reboot window: from QEMU's RESUME event (guest CPUs start) to the monitor's log line
   * written right after {@code virsh qemu-monitor-command set-action} returned success. 3 runs in
   * the normal IT run; {@code -Dvmpower.benchmark.runs=20} for the benchmark.
   */
  @Test
  @Order(12)
  void rebootWindow() throws Exception {
    int runs = Integer.getInteger("vmpower.benchmark.runs", 3);
    List<Long> windows = new ArrayList<>();
    List<Long> fromCreate = new ArrayList<>();
    StringBuilder report = new StringBuilder();
    for (int i = 0; i < runs; i++) {
      Boot b = boot(system, "reboot", Start.MONITOR_FIRST);
      assertEndedBy(b, "guest-reset", ShutdownReason.GUEST_RESET);
      assertThat(b.resumed()).as("RESUME event seen").isNotNull();
      windows.add(b.windowMillis());
      fromCreate.add(Duration.between(b.createStart(), b.applied()).toMillis());
      report.append(
          String.format(
              Locale.ROOT,
              "run %2d: window %4d ms (RESUME %s -> applied %s, trigger %s), virsh create -> applied %d ms%n",
              i + 1,
              b.windowMillis(),
              b.resumed(),
              b.applied(),
              b.trigger(),
              fromCreate.get(i)));
      killLeftovers();
    }
    List<Long> sorted = windows.stream().sorted().toList();
    long median =
        sorted.size() % 2 == 1
            ? sorted.get(sorted.size() / 2)
            : (sorted.get(sorted.size() / 2 - 1) + sorted.get(sorted.size() / 2)) / 2;
    long max = sorted.get(sorted.size() - 1);
    report.append(
        String.format(
            Locale.ROOT,
            "reboot window over %d runs: median %d ms, max %d ms, min %d ms%n",
            runs,
            median,
            max,
            sorted.get(0)));
    report.append(environment());
    System.out.println(report);
    Path out = MonitorProcesses.moduleDir().resolve("target/reboot-window.txt");
    Files.createDirectories(out.getParent());
    Files.writeString(out, report.toString());
    // the guest needs seconds to boot: a window this long would let a reboot slip through
    assertThat(max).as(report.toString()).isLessThan(3000);
    assertThat(sorted.get(0)).as(report.toString()).isGreaterThanOrEqualTo(0);
  }

  /**
   * The reboot window with {@code <on_reboot>destroy</on_reboot>}, no monitor: a system_reset
   * issued while the domain is still paused, before its first guest instruction, already ends QEMU
   * (libvirt applies set-action reboot=shutdown while QEMU waits in -S, before {@code cont}), so no
   * reboot can happen in place: window 0. The control, the same reset on a domain with {@code
   * restart}, resets in place. A guest reboot on such a domain ends QEMU after one boot.
   */
  @Test
  @Order(13)
  void nativeRebootPolicyWindow() throws Exception {
    int runs = Integer.getInteger("vmpower.benchmark.runs", 3);
    StringBuilder report = new StringBuilder();
    int endedAtOnce = 0;
    int resetInPlace = 0;
    for (int i = 0; i < runs; i++) {
      for (String onReboot : List.of("destroy", "restart")) {
        String name = "native-" + onReboot + "-" + COUNTER.incrementAndGet();
        String domain = NAMESPACE + "_" + name;
        Path dir = Files.createDirectories(base.resolve(name));
        Path xml = dir.resolve("domain.xml");
        Files.writeString(
            xml,
            domainXml(
                domain, Scenario.guest("reboot").onReboot(onReboot), dir.resolve("console.log")));
        long t0 = System.nanoTime();
        Exec c =
            exec(
                List.of("virsh", "-c", system.uri(), "create", xml.toString(), "--paused"),
                Duration.ofSeconds(60));
        long tCreated = System.nanoTime();
        assertThat(c.exit()).as(c.output()).isZero();
        Exec r =
            exec(List.of("virsh", "-c", system.uri(), "reset", domain), Duration.ofSeconds(30));
        // A reset turned into a shutdown ends QEMU within ~2 s here (libvirt sees SHUTDOWN, kills
        // it); the control waits 3 s for that not to happen, the destroy case up to 10 s.
        long end =
            System.nanoTime() + Duration.ofSeconds(onReboot.equals("destroy") ? 10 : 3).toNanos();
        boolean exists = true;
        while (exists && System.nanoTime() < end) {
          exists = domainExists(system, domain);
          if (exists) {
            Thread.sleep(100);
          }
        }
        String line =
            String.format(
                Locale.ROOT,
                "run %2d: on_reboot %-7s system_reset before the first instruction (%s) -> %s"
                    + " (create %d ms, reset and look %d ms)%n",
                i + 1,
                onReboot,
                r.output().strip(),
                exists ? "domain still there (reset in place)" : "QEMU ended",
                (tCreated - t0) / 1_000_000,
                (System.nanoTime() - tCreated) / 1_000_000);
        report.append(line);
        if (onReboot.equals("destroy")) {
          assertThat(exists).as(line).isFalse();
          endedAtOnce++;
        } else {
          assertThat(exists).as(line).isTrue();
          resetInPlace++;
        }
        killLeftovers();
      }
    }
    Boot reboot = boot(system, Scenario.guest("reboot").onReboot("destroy"), Start.NO_MONITOR);
    assertThat(reboot.domainGone()).as("a guest reboot ends QEMU").isTrue();
    assertThat(reboot.boots()).as(reboot.console()).isEqualTo(1);
    report.append(
        String.format(
            Locale.ROOT,
            "native rebootPolicy (on_reboot destroy), no monitor: window 0 ms: %d/%d resets before"
                + " the first guest instruction ended QEMU (control, on_reboot restart: %d/%d reset"
                + " in place); a guest reboot ended QEMU after %d boot%n",
            endedAtOnce,
            runs,
            resetInPlace,
            runs,
            reboot.boots()));
    report.append(environment());
    System.out.println(report);
    Path out = MonitorProcesses.moduleDir().resolve("target/reboot-window-native.txt");
    Files.createDirectories(out.getParent());
    Files.writeString(out, report.toString());
  }

  static String environment() throws Exception {
    StringBuilder sb = new StringBuilder();
    for (List<String> c :
        List.of(
            List.of("uname", "-srm"),
            List.of("nproc"),
            List.of("sh", "-c", "grep -m1 'model name' /proc/cpuinfo"),
            List.of("sh", "-c", "qemu-system-x86_64 --version | head -n1"),
            List.of("libvirtd", "--version"),
            List.of("virsh", "--version"),
            List.of("bash", "-c", "echo bash $BASH_VERSION"))) {
      sb.append(exec(c, Duration.ofSeconds(20)).output().strip()).append('\n');
    }
    return sb.toString();
  }
}
