package io.vmpower.injector;

import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * A container as far as the launcher and a postStart hook can tell: PID 1 of a PID namespace of its
 * own (with its own /proc) runs the container's command, and a hook is exec'd into those namespaces
 * from outside, as runc does for the kubelet: the hook's parent is not in the container, a process
 * it leaves behind is adopted by PID 1, and when PID 1 ends the kernel ends every process of the
 * namespace. Needs root (unshare, nsenter).
 */
final class ContainerStandIn implements AutoCloseable {
  private final Process unshare;
  private final long init;

  /** What an exec into the container gave: as the runtime sees it, output read to its end. */
  record Exec(int exit, String output, Duration untilOutputClosed) {}

  private ContainerStandIn(Process unshare, long init) {
    this.unshare = unshare;
    this.init = init;
  }

  /**
   * Starts {@code argv} as PID 1 of a new container, with this environment on top of the test's,
   * its stdout and stderr (the container's log) into those files.
   */
  static ContainerStandIn start(
      List<String> argv, Map<String, String> env, Path stdout, Path stderr) throws IOException {
    List<String> command =
        new ArrayList<>(
            List.of("unshare", "--pid", "--fork", "--mount-proc", "--kill-child", "--"));
    command.addAll(argv);
    ProcessBuilder pb = new ProcessBuilder(command);
    pb.environment().putAll(env);
    pb.redirectInput(new File("/dev/null"));
    pb.redirectOutput(stdout.toFile());
    pb.redirectError(stderr.toFile());
    Process unshare = pb.start();
    long end = System.nanoTime() + Duration.ofSeconds(10).toNanos();
    while (System.nanoTime() < end) {
      Optional<ProcessHandle> child = unshare.toHandle().children().findFirst();
      if (child.isPresent()) {
        return new ContainerStandIn(unshare, child.get().pid());
      }
      if (!unshare.isAlive()) {
        return new ContainerStandIn(unshare, -1); // the container came and went
      }
      sleep(10);
    }
    unshare.destroyForcibly();
    throw new IllegalStateException("no PID 1 within 10 s");
  }

  /** PID 1 of the container, as this machine numbers it. */
  long initPid() {
    return init;
  }

  /**
   * Execs {@code command} in the container (its PID and mount namespaces) with this environment, as
   * {@code uid} when given (no_new_privs, like a launcher with {@code allowPrivilegeEscalation:
   * false}), and reads its output to the end, as the runtime does before it answers the kubelet.
   */
  Exec exec(List<String> command, Map<String, String> env, Optional<String> user)
      throws IOException, InterruptedException {
    List<String> argv =
        new ArrayList<>(
            List.of("nsenter", "--target", Long.toString(init), "--pid", "--mount", "--"));
    user.ifPresent(
        u ->
            argv.addAll(
                List.of(
                    "setpriv",
                    "--reuid=" + u,
                    "--regid=" + u,
                    "--clear-groups",
                    "--no-new-privs",
                    "--")));
    argv.addAll(command);
    ProcessBuilder pb = new ProcessBuilder(argv).redirectErrorStream(true);
    pb.environment().clear();
    pb.environment().put("PATH", System.getenv("PATH"));
    pb.environment().putAll(env);
    pb.redirectInput(new File("/dev/null"));
    long t0 = System.nanoTime();
    Process p = pb.start();
    String output = readToEnd(p.getInputStream(), Duration.ofSeconds(30));
    Duration untilClosed = Duration.ofNanos(System.nanoTime() - t0);
    if (!p.waitFor(10, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      throw new AssertionError("exec did not end; output so far: " + output);
    }
    return new Exec(p.exitValue(), output, untilClosed);
  }

  boolean running() {
    return unshare.isAlive();
  }

  /** SIGTERM to PID 1, as the kubelet's stop of the container sends it. */
  void terminate() {
    if (init > 0) {
      ProcessHandle.of(init).ifPresent(ProcessHandle::destroy);
    }
  }

  /** Waits for the container to end; its exit code (PID 1's). */
  int awaitExit(Duration limit) throws InterruptedException {
    if (!unshare.waitFor(limit.toMillis(), TimeUnit.MILLISECONDS)) {
      throw new AssertionError("container still running after " + limit);
    }
    return unshare.exitValue();
  }

  @Override
  public void close() {
    if (init > 0) {
      ProcessHandle.of(init).ifPresent(ProcessHandle::destroyForcibly);
    }
    unshare.destroyForcibly();
    try {
      unshare.waitFor(10, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** Reads until every writer closed the stream; fails after {@code limit}. */
  private static String readToEnd(InputStream in, Duration limit) throws InterruptedException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    Thread reader =
        new Thread(
            () -> {
              try {
                in.transferTo(out);
              } catch (IOException e) {
                throw new UncheckedIOException(e);
              }
            });
    reader.setDaemon(true);
    reader.start();
    reader.join(limit.toMillis());
    if (reader.isAlive()) {
      throw new AssertionError(
          "the exec's output still open after "
              + limit
              + " (a process it started holds it): "
              + out.toString(StandardCharsets.UTF_8));
    }
    return out.toString(StandardCharsets.UTF_8);
  }

  private static void sleep(long millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }
}
