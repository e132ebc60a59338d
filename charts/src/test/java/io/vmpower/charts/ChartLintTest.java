package io.vmpower.charts;

import static org.assertj.core.api.Assertions.assertThat;

import com.marcnuri.helm.Helm;
import com.marcnuri.helm.LintResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import org.junit.jupiter.api.Test;

class ChartLintTest {

  @Test
  void lintStrictPasses() {
    LintResult result = new Helm(Rendered.CHART).lint().strict().call();

    assertThat(result.isFailed()).as("helm lint --strict: %s", result.getMessages()).isFalse();
    // --strict turns warnings into failures; assert it here too, independent of the last line.
    assertThat(result.getMessages())
        .noneMatch(m -> m.contains("[WARNING]") || m.contains("[ERROR]"));
  }

  @Test
  void lintStrictReportsABrokenChart() throws Exception {
    // The check above is only worth something if lint can fail: a chart with a template that
    // references an undefined value must fail --strict.
    Path broken = Files.createTempDirectory("vmpower-broken-chart");
    try {
      Files.createDirectories(broken.resolve("templates"));
      Files.writeString(
          broken.resolve("Chart.yaml"), "apiVersion: v2\nname: broken\nversion: 0.1.0\n");
      Files.writeString(broken.resolve("values.yaml"), "a: 1\n");
      Files.writeString(
          broken.resolve("templates/cm.yaml"),
          "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\ndata:\n"
              + "  b: {{ .Values.missing.value | quote }}\n");

      LintResult result = new Helm(broken).lint().strict().call();

      assertThat(result.isFailed()).as("%s", result.getMessages()).isTrue();
    } finally {
      try (var paths = Files.walk(broken)) {
        paths.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
      }
    }
  }
}
