package io.vmpower.bench.webhook;

import com.sun.management.OperatingSystemMXBean;
import io.vmpower.bench.Machine;
import io.vmpower.bench.Percentiles;
import io.vmpower.bench.ReviewBodies;
import io.vmpower.bench.ReviewBodies.Size;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import java.util.function.ToLongFunction;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import javax.net.ssl.SSLContext;

/**
 * The webhook under load over HTTPS with keep-alive, against the no-op endpoint of the same server
 * in the same run. Saturation: each connection sends its next request as soon as the previous
 * answer is in (closed loop). Fixed rate: requests are scheduled at fixed times (open loop) and
 * latency is measured from the scheduled time, so a slow answer also counts against the requests
 * queued behind it (no coordinated omission).
 */
public final class WebhookBenchmark {

  /** How long and how hard; {@code startOnly}: only start to ready, no load. */
  public record Settings(
      int connections,
      double warmupSeconds,
      double seconds,
      int rounds,
      int restarts,
      List<String> serverJvmOptions,
      boolean startOnly) {
    public static Settings smoke(List<String> jvm) {
      return new Settings(8, 1, 1, 1, 0, jvm, false);
    }

    public static Settings full(List<String> jvm) {
      return new Settings(8, 10, 5, 3, 5, jvm, false);
    }
  }

  record Target(String name, String path, byte[][] requests) {}

  record Run(
      Target target,
      String mode,
      double seconds,
      int count,
      int errors,
      Percentiles latency,
      Percentiles service,
      long serverCpu,
      long clientCpu,
      int handshakes) {
    double throughput() {
      return count / seconds;
    }
  }

  /**
   * The image's way to start, side by side with {@code java -jar}: {@code script} (the Dockerfile's
   * {@code prepare-cds.sh}) extracts the jar and makes a CDS archive in {@code dir}.
   */
  public record ImageStart(Path script, Path dir) {}

