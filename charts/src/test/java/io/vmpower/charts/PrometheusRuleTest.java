package io.vmpower.charts;

import static org.assertj.core.api.Assertions.assertThat;

import com.marcnuri.helm.Helm;
import com.marcnuri.helm.LintResult;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The PrometheusRule (off by default): its alerts, their runbooks in docs/runbooks.md, {@code helm
 * lint --strict} with it enabled, and Prometheus's own checks of the rendered rule file (every
 * expression parsed by Prometheus's PromQL parser, labels and annotation templates validated: what
 * {@code promtool check rules} does), by {@code promql-check} built from the
 * github.com/prometheus/prometheus Go module ({@code build-promql-check.sh}).
 */
class PrometheusRuleTest {
  static final Map<String, Object> ENABLED = Map.of("metrics.prometheusRule.enabled", true);
  static final List<String> ALERTS =
      List.of(
          "VmPowerVmGaveUp",
          "VmPowerLaunchersWithoutMonitor",
          "VmPowerNoLeader",
          "VmPowerWebhookErrors");
  static final KubernetesSerialization SERIALIZATION = new KubernetesSerialization();
  static Path promqlCheck;

  @TempDir Path dir;

  /** Builds promql-check once (about a minute; later runs find it in ~/.cache/vmpower). */
  @BeforeAll
  static void buildChecker() throws Exception {
    Process p =
        new ProcessBuilder("bash", "build-promql-check.sh")
            .redirectError(ProcessBuilder.Redirect.INHERIT)
            .start();
    String out;
    try (InputStream in = p.getInputStream()) {
      out = new String(in.readAllBytes(), StandardCharsets.UTF_8).strip();
    }
    assertThat(p.waitFor(30, TimeUnit.MINUTES)).as("build-promql-check.sh finished").isTrue();
    assertThat(p.exitValue()).as("build-promql-check.sh exit code").isZero();
    promqlCheck = Path.of(out.lines().reduce((a, b) -> b).orElseThrow());
    assertThat(promqlCheck).isExecutable();
  }

  record Check(int exit, String out, String err) {}

  static Check check(String... args) throws Exception {
    List<String> command = new java.util.ArrayList<>(List.of(promqlCheck.toString()));
    command.addAll(List.of(args));
    Process p = new ProcessBuilder(command).start();
    p.getOutputStream().close();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
    return new Check(p.exitValue(), out, err);
  }

  static GenericKubernetesResource rule(Rendered chart) {
    List<GenericKubernetesResource> rules =
        chart.custom("monitoring.coreos.com/v1", "PrometheusRule");
    assertThat(rules).hasSize(1);
    return rules.get(0);
  }

  @SuppressWarnings("unchecked")
  static List<Map<String, Object>> alerts(GenericKubernetesResource rule) {
    List<Map<String, Object>> groups = rule.get("spec", "groups");
    assertThat(groups).hasSize(1);
    return (List<Map<String, Object>>) groups.get(0).get("rules");
  }

  /** The rule file Prometheus would load: the PrometheusRule's spec. */
  Path ruleFile(GenericKubernetesResource rule) throws IOException {
    Path file = dir.resolve("vmpower.rules.yaml");
    Files.writeString(file, SERIALIZATION.asYaml(rule.getAdditionalProperties().get("spec")));
    return file;
  }

  @Test
  void offByDefault() {
    assertThat(Rendered.render(Map.of()).custom("monitoring.coreos.com/v1", "PrometheusRule"))
        .isEmpty();
  }

  @Test
  void fourAlertsEachWithItsRunbookSection() throws Exception {
    GenericKubernetesResource rule = rule(Rendered.render(ENABLED));
    assertThat(rule.getMetadata().getNamespace()).isEqualTo(Rendered.NAMESPACE);
    List<Map<String, Object>> alerts = alerts(rule);
    assertThat(alerts).extracting(a -> a.get("alert")).containsExactlyElementsOf(ALERTS);
    String runbooks = Files.readString(Path.of("../docs/runbooks.md"));
    for (Map<String, Object> alert : alerts) {
      String name = (String) alert.get("alert");
      @SuppressWarnings("unchecked")
      Map<String, String> annotations = (Map<String, String>) alert.get("annotations");
      assertThat(annotations.get("runbook_url"))
          .isEqualTo(
              "https://github.com/vmpower/vmpower/blob/main/docs/runbooks.md#"
                  + name.toLowerCase(Locale.ROOT));
      assertThat(runbooks).as("runbook section of %s", name).contains("\n## " + name + "\n");
      assertThat(annotations).containsKeys("summary", "description");
      assertThat(((Map<?, ?>) alert.get("labels")).get("severity")).isNotNull();
    }
    // the controller's gauges are taken from this release's pods only
    assertThat((String) alerts.get(0).get("expr"))
        .isEqualTo("max(vmpower_controller_vms_gave_up{namespace=\"vmpower-system\"}) > 0");
  }

