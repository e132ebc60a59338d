package io.vmpower.e2e;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * One instance of the application ({@code java -jar vmpower.jar}) as the chart's ServiceAccount.
 */
final class VmPowerApp implements AutoCloseable {
  private static final HttpClient HTTP =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

  private final String identity;
  private final int port;
  private final int managementPort;
  private final ManagedProcess process;

  private VmPowerApp(String identity, int port, int managementPort, ManagedProcess process) {
    this.identity = identity;
    this.port = port;
    this.managementPort = managementPort;
    this.process = process;
  }

  /**
   * Starts an instance.
   *
   * @param environment the container's environment as the chart sets it (and KUBECONFIG)
   * @param args extra command-line settings
   */
  static VmPowerApp start(
      Path jar, String identity, Map<String, String> environment, List<String> args, Path logDir) {
    int port = TestCluster.freePort();
    int managementPort = TestCluster.freePort();
    List<String> command = new ArrayList<>();
    command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    // Small heap, quick start: two instances share this machine with the API server.
    command.add("-Xmx256m");
    command.add("-XX:TieredStopAtLevel=1");
    command.add("-XX:+UseSerialGC");
    command.add("-jar");
    command.add(jar.toString());
    command.add("--server.port=" + port);
    command.add("--management.server.port=" + managementPort);
    command.addAll(args);
    ManagedProcess process =
        ManagedProcess.start("vmpower-" + identity, command, environment, logDir);
    return new VmPowerApp(identity, port, managementPort, process);
  }

  String identity() {
    return identity;
  }

  /** The pod name the chart's Deployment would give it: POD_NAME, the controller's identity. */
  static String podName(String identity) {
    return "vmpower-" + identity;
  }

  int port() {
    return port;
  }

  ManagedProcess process() {
    return process;
  }

  /** Waits until {@code /actuator/health/readiness} says UP (certificate loaded, CA injected). */
  void awaitReady(Duration timeout) {
    Instant deadline = Instant.now().plus(timeout);
    String last = "no answer";
    while (Instant.now().isBefore(deadline)) {
      process.assertAlive();
      try {
        HttpResponse<String> r = get("/actuator/health/readiness");
        if (r.statusCode() == 200) {
          Suite.say("vmpower-%s ready on :%d (%s)", identity, port, r.body());
          return;
        }
        last = r.statusCode() + " " + r.body();
      } catch (Exception e) {
        last = e.toString();
      }
      TestCluster.sleep(300);
    }
    throw new IllegalStateException(
        "vmpower-"
            + identity
            + " not ready within "
            + timeout
            + " ("
            + last
            + "); log:\n"
            + process.logTail(8000));
  }

  HttpResponse<String> get(String path) throws Exception {
    return HTTP.send(
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + managementPort + path))
            .timeout(Duration.ofSeconds(5))
            .build(),
        HttpResponse.BodyHandlers.ofString());
  }

  /** The sum of a Prometheus counter over the series whose labels contain all of {@code labels}. */
  double metric(String name, String... labels) {
    try {
      String text = get("/actuator/prometheus").body();
      double sum = 0;
      for (String line : text.split("\n")) {
        if (!line.startsWith(name + "{") && !line.startsWith(name + " ")) {
          continue;
        }
        boolean all = true;
        for (String l : labels) {
          all &= line.contains(l);
        }
        if (all) {
          sum += Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
        }
      }
      return sum;
    } catch (Exception e) {
      throw new IllegalStateException("metrics of vmpower-" + identity + ": " + e, e);
    }
  }

  @Override
  public void close() {
    process.close();
  }
}