  private final Settings settings;
  private final Path jar;
  private final Path out;
  private final ImageStart imageStart;
  private final StringBuilder report = new StringBuilder();
  private final OperatingSystemMXBean os =
      (OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
  private long peakRssUnderLoad;

  public WebhookBenchmark(Settings settings, Path jar, Path out, ImageStart imageStart) {
    this.settings = settings;
    this.jar = jar;
    this.out = out;
    this.imageStart = imageStart;
  }

  public String run() throws Exception {
    Files.createDirectories(out);
    Path certDir = Files.createTempDirectory("vmpower-bench-certs");
    Path log = out.resolve("webhook-server.log");
    Files.deleteIfExists(log);
    line("## Webhook over HTTPS (keep-alive)");
    line("");
    line(Machine.describe());
    line("load average before: " + Machine.loadAverage());
    line(
        "server: java "
            + String.join(" ", settings.serverJvmOptions())
            + " -jar "
            + jar.getFileName()
            + "; client: "
            + settings.connections()
            + " keep-alive TLS connections (SSLSocket, TLS 1.3), same machine");
    long firstStart;
    try (ServerProcess server =
        ServerProcess.start(jar, settings.serverJvmOptions(), certDir, log)) {
      firstStart = server.readyMillis;
      line(
          "server pid "
              + server.pid()
              + ", ready "
              + firstStart
              + " ms after exec (first start: generates its CA and certificate)");
      line("RSS after start: " + server.rssMib() + " MiB");
      if (!settings.startOnly()) {
        load(server, certDir);
      }
    }
    startToReady(certDir, log, firstStart);
    line("load average after: " + Machine.loadAverage());
    String text = report.toString();
    Files.writeString(out.resolve("webhook.md"), text);
    return text;
  }

  /** Saturation and fixed rates against the running server, then the tables. */
  private void load(ServerProcess server, Path certDir) throws Exception {
    List<Run> runs = new ArrayList<>();
    SSLContext tls = HttpsConnection.trusting(certDir.resolve("ca.crt"));
    List<Target> targets = targets(server.port);
    for (Target t : targets) {
      check(tls, server.port, t);
    }
    for (Target t : targets) {
      closedLoop(tls, server, t, settings.warmupSeconds());
    }
    line("RSS after warm-up: " + server.rssMib() + " MiB");
    // Saturation, in rounds that alternate the endpoints, so that a burst of other work on the
    // machine does not land on one endpoint only.
    List<List<Run>> saturation = new ArrayList<>();
    for (int i = 0; i < targets.size(); i++) {
      saturation.add(new ArrayList<>());
    }
    for (int r = 0; r < settings.rounds(); r++) {
      for (int i = 0; i < targets.size(); i++) {
        saturation.get(i).add(closedLoop(tls, server, targets.get(i), settings.seconds()));
      }
    }
    List<Run> medians = new ArrayList<>();
    for (List<Run> rs : saturation) {
      List<Run> byThroughput = new ArrayList<>(rs);
      byThroughput.sort((a, b) -> Double.compare(a.throughput(), b.throughput()));
      Run median = byThroughput.get(byThroughput.size() / 2);
      medians.add(median);
      runs.add(median);
    }
    for (int i = 0; i < targets.size(); i++) {
      Target t = targets.get(i);
      for (double rate : new double[] {100, Math.floor(medians.get(i).throughput() / 2)}) {
        runs.add(openLoop(tls, server, t, rate, settings.seconds() * settings.rounds()));
      }
    }
    line(
        "RSS after load: "
            + server.rssMib()
            + " MiB; peak while under load "
            + peakRssUnderLoad
            + " MiB; peak since start (VmHWM) "
            + server.peakRssMib()
            + " MiB");
    line("");
    table(runs);
    line("");
    ratios(medians);
  }

  /**
   * Exec to readiness probe 200 with the certificates in place, as a pod restarts: {@code java
   * -jar} and the image's way (extracted jar + CDS archive), alternating so that other work on the
   * machine hits both alike. Smoke runs start the image's way once, to prove the script works.
   */
  private void startToReady(Path certDir, Path log, long firstStart) throws Exception {
    line("");
    line("### Start to ready (exec to readiness probe 200)");
    line("");
    line("load average before: " + Machine.loadAverage());
    List<String> plainCommand = command(settings.serverJvmOptions(), jar);
    List<ServerProcess> plain = new ArrayList<>();
    List<ServerProcess> image = new ArrayList<>();
    Path imageJar = null;
    List<String> imageOptions = null;
    Path imageLog = out.resolve("webhook-server-cds.log");
    Files.deleteIfExists(imageLog);
    if (imageStart != null) {
      Path app = imageStart.dir().resolve("app");
      long prepared = prepareImageStart(app);
      imageJar = app.resolve("vmpower.jar");
      imageOptions = new ArrayList<>(settings.serverJvmOptions());
      imageOptions.add("-XX:SharedArchiveFile=" + app.resolve("vmpower.jsa"));
      line(
          "image's way prepared by "
              + imageStart.script().getFileName()
              + " (extract + training run) in "
              + prepared
              + " ms; archive "
              + Files.size(app.resolve("vmpower.jsa")) / (1024 * 1024)
              + " MiB");
    }
    int runs = Math.max(settings.restarts(), imageStart == null ? 0 : 1);
    for (int i = 0; i < runs; i++) {
      if (i < settings.restarts()) {
        try (ServerProcess server =
            ServerProcess.start(jar, settings.serverJvmOptions(), certDir, log)) {
          plain.add(server);
        }
      }
      if (imageJar != null) {
        try (ServerProcess server =
            ServerProcess.start(imageJar, imageOptions, certDir, imageLog)) {
          image.add(server);
        }
      }
    }
    if (imageJar != null && Files.readString(imageLog).contains("Unable to use shared archive")) {
      throw new IllegalStateException("the server did not use the CDS archive; see " + imageLog);
    }
    line(
        "start to ready (exec to readiness probe 200), `java -jar`: first start "
            + firstStart
            + " ms"
            + (plain.isEmpty()
                ? ""
                : "; restarts with existing certificates "
                    + plain.stream().map(p -> p.readyMillis).toList()
                    + " ms, median "
                    + median(plain, p -> p.readyMillis)
                    + " ms"));
    line("");
    line(
        "| way | command | starts (ms) | median ms | CPU until ready, median ms: main thread /"
            + " process | RSS when ready, median MiB |");
    line("|---|---|---|---|---|---|");
    if (!plain.isEmpty()) {
      line(startRow("`java -jar`", plainCommand, plain));
    }
    if (!image.isEmpty()) {
      line(startRow("image: extracted + CDS", command(imageOptions, imageJar), image));
    }
    line("");
  }

  /** Runs the image's preparation script into a fresh directory; returns how long it took. */
  private long prepareImageStart(Path app) throws Exception {
    deleteRecursively(imageStart.dir());
    Files.createDirectories(imageStart.dir());
    List<String> command = new ArrayList<>();
    command.add("sh");
    command.add(imageStart.script().toString());
    command.add(jar.toAbsolutePath().toString());
    command.add(app.toString());
    command.add(imageStart.dir().resolve("layers").toString());
    command.addAll(settings.serverJvmOptions());
    Path prepareLog = out.resolve("webhook-cds-prepare.log");
    ProcessBuilder builder =
        new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(prepareLog.toFile());
    // The archive only serves the JVM that made it: the one that runs the server.
    builder.environment().put("JAVA", ServerProcess.java());
    long started = System.nanoTime();
    Process p = builder.start();
    if (!p.waitFor(5, TimeUnit.MINUTES)) {
      p.destroyForcibly();
      throw new IllegalStateException(
          "prepare-cds.sh did not finish in 5 minutes; see " + prepareLog);
    }
    if (p.exitValue() != 0) {
      throw new IllegalStateException(
          "prepare-cds.sh exited with " + p.exitValue() + "; see " + prepareLog);
    }
    return TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started);
  }