  @Test
  void prometheusAcceptsTheRenderedRuleFile() throws Exception {
    Path file = ruleFile(rule(Rendered.render(ENABLED)));
    Check check = check(file.toString());
    assertThat(check.exit()).as(check.err()).isZero();
    assertThat(check.out()).isEqualTo("ok " + file + " 1 4\n");
    // every expression on its own, too
    StringBuilder exprs = new StringBuilder();
    for (Map<String, Object> alert : alerts(rule(Rendered.render(ENABLED)))) {
      exprs.append(((String) alert.get("expr")).replace('\n', ' ')).append('\n');
    }
    Path list = dir.resolve("exprs.txt");
    Files.writeString(list, exprs);
    Process p =
        new ProcessBuilder(promqlCheck.toString(), "-expr").redirectInput(list.toFile()).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
    assertThat(p.exitValue()).isZero();
    assertThat(out).isEqualTo("ok\nok\nok\nok\n");
  }

  @Test
  void theCheckerRejectsWhatPrometheusWould() throws Exception {
    Path broken = dir.resolve("broken.yaml");
    Files.writeString(
        broken, "groups:\n- name: x\n  rules:\n  - alert: A\n    expr: max(up{a=\"b\"} > 0\n");
    Check bad = check(broken.toString());
    assertThat(bad.exit()).isEqualTo(1);
    assertThat(bad.err()).contains("parse error");
    Path template = dir.resolve("template.yaml");
    Files.writeString(
        template,
        "groups:\n- name: x\n  rules:\n  - alert: A\n    expr: up > 0\n"
            + "    annotations:\n      summary: \"{{ $value \"\n");
    assertThat(check(template.toString()).exit()).isEqualTo(1);
  }

  @Test
  void withoutTheControllerOnlyTheWebhookAlertRemains() {
    Rendered chart =
        Rendered.render(
            Map.of("metrics.prometheusRule.enabled", true, "controller.enabled", false));
    assertThat(alerts(rule(chart)))
        .extracting(a -> a.get("alert"))
        .containsExactly("VmPowerWebhookErrors");
  }

  @Test
  void releaseNamespaceLabelsAndRunbookBaseAreTheValuesGiven() {
    Rendered chart =
        Rendered.renderWithValuesFile(
            """
            metrics:
              prometheusRule:
                enabled: true
                labels: {release: prom}
                alertLabels: {team: platform}
                runbookBaseUrl: https://wiki.example.com/vmpower
            """);
    GenericKubernetesResource rule = rule(chart);
    assertThat(rule.getMetadata().getLabels()).containsEntry("release", "prom");
    for (Map<String, Object> alert : alerts(rule)) {
      assertThat(((Map<?, ?>) alert.get("labels")).get("team")).isEqualTo("platform");
      assertThat(((Map<?, ?>) alert.get("annotations")).get("runbook_url").toString())
          .startsWith("https://wiki.example.com/vmpower#");
    }
    Rendered other = Rendered.render("prod", "ops", ENABLED);
    assertThat((String) alerts(rule(other)).get(2).get("expr"))
        .isEqualTo("(max(vmpower_controller_leader{namespace=\"ops\"}) or vector(0)) < 1");
  }

  @Test
  void lintStrictPassesWithTheRuleEnabled() throws Exception {
    Path copy = dir.resolve("vmpower");
    try (var paths = Files.walk(Rendered.CHART)) {
      for (Path source : paths.sorted(Comparator.naturalOrder()).toList()) {
        Path target = copy.resolve(Rendered.CHART.relativize(source).toString());
        if (Files.isDirectory(source)) {
          Files.createDirectories(target);
        } else {
          Files.copy(source, target);
        }
      }
    }
    Path values = copy.resolve("values.yaml");
    String text = Files.readString(values);
    String enabled =
        text.replace(
            "  prometheusRule:\n    # -- Create a prometheus-operator PrometheusRule with vmpower's"
                + " alerts (runbooks in\n    # docs/runbooks.md). Needs the metrics scraped, e.g."
                + " by the ServiceMonitor above.\n    enabled: false",
            "  prometheusRule:\n    enabled: true");
    assertThat(enabled).isNotEqualTo(text);
    Files.writeString(values, enabled);

    LintResult result = new Helm(copy).lint().strict().call();

    assertThat(result.isFailed()).as("helm lint --strict: %s", result.getMessages()).isFalse();
    assertThat(result.getMessages())
        .noneMatch(m -> m.contains("[WARNING]") || m.contains("[ERROR]"));
  }
}
