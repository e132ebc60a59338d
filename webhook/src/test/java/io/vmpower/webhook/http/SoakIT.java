package io.vmpower.webhook.http;

import static io.vmpower.admission.testing.Manifests.vm;
import static io.vmpower.admission.testing.Reviews.bytes;
import static io.vmpower.admission.testing.Reviews.podReview;
import static io.vmpower.admission.testing.Reviews.vmReview;
import static org.assertj.core.api.Assertions.assertThat;

import io.vmpower.admission.Webhooks;
import io.vmpower.certs.CertificateAuthority;
import io.vmpower.certs.CertificateBundle;
import io.vmpower.certs.CertificateIssuer;
import io.vmpower.certs.KeyAlgorithm;
import io.vmpower.certs.Pem;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.math.BigInteger;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.Test;

/**
 * The bounded soak (RELIABILITY.md): the packaged jar runs as its own process (loopback only, heap
 * capped at 256 MB) while concurrent clients send reviews to both endpoints over kept-alive and new
 * connections, slow and stalled clients hold connections, and the serving certificate is replaced
 * three times, once by one from a new CA. Required: not one failed review, every stalled connection
 * closed by the server in bounded time, and no growth in heap (after GC), RSS, threads or file
 * descriptors between the end of the warm-up and the end of the run.
 *
 * <p>{@code -Dsoak.duration=PT10M} for a long run (default PT60S).
 */
class SoakIT {
  static final Duration DURATION = Duration.parse(System.getProperty("soak.duration", "PT60S"));
  static final Duration WARM_UP = Duration.ofSeconds(15);

  final AtomicBoolean running = new AtomicBoolean(true);
  final AtomicLong reviews = new AtomicLong();
  final AtomicLong rejectedAsExpected = new AtomicLong();
  final AtomicLong newConnections = new AtomicLong();
  final ConcurrentLinkedQueue<String> failures = new ConcurrentLinkedQueue<>();
  final ConcurrentLinkedQueue<Long> latencyMicros = new ConcurrentLinkedQueue<>();
  final Map<String, List<Long>> stallMillis = new ConcurrentHashMap<>();

  Path certs;
  Path trust;
  int port;
  int managementPort;
  Process server;

  record Sample(long heapBytes, long rssKb, int threads, int fds) {
    @Override
    public String toString() {
      return String.format(
          "heap %.1f MB, RSS %.1f MB, threads %d, fds %d",
          heapBytes / 1048576.0, rssKb / 1024.0, threads, fds);
    }
  }