  private static String startRow(String way, List<String> command, List<ServerProcess> starts) {
    return "| "
        + way
        + " | `"
        + String.join(" ", command)
        + "` | "
        + starts.stream().map(p -> String.valueOf(p.readyMillis)).collect(Collectors.joining(", "))
        + " | "
        + median(starts, p -> p.readyMillis)
        + " | "
        + median(starts, p -> p.readyMainThreadCpuMillis)
        + " / "
        + median(starts, p -> p.readyCpuMillis)
        + " | "
        + median(starts, p -> p.readyRssMib)
        + " |";
  }

  private static <T> long median(List<T> values, ToLongFunction<T> value) {
    return median(values.stream().map(value::applyAsLong).toList());
  }

  /** For the table: paths relative to the working directory, where they are below it. */
  private static List<String> command(List<String> jvmOptions, Path jar) {
    Path here = Path.of("").toAbsolutePath();
    List<String> command = new ArrayList<>();
    command.add("java");
    for (String option : jvmOptions) {
      int eq = option.indexOf('=');
      if (eq > 0 && Path.of(option.substring(eq + 1)).startsWith(here)) {
        option = option.substring(0, eq + 1) + here.relativize(Path.of(option.substring(eq + 1)));
      }
      command.add(option);
    }
    command.add("-jar");
    command.add(jar.startsWith(here) ? here.relativize(jar).toString() : jar.toString());
    return command;
  }

