package io.vmpower.bench.mutation;

import io.vmpower.bench.Machine;
import io.vmpower.bench.ReviewBodies;
import io.vmpower.bench.ReviewBodies.Size;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collection;
import org.openjdk.jmh.profile.GCProfiler;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.options.OptionsBuilder;
import org.openjdk.jmh.runner.options.TimeValue;

/** Runs {@link MutationBenchmark} with JMH and prints a table of the results. */
public final class MutationRunner {
  private MutationRunner() {}

  public static String run(boolean smoke, Path out) throws Exception {
    Files.createDirectories(out);
    StringBuilder report = new StringBuilder();
    report.append("## Mutation cost (JMH)\n\n").append(Machine.describe()).append('\n');
    report.append("load average before: ").append(Machine.loadAverage()).append('\n');
    var options =
        new OptionsBuilder()
            .include(MutationBenchmark.class.getName())
            .include(ParserBenchmark.class.getName())
            .forks(smoke ? 1 : 2)
            .warmupIterations(smoke ? 1 : 5)
            .warmupTime(TimeValue.seconds(1))
            .measurementIterations(smoke ? 1 : 5)
            .measurementTime(TimeValue.seconds(smoke ? 1 : 2))
            .threads(1)
            .addProfiler(GCProfiler.class)
            .result(out.resolve("mutation-jmh.json").toString())
            .resultFormat(org.openjdk.jmh.results.format.ResultFormatType.JSON)
            .build();
    Collection<RunResult> results = new Runner(options).run();
    report.append("load average after: ").append(Machine.loadAverage()).append('\n');
    report.append(
        String.format(
            "review sizes: VM CREATE %d / %d bytes, VM UPDATE %d / %d bytes, pod CREATE %d / %d"
                + " bytes (small / large)%n%n",
            ReviewBodies.vmCreate(Size.SMALL, "u").length,
            ReviewBodies.vmCreate(Size.LARGE, "u").length,
            ReviewBodies.vmUpdate(Size.SMALL, "u").length,
            ReviewBodies.vmUpdate(Size.LARGE, "u").length,
            ReviewBodies.podCreate(Size.SMALL, "u").length,
            ReviewBodies.podCreate(Size.LARGE, "u").length));
    report.append("| benchmark | parameters | µs/review | ± (99.9%) | allocated KiB/review |\n");
    report.append("|---|---|---|---|---|\n");
    for (RunResult r : results) {
      var primary = r.getPrimaryResult();
      String name = r.getParams().getBenchmark();
      var alloc =
          r.getSecondaryResults().entrySet().stream()
              .filter(e -> e.getKey().endsWith("gc.alloc.rate.norm"))
              .map(java.util.Map.Entry::getValue)
              .findFirst()
              .orElse(null);
      report.append(
          String.format(
              "| %s | %s | %.1f | %.1f | %s |%n",
              name.substring(name.lastIndexOf('.', name.lastIndexOf('.') - 1) + 1),
              String.join(
                  ", ",
                  r.getParams().getParamsKeys().stream()
                      .map(k -> r.getParams().getParam(k))
                      .toList()),
              primary.getScore(),
              Double.isNaN(primary.getScoreError()) ? 0.0 : primary.getScoreError(),
              alloc == null ? "?" : String.format("%.0f", alloc.getScore() / 1024)));
    }
    String text = report.toString();
    System.out.println(text);
    Files.writeString(out.resolve("mutation.md"), text);
    return text;
  }
}