  @Test
  void soak() throws Exception {
    certs = Files.createTempDirectory("vmpower-soak-certs");
    Path log = Path.of("target/soak-server.log").toAbsolutePath();
    port = freePort();
    managementPort = freePort();
    Path jar = Path.of("target/vmpower.jar").toAbsolutePath();
    assertThat(jar).exists();
    server =
        new ProcessBuilder(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx256m",
                "-jar",
                jar.toString(),
                "--server.port=" + port,
                "--management.server.port=" + managementPort,
                "--vmpower.tls.dir=" + certs,
                "--vmpower.tls.reload-interval=2s",
                "--vmpower.cluster.mode=disabled")
            .redirectErrorStream(true)
            .redirectOutput(log.toFile())
            .start();
    ExecutorService pool = Executors.newCachedThreadPool();
    try {
      awaitReady();
      CertificateIssuer issuer = new CertificateIssuer(Clock.systemUTC());
      CertificateAuthority oldCa =
          CertificateAuthority.fromPem(
              Files.readString(certs.resolve("ca.crt")), Files.readString(certs.resolve("ca.key")));
      CertificateAuthority newCa =
          issuer.newAuthority("vmpower-next-ca", KeyAlgorithm.EC_P256, Duration.ofDays(30));
      // Clients trust old and new CA from the start, as the caBundle does during a CA change.
      trust = certs.resolve("trusted-cas.pem");
      Files.writeString(trust, Pem.encode(oldCa.certificate(), newCa.certificate()));
      SSLContext tls = TlsClients.context(trust, null);

      List<Future<?>> workers = new ArrayList<>();
      for (int i = 0; i < 3; i++) {
        workers.add(pool.submit(() -> keptAliveClient(tls, true)));
      }
      for (int i = 0; i < 2; i++) {
        workers.add(pool.submit(() -> keptAliveClient(tls, false)));
      }
      for (int i = 0; i < 2; i++) {
        int n = i;
        workers.add(pool.submit(() -> newConnectionClient(tls, n % 2 == 0)));
      }
      workers.add(pool.submit(() -> malformedClient(tls)));
      for (String kind : List.of("tcp-only", "mid-headers", "mid-body", "trickle")) {
        stallMillis.put(kind, Collections.synchronizedList(new ArrayList<>()));
        for (int i = 0; i < 3; i++) {
          workers.add(pool.submit(() -> stalledClient(tls, kind)));
        }
      }

      long start = System.nanoTime();
      Thread.sleep(WARM_UP.toMillis());
      Sample before = sample(true);
      List<Sample> during = new ArrayList<>();
      List<String> rotations = new ArrayList<>();
      List<CertificateAuthority> signers = List.of(oldCa, newCa, newCa);
      int rotated = 0;
      while (System.nanoTime() - start < DURATION.toNanos()) {
        Thread.sleep(5000);
        during.add(sample(false));
        double progress = (System.nanoTime() - start) / (double) DURATION.toNanos();
        if (rotated < signers.size() && progress > 0.35 + 0.2 * rotated) {
          rotations.add(rotate(issuer, signers.get(rotated), oldCa, newCa));
          rotated++;
        }
      }
      running.set(false);
      for (Future<?> worker : workers) {
        worker.get(60, TimeUnit.SECONDS);
      }
      Thread.sleep(2000);
      Sample after = sample(true);
      assertThat(server.isAlive()).as("server alive").isTrue();

      List<Long> latencies = new ArrayList<>(latencyMicros);
      Collections.sort(latencies);
      String report =
          String.format(
              "soak %s (warm-up %s), server -Xmx256m, loopback%n"
                  + "  reviews answered correctly: %d (of which %d over new connections); "
                  + "malformed bodies rejected as expected: %d; failed reviews: %d%n"
                  + "  latency p50 %.1f ms, p99 %.1f ms, max %.1f ms%n"
                  + "  certificate rotations: %s%n"
                  + "  stalled connections closed by the server after (ms, max): %s%n"
                  + "  before (end of warm-up, after GC): %s%n"
                  + "  after  (end of run, after GC):     %s%n"
                  + "  samples during the run: %s%n",
              DURATION,
              WARM_UP,
              reviews.get(),
              newConnections.get(),
              rejectedAsExpected.get(),
              failures.size(),
              percentile(latencies, 0.50) / 1000.0,
              percentile(latencies, 0.99) / 1000.0,
              percentile(latencies, 1.0) / 1000.0,
              rotations,
              maxima(),
              before,
              after,
              during);
      System.out.println(report);
      Files.writeString(Path.of("target/soak-report.txt"), report);

      assertThat(failures).as("failed reviews").isEmpty();
      assertThat(reviews.get()).isGreaterThan(20 * DURATION.toSeconds());
      assertThat(rotations).hasSize(3);
      stallMillis.forEach(
          (kind, millis) -> {
            assertThat(millis).as(kind + " connections cut off").isNotEmpty();
            // connection timeout 10 s, body deadline 10 s (+ one read): all well under 25 s
            assertThat(millis).as(kind).allSatisfy(ms -> assertThat(ms).isLessThan(25_000));
          });
      assertThat(after.heapBytes())
          .as("heap after GC")
          .isLessThan(before.heapBytes() * 3 / 2 + (16 << 20));
      assertThat(after.rssKb()).as("RSS").isLessThan(before.rssKb() + 128 * 1024);
      assertThat(after.threads()).as("threads").isLessThanOrEqualTo(before.threads() + 10);
      assertThat(after.fds()).as("file descriptors").isLessThanOrEqualTo(before.fds() + 10);
      // growth over the run would show in the samples too: the last third no higher than the first
      int third = Math.max(1, during.size() / 3);
      int earlyThreads =
          during.subList(0, third).stream().mapToInt(Sample::threads).max().orElse(0);
      int lateThreads =
          during.subList(during.size() - third, during.size()).stream()
              .mapToInt(Sample::threads)
              .max()
              .orElse(0);
      assertThat(lateThreads).as("threads late vs early").isLessThanOrEqualTo(earlyThreads + 10);
    } finally {
      running.set(false);
      pool.shutdownNow();
      server.destroy(); // SIGTERM: graceful shutdown
      boolean stopped = server.waitFor(30, TimeUnit.SECONDS);
      if (!stopped) {
        server.destroyForcibly();
      }
      assertThat(stopped).as("server stops on SIGTERM within 30 s").isTrue();
    }
    String serverLog = Files.readString(log);
    assertThat(serverLog).as("server log").contains("admission review");
    assertThat(
            serverLog
                .lines()
                .filter(l -> l.contains("\"level\":\"ERROR\"") || l.contains("stack_trace"))
                .toList())
        .as("errors or stack traces in the server log")
        .isEmpty();
  }