  private static void deleteRecursively(Path dir) throws IOException {
    if (!Files.exists(dir)) {
      return;
    }
    try (Stream<Path> paths = Files.walk(dir)) {
      for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) {
        Files.delete(p);
      }
    }
  }

  private List<Target> targets(int port) {
    int n = 32;
    byte[][] vm = new byte[n][];
    byte[][] pod = new byte[n][];
    for (int i = 0; i < n; i++) {
      String uid = String.format("4a9b2c3d-0000-4000-8000-%012d", i);
      // Half CREATEs that get a patch, half UPDATEs that keep the policy (no patch).
      byte[] vmBody =
          i % 2 == 0
              ? ReviewBodies.vmCreate(Size.SMALL, uid)
              : ReviewBodies.vmUpdate(Size.SMALL, uid);
      byte[] podBody = ReviewBodies.podCreate(Size.SMALL, uid);
      vm[i] = vmBody;
      pod[i] = podBody;
    }
    return List.of(
        new Target("no-op, VM bodies", "/noop", encode("/noop", port, vm)),
        new Target(
            "VM /mutate-virtualmachines",
            "/mutate-virtualmachines",
            encode("/mutate-virtualmachines", port, vm)),
        new Target("no-op, pod bodies", "/noop", encode("/noop", port, pod)),
        new Target("pod /mutate-pods", "/mutate-pods", encode("/mutate-pods", port, pod)));
  }

  private static byte[][] encode(String path, int port, byte[][] bodies) {
    byte[][] r = new byte[bodies.length][];
    for (int i = 0; i < bodies.length; i++) {
      r[i] = HttpsConnection.request(path, port, bodies[i]);
    }
    return r;
  }

  private void check(SSLContext tls, int port, Target t) throws Exception {
    try (HttpsConnection c = new HttpsConnection(tls, port)) {
      for (byte[] r : t.requests()) {
        int code = c.exchange(r);
        if (code != 200) {
          throw new IllegalStateException(t.name() + " answered " + code);
        }
      }
    }
  }

  /** Saturation: every connection sends as fast as answers come back. */
  private Run closedLoop(SSLContext tls, ServerProcess server, Target t, double seconds)
      throws Exception {
    int c = settings.connections();
    Percentiles.Recorder[] recorders = new Percentiles.Recorder[c];
    AtomicInteger errors = new AtomicInteger();
    AtomicInteger handshakes = new AtomicInteger();
    HttpsConnection[] connections = new HttpsConnection[c];
    for (int i = 0; i < c; i++) {
      recorders[i] = new Percentiles.Recorder();
      connections[i] = new HttpsConnection(tls, server.port);
      connections[i].exchange(t.requests()[0]); // connect before the clock starts
    }
    long serverCpu = server.cpuNanos();
    long clientCpu = os.getProcessCpuTime();
    long start = System.nanoTime();
    long end = start + (long) (seconds * 1e9);
    Thread[] threads = new Thread[c];
    for (int i = 0; i < c; i++) {
      int k = i;
      threads[i] =
          new Thread(
              () -> {
                HttpsConnection conn = connections[k];
                int before = conn.handshakes();
                int j = k;
                long now = System.nanoTime();
                while (now < end) {
                  send(conn, t.requests()[j++ % t.requests().length], errors);
                  long done = System.nanoTime();
                  recorders[k].record(done - now);
                  now = done;
                }
                handshakes.addAndGet(conn.handshakes() - before);
              });
      threads[i].start();
    }
    sampleRssUntil(server, threads);
    double elapsed = (System.nanoTime() - start) / 1e9;
    long serverUsed = server.cpuNanos() - serverCpu;
    long clientUsed = os.getProcessCpuTime() - clientCpu;
    for (HttpsConnection conn : connections) {
      conn.close();
    }
    Percentiles p = Percentiles.Recorder.merge(Arrays.asList(recorders));
    return new Run(
        t,
        "saturation",
        elapsed,
        p.count(),
        errors.get(),
        p,
        p,
        serverUsed,
        clientUsed,
        handshakes.get());
  }

  /** One review; anything but a 200 counts as an error. */
  private static void send(HttpsConnection conn, byte[] request, AtomicInteger errors) {
    try {
      if (conn.exchange(request) != 200) {
        errors.incrementAndGet();
      }
    } catch (Exception e) {
      errors.incrementAndGet();
    }
  }

  /** Fixed rate: request i is due at start + i/rate; connection k sends requests k, k+c, ... */
  private Run openLoop(SSLContext tls, ServerProcess server, Target t, double rate, double seconds)
      throws Exception {
    int c = settings.connections();
    Percentiles.Recorder[] latency = new Percentiles.Recorder[c];
    Percentiles.Recorder[] service = new Percentiles.Recorder[c];
    AtomicInteger errors = new AtomicInteger();
    AtomicInteger handshakes = new AtomicInteger();
    HttpsConnection[] connections = new HttpsConnection[c];
    for (int i = 0; i < c; i++) {
      latency[i] = new Percentiles.Recorder();
      service[i] = new Percentiles.Recorder();
      connections[i] = new HttpsConnection(tls, server.port);
      connections[i].exchange(t.requests()[0]);
    }
    long period = (long) (1e9 / rate);
    long total = (long) (seconds * rate);
    long serverCpu = server.cpuNanos();
    long clientCpu = os.getProcessCpuTime();
    long start = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(20);
    Thread[] threads = new Thread[c];
    for (int i = 0; i < c; i++) {
      int k = i;
      threads[i] =
          new Thread(
              () -> {
                HttpsConnection conn = connections[k];
                int before = conn.handshakes();
                for (long j = k; j < total; j += c) {
                  long due = start + j * period;
                  long wait;
                  while ((wait = due - System.nanoTime()) > 0) {
                    LockSupport.parkNanos(wait);
                  }
                  long sent = System.nanoTime();
                  send(conn, t.requests()[(int) (j % t.requests().length)], errors);
                  long done = System.nanoTime();
                  latency[k].record(done - due);
                  service[k].record(done - sent);
                }
                handshakes.addAndGet(conn.handshakes() - before);
              });
      threads[i].start();
    }
    sampleRssUntil(server, threads);
    double elapsed = (System.nanoTime() - start) / 1e9;
    long serverUsed = server.cpuNanos() - serverCpu;
    long clientUsed = os.getProcessCpuTime() - clientCpu;
    for (HttpsConnection conn : connections) {
      conn.close();
    }
    Percentiles l = Percentiles.Recorder.merge(Arrays.asList(latency));
    Percentiles s = Percentiles.Recorder.merge(Arrays.asList(service));
    return new Run(
        t,
        String.format("fixed %.0f/s", rate),
        elapsed,
        l.count(),
        errors.get(),
        l,
        s,
        serverUsed,
        clientUsed,
        handshakes.get());
  }

  private void sampleRssUntil(ServerProcess server, Thread[] threads) throws InterruptedException {
    for (Thread th : threads) {
      while (th.isAlive()) {
        peakRssUnderLoad = Math.max(peakRssUnderLoad, server.rssMib());
        th.join(100);
      }
    }
  }

  private void table(List<Run> runs) {
    line(
        "| endpoint | load | req/s | p50 ms | p99 ms | p99.9 ms | max ms | p99 service ms | server CPU µs/req | client CPU µs/req | errors | TLS handshakes |");
    line("|---|---|---|---|---|---|---|---|---|---|---|---|");
    for (Run r : runs) {
      line(
          String.format(
              "| %s | %s | %.0f | %s | %s | %s | %s | %s | %.0f | %.0f | %d | %d |",
              r.target().name(),
              r.mode(),
              r.throughput(),
              Percentiles.ms(r.latency().at(50)),
              Percentiles.ms(r.latency().at(99)),
              Percentiles.ms(r.latency().at(99.9)),
              Percentiles.ms(r.latency().max()),
              Percentiles.ms(r.service().at(99)),
              r.serverCpu() / 1e3 / Math.max(1, r.count()),
              r.clientCpu() / 1e3 / Math.max(1, r.count()),
              r.errors(),
              r.handshakes()));
    }
  }

  private void ratios(List<Run> saturation) {
    Run noopVm = saturation.get(0);
    Run vm = saturation.get(1);
    Run noopPod = saturation.get(2);
    Run pod = saturation.get(3);
    line(
        String.format(
            "saturation throughput vs the no-op endpoint with the same bodies: VM %.0f%% (%.0f / %.0f req/s), pod %.0f%% (%.0f / %.0f req/s)",
            100 * vm.throughput() / noopVm.throughput(),
            vm.throughput(),
            noopVm.throughput(),
            100 * pod.throughput() / noopPod.throughput(),
            pod.throughput(),
            noopPod.throughput()));
    line(
        String.format(
            "server CPU per request vs no-op: VM %.0f vs %.0f µs, pod %.0f vs %.0f µs",
            vm.serverCpu() / 1e3 / vm.count(),
            noopVm.serverCpu() / 1e3 / noopVm.count(),
            pod.serverCpu() / 1e3 / pod.count(),
            noopPod.serverCpu() / 1e3 / noopPod.count()));
  }

  private static long median(List<Long> values) {
    List<Long> s = new ArrayList<>(values);
    s.sort(Long::compare);
    return s.get(s.size() / 2);
  }

  private void line(String s) {
    System.out.println(s);
    report.append(s).append('\n');
  }
}
