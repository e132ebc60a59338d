package io.vmpower.bench;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.temporal.ChronoUnit;

/** What a figure was measured on: printed with every result. */
public final class Machine {
  private Machine() {}

  public static String describe() {
    return "machine: "
        + cpuModel()
        + ", "
        + Runtime.getRuntime().availableProcessors()
        + " cores, "
        + memTotal()
        + " RAM; "
        + System.getProperty("os.name")
        + " "
        + System.getProperty("os.version")
        + "; JDK "
        + System.getProperty("java.vm.vendor")
        + " "
        + System.getProperty("java.runtime.version")
        + "; "
        + Instant.now().truncatedTo(ChronoUnit.SECONDS);
  }

  /** The 1/5/15-minute load averages: other work on the machine shares the cores. */
  public static String loadAverage() {
    try {
      String[] f = Files.readString(Path.of("/proc/loadavg")).trim().split("\\s+");
      return f[0] + " " + f[1] + " " + f[2];
    } catch (IOException | RuntimeException e) {
      return String.format(
          "%.2f", ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage());
    }
  }

  static String cpuModel() {
    try {
      return Files.readAllLines(Path.of("/proc/cpuinfo")).stream()
          .filter(l -> l.startsWith("model name"))
          .map(l -> l.substring(l.indexOf(':') + 1).trim())
          .findFirst()
          .orElse(System.getProperty("os.arch"));
    } catch (IOException e) {
      return System.getProperty("os.arch");
    }
  }

  static String memTotal() {
    try {
      return Files.readAllLines(Path.of("/proc/meminfo")).stream()
          .filter(l -> l.startsWith("MemTotal"))
          .map(l -> Long.parseLong(l.replaceAll("\\D", "")) / 1024 / 1024 + " GiB")
          .findFirst()
          .orElse("?");
    } catch (IOException | RuntimeException e) {
      return "?";
    }
  }
}
