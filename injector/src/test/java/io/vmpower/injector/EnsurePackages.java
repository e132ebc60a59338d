package io.vmpower.injector;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Runs {@code src/test/libvirt/ensure-packages.sh} once per JVM, so a fresh machine sets itself up.
 */
final class EnsurePackages {
  private EnsurePackages() {}

  private static boolean packagesDone;
  private static Path kernel;

  static synchronized void packagesOnly() throws IOException, InterruptedException {
    if (!packagesDone) {
      run("--no-kernel");
      packagesDone = true;
    }
  }

  /** Packages plus the guest kernel; returns the kernel's path. */
  static synchronized Path kernel() throws IOException, InterruptedException {
    if (kernel == null) {
      kernel = Path.of(run().strip());
      packagesDone = true;
    }
    return kernel;
  }

  private static String run(String... args) throws IOException, InterruptedException {
    List<String> cmd =
        new java.util.ArrayList<>(
            List.of(
                "bash",
                MonitorProcesses.libvirtHelpers().resolve("ensure-packages.sh").toString()));
    cmd.addAll(List.of(args));
    Process p = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.INHERIT).start();
    p.getOutputStream().close();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (!p.waitFor(15, TimeUnit.MINUTES) || p.exitValue() != 0) {
      throw new IllegalStateException("ensure-packages.sh failed (see the log above)");
    }
    return out;
  }
}