  // --- clients -----------------------------------------------------------------------------------

  private HttpClient httpClient(SSLContext tls) {
    SSLParameters parameters = new SSLParameters();
    parameters.setEndpointIdentificationAlgorithm("HTTPS");
    return HttpClient.newBuilder()
        .sslContext(tls)
        .sslParameters(parameters)
        .version(HttpClient.Version.HTTP_1_1)
        .connectTimeout(Duration.ofSeconds(5))
        .build();
  }

  /** Valid reviews over one kept-alive connection; every answer is checked. */
  private void keptAliveClient(SSLContext tls, boolean vms) {
    HttpClient client = httpClient(tls);
    long i = 0;
    while (running.get()) {
      i++;
      byte[] body;
      String path;
      String expect;
      if (!vms) {
        path = Webhooks.PODS;
        body = bytes(podReview("p" + i, PodAdmissionHttpsTest.launcherPod()));
        expect = "\"patchType\":\"JSONPatch\"";
      } else if (i % 3 == 0) {
        path = Webhooks.VIRTUAL_MACHINES;
        body =
            bytes(
                vmReview(
                    "v" + i,
                    "UPDATE",
                    vm("db", "AlwaysOn", "runStrategy: Halted"),
                    vm("db", "AlwaysOn", "runStrategy: Always")));
        expect = "\"allowed\":false";
      } else {
        path = Webhooks.VIRTUAL_MACHINES;
        body = bytes(vmReview("v" + i, "CREATE", vm("db-" + i, "AlwaysOn", ""), null));
        expect = "\"patchType\":\"JSONPatch\"";
      }
      long t0 = System.nanoTime();
      try {
        HttpResponse<String> response = post(client, path, body);
        check(response.statusCode(), response.body(), expect, t0);
      } catch (IOException e) {
        failures.add(path + ": " + e);
      } catch (InterruptedException e) {
        return;
      }
    }
  }

