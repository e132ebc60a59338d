package io.vmpower.bench.webhook;

import java.io.IOException;
import java.net.HttpURLConnection;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The application as it runs in production: {@code java [options] -jar vmpower.jar} (the executable
 * jar, or the extracted one with a CDS archive as the image starts it), a process of its own (its
 * memory and CPU are read from /proc, apart from the load generator's), with local certificates and
 * the no-op endpoint switched on.
 */
final class ServerProcess implements AutoCloseable {
  private static final long CLOCK_TICKS = 100; // USER_HZ on Linux

  final int port;
  final int managementPort;
  final Path certDir;
  final long readyMillis;

  /** When ready: CPU time of the process and of the thread that runs main (Spring's start). */
  final long readyCpuMillis;

  final long readyMainThreadCpuMillis;

  /** When ready: resident set size, MiB. */
  final long readyRssMib;

  private final Process process;

  private ServerProcess(Process process, int port, int managementPort, Path certDir, long ready) {
    this.process = process;
    this.port = port;
    this.managementPort = managementPort;
    this.certDir = certDir;
    this.readyMillis = ready;
    this.readyCpuMillis = cpuNanos() / 1_000_000;
    this.readyMainThreadCpuMillis = mainThreadCpuNanos() / 1_000_000;
    this.readyRssMib = rssMib();
  }

  /** Starts the server and waits until its readiness probe answers 200. */
  static ServerProcess start(Path jar, List<String> jvmOptions, Path certDir, Path log)
      throws Exception {
    int port = freePort();
    int management = freePort();
    List<String> command = new ArrayList<>();
    command.add(java());
    command.addAll(jvmOptions);
    command.add("-jar");
    command.add(jar.toString());
    command.add("--server.port=" + port);
    command.add("--management.server.port=" + management);
    command.add("--vmpower.tls.dir=" + certDir);
    command.add("--vmpower.bench.noop-endpoint=true");
    Files.createDirectories(log.getParent());
    long started = System.nanoTime();
    Process process =
        new ProcessBuilder(command)
            .redirectErrorStream(true)
            .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()))
            .start();
    URI readiness = URI.create("http://127.0.0.1:" + management + "/actuator/health/readiness");
    long deadline = started + TimeUnit.SECONDS.toNanos(60);
    while (true) {
      if (!process.isAlive()) {
        throw new IllegalStateException(
            "server exited with " + process.exitValue() + "; see " + log);
      }
      if (System.nanoTime() > deadline) {
        process.destroyForcibly();
        throw new IllegalStateException("server not ready within 60 s; see " + log);
      }
      if (ready(readiness)) {
        break;
      }
      Thread.sleep(10);
    }
    long readyMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started);
    return new ServerProcess(process, port, management, certDir, readyMillis);
  }

  /** The JVM that runs the server: this one's. */
  static String java() {
    return Path.of(System.getProperty("java.home"), "bin", "java").toString();
  }

  private static boolean ready(URI uri) {
    try {
      HttpURLConnection c = (HttpURLConnection) uri.toURL().openConnection();
      c.setConnectTimeout(200);
      c.setReadTimeout(1000);
      try {
        return c.getResponseCode() == 200;
      } finally {
        c.disconnect();
      }
    } catch (IOException e) {
      return false;
    }
  }

  long pid() {
    return process.pid();
  }

  /** Resident set size now, in MiB (VmRSS). */
  long rssMib() {
    return status("VmRSS:");
  }

  /** Peak resident set size since start, in MiB (VmHWM). */
  long peakRssMib() {
    return status("VmHWM:");
  }

  private long status(String field) {
    try {
      for (String l : Files.readAllLines(Path.of("/proc/" + process.pid() + "/status"))) {
        if (l.startsWith(field)) {
          return Long.parseLong(l.replaceAll("\\D", "")) / 1024;
        }
      }
    } catch (IOException | RuntimeException e) {
      // gone
    }
    return -1;
  }

  /** CPU time (user + system) the server has used so far, in nanoseconds. */
  long cpuNanos() {
    try {
      return cpuNanos(Files.readString(Path.of("/proc/" + process.pid() + "/stat")));
    } catch (IOException | RuntimeException e) {
      return -1;
    }
  }

  /**
   * CPU time of the threads named "java": the launcher's thread, which only waits, and the one that
   * runs main; the JIT compilers, GC and Tomcat's threads have names of their own.
   */
  long mainThreadCpuNanos() {
    long sum = 0;
    try (var tasks = Files.list(Path.of("/proc/" + process.pid() + "/task"))) {
      for (Path task : tasks.toList()) {
        String stat = Files.readString(task.resolve("stat"));
        if (stat.substring(stat.indexOf('(') + 1, stat.lastIndexOf(')')).equals("java")) {
          sum += cpuNanos(stat);
        }
      }
      return sum;
    } catch (IOException | RuntimeException e) {
      return -1;
    }
  }

  private static long cpuNanos(String stat) {
    String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
    long ticks = Long.parseLong(f[11]) + Long.parseLong(f[12]); // utime, stime
    return ticks * (1_000_000_000L / CLOCK_TICKS);
  }

  static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  @Override
  public void close() throws InterruptedException {
    process.destroy(); // SIGTERM: graceful shutdown, as in a pod
    if (!process.waitFor(30, TimeUnit.SECONDS)) {
      process.destroyForcibly().waitFor();
    }
  }
}
