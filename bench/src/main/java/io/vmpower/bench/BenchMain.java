package io.vmpower.bench;

import io.vmpower.bench.webhook.WebhookBenchmark;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code BenchMain webhook|mutation|controller [--smoke|--full] [--out=DIR] [--jar=vmpower.jar]
 * [--server-jvm="options"] [--cds-script=prepare-cds.sh] [--cds-dir=DIR] [--start-only]}: runs one
 * benchmark, prints its figures and writes them to {@code DIR/<name>.md}. {@code --smoke} runs for
 * a few seconds, so that CI proves the benchmark still runs; its figures are not meant to be
 * quoted.
 */
public final class BenchMain {
  /**
   * The JVM options the server is benchmarked with (webhook only, RSS under load within 256 MB). A
   * fixed young generation ({@code -Xmn48m}) halves the young collections but costs ~25 MiB of RSS,
   * which this budget does not have (BENCHMARKS.md).
   */
  public static final String DEFAULT_SERVER_JVM =
      "-XX:+UseSerialGC -Xms32m -Xmx128m -XX:MaxMetaspaceSize=96m"
          + " -XX:ReservedCodeCacheSize=64m -Xss512k";

  private BenchMain() {}

  public static void main(String[] args) throws Exception {
    if (args.length == 0) {
      System.err.println(
          "usage: BenchMain webhook|mutation|controller [--smoke|--full] [--out=DIR]");
      System.exit(2);
    }
    Map<String, String> options = new HashMap<>();
    for (String a : Arrays.copyOfRange(args, 1, args.length)) {
      int eq = a.indexOf('=');
      options.put(eq < 0 ? a : a.substring(0, eq), eq < 0 ? "" : a.substring(eq + 1));
    }
    boolean smoke = !options.containsKey("--full");
    Path out = Path.of(options.getOrDefault("--out", "target/bench-results"));
    // Before the first logger exists: logback.xml writes the application's log lines here.
    // (The controller's test jar brings a logback-test.xml, which would win over logback.xml.)
    System.setProperty("bench.log", out.resolve(args[0] + ".log").toString());
    System.setProperty("logback.configurationFile", "bench-logback.xml");
    String mode = smoke ? "smoke (a few seconds; not a measurement)" : "full";
    System.out.println("# vmpower benchmark: " + args[0] + " — " + mode);
    switch (args[0]) {
      case "webhook" -> {
        List<String> jvm =
            Arrays.stream(options.getOrDefault("--server-jvm", DEFAULT_SERVER_JVM).split("\\s+"))
                .filter(s -> !s.isBlank())
                .toList();
        Path jar = Path.of(options.getOrDefault("--jar", "webhook/target/vmpower.jar"));
        var base =
            smoke ? WebhookBenchmark.Settings.smoke(jvm) : WebhookBenchmark.Settings.full(jvm);
        // Overrides, for profiling runs.
        var settings =
            new WebhookBenchmark.Settings(
                Integer.parseInt(options.getOrDefault("--connections", "" + base.connections())),
                Double.parseDouble(options.getOrDefault("--warmup", "" + base.warmupSeconds())),
                Double.parseDouble(options.getOrDefault("--seconds", "" + base.seconds())),
                Integer.parseInt(options.getOrDefault("--rounds", "" + base.rounds())),
                Integer.parseInt(options.getOrDefault("--restarts", "" + base.restarts())),
                jvm,
                options.containsKey("--start-only"));
        // The image's way to start (extracted jar + CDS archive), prepared by the Dockerfile's
        // script; --cds-script= (empty) leaves it out.
        String script =
            options.getOrDefault("--cds-script", "webhook/src/main/docker/prepare-cds.sh");
        var imageStart =
            script.isEmpty()
                ? null
                : new WebhookBenchmark.ImageStart(
                    Path.of(script).toAbsolutePath(),
                    Path.of(options.getOrDefault("--cds-dir", "bench/target/cds"))
                        .toAbsolutePath());
        new WebhookBenchmark(settings, jar, out, imageStart).run();
      }
      case "mutation" -> io.vmpower.bench.mutation.MutationRunner.run(smoke, out);
      case "controller" -> {
        var settings =
            smoke
                ? io.vmpower.bench.controller.ControllerScaleBenchmark.Settings.smoke()
                : io.vmpower.bench.controller.ControllerScaleBenchmark.Settings.full();
        new io.vmpower.bench.controller.ControllerScaleBenchmark(settings, out).run();
      }
      default -> {
        System.err.println("unknown benchmark " + args[0]);
        System.exit(2);
      }
    }
    // Some libraries (the mock server's Vert.x) leave non-daemon threads behind.
    System.exit(0);
  }
}