  /** A new TLS connection per review, closed by the client: handshakes across rotations. */
  private void newConnectionClient(SSLContext tls, boolean vms) {
    long i = 0;
    while (running.get()) {
      i++;
      String path = vms ? Webhooks.VIRTUAL_MACHINES : Webhooks.PODS;
      byte[] body =
          vms
              ? bytes(vmReview("n" + i, "CREATE", vm("db", "Manual", ""), null))
              : bytes(podReview("n" + i, PodAdmissionHttpsTest.launcherPod()));
      long t0 = System.nanoTime();
      try (SSLSocket socket = open(tls)) {
        OutputStream out = socket.getOutputStream();
        out.write(
            ("POST "
                    + path
                    + " HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
                    + "Connection: close\r\nContent-Length: "
                    + body.length
                    + "\r\n\r\n")
                .getBytes(StandardCharsets.US_ASCII));
        out.write(body);
        out.flush();
        String answer = new String(socket.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        int status =
            answer.startsWith("HTTP/1.1 ") ? Integer.parseInt(answer.substring(9, 12)) : -1;
        check(status, answer, "\"patchType\":\"JSONPatch\"", t0);
        newConnections.incrementAndGet();
      } catch (IOException e) {
        failures.add("new connection " + path + ": " + e);
      }
    }
  }

  /** Malformed bodies among the traffic: each must be a 400, never a 5xx or a hang. */
  private void malformedClient(SSLContext tls) {
    HttpClient client = httpClient(tls);
    List<byte[]> bad =
        List.of(
            "{".getBytes(StandardCharsets.UTF_8),
            "[]".getBytes(StandardCharsets.UTF_8),
            ("{\"a\":".repeat(500) + "1" + "}".repeat(500)).getBytes(StandardCharsets.UTF_8),
            "{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\",\"request\":{}}"
                .getBytes(StandardCharsets.UTF_8));
    int i = 0;
    while (running.get()) {
      String path = i % 2 == 0 ? Webhooks.VIRTUAL_MACHINES : Webhooks.PODS;
      try {
        HttpResponse<String> response = post(client, path, bad.get(i++ % bad.size()));
        if (response.statusCode() == 400 && response.body().contains("\"kind\":\"Status\"")) {
          rejectedAsExpected.incrementAndGet();
        } else {
          failures.add("malformed: " + response.statusCode() + " " + response.body());
        }
        Thread.sleep(20);
      } catch (IOException e) {
        failures.add("malformed: " + e);
      } catch (InterruptedException e) {
        return;
      }
    }
  }

  /**
   * Opens a connection that stalls in one of four ways and measures how long the server keeps it:
   * TCP only (no handshake), headers cut in the middle, half a body, or a body trickled at one byte
   * per second (never idle long enough for the connection timeout).
   */
  private void stalledClient(SSLContext tls, String kind) {
    byte[] body = bytes(vmReview("stall", "CREATE", vm("db", "AlwaysOn", ""), null));
    String headers =
        "POST "
            + Webhooks.VIRTUAL_MACHINES
            + " HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: "
            + body.length
            + "\r\n\r\n";
    while (running.get()) {
      long t0 = System.nanoTime();
      try (Socket socket = kind.equals("tcp-only") ? new Socket("localhost", port) : open(tls)) {
        socket.setSoTimeout(1000);
        OutputStream out = socket.getOutputStream();
        switch (kind) {
          case "mid-headers" ->
              out.write(headers.substring(0, 40).getBytes(StandardCharsets.US_ASCII));
          case "mid-body", "trickle" -> {
            out.write(headers.getBytes(StandardCharsets.US_ASCII));
            out.write(body, 0, kind.equals("mid-body") ? body.length / 2 : 1);
          }
          default -> {}
        }
        out.flush();
        InputStream in = socket.getInputStream();
        int sent = 1;
        while (true) {
          try {
            if (in.read() < 0) {
              break;
            }
            in.readAllBytes(); // the server's answer (e.g. 408, 400), then it closes
            break;
          } catch (SocketTimeoutException e) {
            if (System.nanoTime() - t0 > TimeUnit.SECONDS.toNanos(60)) {
              failures.add(kind + ": connection still open after 60 s");
              break;
            }
            if (kind.equals("trickle") && sent < body.length - 1) {
              out.write(body[sent++]);
              out.flush();
            }
          }
        }
      } catch (IOException e) {
        // reset or refused write: the server closed it
      }
      stallMillis.get(kind).add((System.nanoTime() - t0) / 1_000_000);
    }
  }

  private void check(int status, String body, String expect, long t0) {
    latencyMicros.add((System.nanoTime() - t0) / 1000);
    if (status == 200 && body.contains(expect)) {
      reviews.incrementAndGet();
    } else {
      failures.add(status + " " + body.substring(0, Math.min(300, body.length())));
    }
  }

  private SSLSocket open(SSLContext tls) throws IOException {
    SSLSocket socket = (SSLSocket) tls.getSocketFactory().createSocket("localhost", port);
    SSLParameters parameters = socket.getSSLParameters();
    parameters.setEndpointIdentificationAlgorithm("HTTPS");
    socket.setSSLParameters(parameters);
    socket.setSoTimeout(15_000);
    socket.startHandshake();
    return socket;
  }

  // --- certificate rotation ----------------------------------------------------------------------

  private HttpResponse<String> post(HttpClient client, String path, byte[] body)
      throws IOException, InterruptedException {
    return client.send(
        HttpRequest.newBuilder(URI.create("https://localhost:" + port + path))
            .timeout(Duration.ofSeconds(10))
            .header("Content-Type", "application/json")
            .POST(HttpRequest.BodyPublishers.ofByteArray(body))
            .build(),
        HttpResponse.BodyHandlers.ofString());
  }

  /** Writes a new serving certificate into the directory and waits until it is served. */
  private String rotate(
      CertificateIssuer issuer,
      CertificateAuthority signer,
      CertificateAuthority oldCa,
      CertificateAuthority newCa)
      throws Exception {
    CertificateBundle next = CertificateFiles.rotate(certs, issuer, signer, oldCa, newCa);
    BigInteger expected = next.leaf().getSerialNumber();
    long t0 = System.nanoTime();
    while (System.nanoTime() - t0 < TimeUnit.SECONDS.toNanos(20)) {
      if (servedSerial().equals(expected)) {
        return String.format(
            "%s-signed served after %d ms",
            signer == newCa ? "new-CA" : "same-CA", (System.nanoTime() - t0) / 1_000_000);
      }
      Thread.sleep(200);
    }
    throw new AssertionError("rotated certificate not served within 20 s");
  }

  private BigInteger servedSerial() throws Exception {
    try (SSLSocket socket = open(TlsClients.context(trust, null))) {
      return ((X509Certificate) socket.getSession().getPeerCertificates()[0]).getSerialNumber();
    }
  }

  // --- measurements ------------------------------------------------------------------------------

  private Sample sample(boolean gc) throws Exception {
    long pid = server.pid();
    if (gc) {
      Process jcmd =
          new ProcessBuilder(
                  Path.of(System.getProperty("java.home"), "bin", "jcmd").toString(),
                  String.valueOf(pid),
                  "GC.run")
              .redirectErrorStream(true)
              .redirectOutput(ProcessBuilder.Redirect.DISCARD)
              .start();
      assertThat(jcmd.waitFor(30, TimeUnit.SECONDS)).isTrue();
      Thread.sleep(500);
    }
    String status = Files.readString(Path.of("/proc/" + pid + "/status"));
    long rss = field(status, "VmRSS");
    int threads = (int) field(status, "Threads");
    int fds;
    try (var list = Files.list(Path.of("/proc/" + pid + "/fd"))) {
      fds = (int) list.count();
    }
    return new Sample(heapUsed(), rss, threads, fds);
  }

  private static long field(String status, String name) {
    Matcher m = Pattern.compile("(?m)^" + name + ":\\s+(\\d+)").matcher(status);
    assertThat(m.find()).as(name).isTrue();
    return Long.parseLong(m.group(1));
  }

  /** Sum of jvm_memory_used_bytes{area="heap"} from the server's Prometheus endpoint. */
  private long heapUsed() throws Exception {
    String metrics =
        HttpClient.newHttpClient()
            .send(
                HttpRequest.newBuilder(
                        URI.create("http://localhost:" + managementPort + "/actuator/prometheus"))
                    .build(),
                HttpResponse.BodyHandlers.ofString())
            .body();
    double sum = 0;
    for (String line : metrics.lines().toList()) {
      if (line.startsWith("jvm_memory_used_bytes{") && line.contains("area=\"heap\"")) {
        sum += Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
      }
    }
    assertThat(sum).isPositive();
    return (long) sum;
  }

  private void awaitReady() throws Exception {
    Instant end = Instant.now().plusSeconds(90);
    HttpClient http = HttpClient.newHttpClient();
    while (Instant.now().isBefore(end)) {
      assertThat(server.isAlive()).as("server process running").isTrue();
      try {
        var response =
            http.send(
                HttpRequest.newBuilder(
                        URI.create(
                            "http://localhost:" + managementPort + "/actuator/health/readiness"))
                    .build(),
                HttpResponse.BodyHandlers.ofString());
        if (response.statusCode() == 200) {
          return;
        }
      } catch (IOException e) {
        // not up yet
      }
      Thread.sleep(250);
    }
    throw new AssertionError("server not ready within 90 s");
  }

  private Map<String, String> maxima() {
    Map<String, String> maxima = new java.util.TreeMap<>();
    stallMillis.forEach(
        (kind, millis) -> {
          synchronized (millis) {
            maxima.put(
                kind,
                millis.size()
                    + " closed, max "
                    + millis.stream().mapToLong(Long::longValue).max().orElse(-1));
          }
        });
    return maxima;
  }

  private static long percentile(List<Long> sorted, double p) {
    if (sorted.isEmpty()) {
      return 0;
    }
    return sorted.get((int) Math.min(sorted.size() - 1, Math.ceil(p * sorted.size()) - 1));
  }

  private static int freePort() throws IOException {
    try (ServerSocket socket = new ServerSocket(0)) {
      return socket.getLocalPort();
    }
  }
}
