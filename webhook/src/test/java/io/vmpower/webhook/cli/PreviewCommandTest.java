package io.vmpower.webhook.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.MappingIterator;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PreviewCommandTest {
  @TempDir Path dir;

  record Run(int exit, String out, String err) {}

  private static Run run(String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int exit = VmPowerCli.run(new PrintWriter(out, true), new PrintWriter(err, true), args);
    return new Run(exit, out.toString(), err.toString());
  }

  private Path file(String name, String text) throws Exception {
    Path path = dir.resolve(name);
    Files.writeString(path, text);
    return path;
  }

  private static List<JsonNode> documents(String yaml) throws Exception {
    try (MappingIterator<JsonNode> it =
        new YAMLMapper().readerFor(JsonNode.class).readValues(yaml)) {
      return it.readAll();
    }
  }

  static final String VM =
      """
      apiVersion: kubevirt.io/v1
      kind: VirtualMachine
      metadata:
        name: db
        namespace: team-a
        annotations:
          vmpower.io/run-policy: AlwaysOnUnlessStoppedManually
      spec:
        running: true
        template:
          spec:
            domain:
              devices: {}
      """;

  static final String CONFIG_MAP =
      """
      apiVersion: v1
      kind: ConfigMap
      metadata:
        name: settings
      data:
        answer: "42"
      """;

  static final String POD =
      """
      apiVersion: v1
      kind: Pod
      metadata:
        generateName: virt-launcher-db-
        labels:
          kubevirt.io: virt-launcher
          vmpower.io/run-policy: Manual
      spec:
        containers:
          - name: compute
            image: quay.io/kubevirt/virt-launcher:v1.6.2
            command: ["/usr/bin/virt-launcher-monitor", "--name", "db", "--namespace", "team-a"]
      """;

  @Test
  void mutatesVmsAndPodsAndPassesOtherDocumentsThrough() throws Exception {
    Path input = file("all.yaml", VM + "---\n" + CONFIG_MAP + "---\n" + POD);
    Run run = run("preview", "-f", input.toString());

    assertThat(run.exit()).isZero();
    List<JsonNode> docs = documents(run.out());
    assertThat(docs).hasSize(3);
    JsonNode vm = docs.get(0);
    assertThat(vm.at("/spec/runStrategy").asText()).isEqualTo("Manual");
    assertThat(vm.at("/spec/running").isMissingNode()).isTrue();
    assertThat(vm.at("/metadata/annotations/vmpower.io~1start-pending").isTextual()).isTrue();
    assertThat(vm.at("/metadata/annotations/vmpower.io~1start-pending").asText()).isEqualTo("true");
    assertThat(vm.at("/spec/template/metadata/labels/vmpower.io~1run-policy").asText())
        .isEqualTo("AlwaysOnUnlessStoppedManually");
    assertThat(docs.get(1)).isEqualTo(documents(CONFIG_MAP).get(0));
    assertThat(docs.get(1).at("/data/answer").isTextual()).isTrue();
    JsonNode pod = docs.get(2);
    assertThat(pod.at("/spec/containers/0/command/0").asText())
        .isEqualTo("/usr/bin/virt-launcher-monitor");
    assertThat(pod.at("/spec/containers/0/lifecycle/postStart/exec/command/0").asText())
        .isEqualTo("/bin/bash");
    assertThat(pod.at("/spec/containers/0/lifecycle/postStart/exec/command/4").asText())
        .isEqualTo("/usr/bin/virt-launcher-monitor");
    assertThat(pod.at("/metadata/annotations/vmpower.io~1injection-status").asText())
        .contains("\"container\":\"compute\"");
    assertThat(run.err())
        .isEqualTo(
            "Warning: VirtualMachine db: spec.running removed: run policy"
                + " AlwaysOnUnlessStoppedManually sets spec.runStrategy: Manual\n");
  }

  @Test
  void readsJsonAndWritesJson() throws Exception {
    Path input =
        file(
            "vm.json",
            "{\"apiVersion\":\"kubevirt.io/v1\",\"kind\":\"VirtualMachine\",\"metadata\":{\"name\":\"web\","
                + "\"annotations\":{\"vmpower.io/run-policy\":\"AlwaysOff\"}},\"spec\":{\"template\":{}}}");
    Run run = run("preview", "-f", input.toString(), "-o", "json");
    assertThat(run.exit()).isZero();
    JsonNode vm = new com.fasterxml.jackson.databind.json.JsonMapper().readTree(run.out());
    assertThat(vm.at("/spec/runStrategy").asText()).isEqualTo("Halted");
    assertThat(run.err()).isEmpty();
  }

  @Test
  void listsAreProcessedItemByItem() throws Exception {
    String list =
        "apiVersion: v1\nkind: List\nitems:\n"
            + ("- " + VM.strip().replace("\n", "\n  ") + "\n")
            + ("- " + CONFIG_MAP.strip().replace("\n", "\n  ") + "\n");
    Run run = run("preview", "-f", file("list.yaml", list).toString());
    assertThat(run.exit()).as(run.err()).isZero();
    JsonNode out = documents(run.out()).get(0);
    assertThat(out.at("/items/0/spec/runStrategy").asText()).isEqualTo("Manual");
    assertThat(out.at("/items/1/kind").asText()).isEqualTo("ConfigMap");
  }

  @Test
  void readsStdinByDefault() throws Exception {
    InputStream saved = System.in;
    try {
      System.setIn(new ByteArrayInputStream(VM.getBytes(StandardCharsets.UTF_8)));
      Run run = run("preview");
      assertThat(run.exit()).isZero();
      assertThat(documents(run.out()).get(0).at("/spec/runStrategy").asText()).isEqualTo("Manual");
    } finally {
      System.setIn(saved);
    }
  }

  @Test
  void aDenialPrintsTheReasonAndNothingElse() throws Exception {
    Path input =
        file(
            "bad.yaml",
            VM.replace("AlwaysOnUnlessStoppedManually", "Sometimes") + "---\n" + CONFIG_MAP);
    Run run = run("preview", "-f", input.toString());
    assertThat(run.exit()).isEqualTo(1);
    assertThat(run.out()).isEmpty();
    assertThat(run.err())
        .startsWith(
            "Error: VirtualMachine db: metadata.annotations[vmpower.io/run-policy]: Unsupported"
                + " value: \"Sometimes\"");
  }

  @Test
  void unreadableInputIsExit2() throws Exception {
    Run missing = run("preview", "-f", dir.resolve("nope.yaml").toString());
    assertThat(missing.exit()).isEqualTo(2);
    assertThat(missing.err()).contains("nope.yaml: no such file");

    Run invalid = run("preview", "-f", file("broken.yaml", "kind: [unclosed\n").toString());
    assertThat(invalid.exit()).isEqualTo(2);
    assertThat(invalid.err()).startsWith("error: ");
    assertThat(invalid.err()).doesNotContain("\tat ");
  }

  @Test
  void badOutputFormatIsExit2() throws Exception {
    Run run = run("preview", "-f", file("vm.yaml", VM).toString(), "-o", "xml");
    assertThat(run.exit()).isEqualTo(2);
  }

  @Test
  void helpListsThePreviewCommand() {
    Run run = run("--help");
    assertThat(run.exit()).isZero();
    assertThat(run.out()).contains("preview");
  }

  static final String UNANNOTATED_VM =
      """
      apiVersion: kubevirt.io/v1
      kind: VirtualMachine
      metadata:
        name: web
        namespace: team-a
      spec:
        running: true
        template:
          spec:
            domain:
              devices: {}
      """;

  @Test
  void theNamespaceDefaultIsAnOption() throws Exception {
    Path input = file("web.yaml", UNANNOTATED_VM);
    Run without = run("preview", "-f", input.toString());
    assertThat(without.exit()).isZero();
    assertThat(documents(without.out()).get(0).at("/spec/running").asBoolean()).isTrue();

    Run with = run("preview", "--default-run-policy", "AlwaysOff", "-f", input.toString());
    assertThat(with.exit()).as(with.err()).isZero();
    JsonNode vm = documents(with.out()).get(0);
    assertThat(vm.at("/metadata/annotations/vmpower.io~1run-policy").asText())
        .isEqualTo("AlwaysOff");
    assertThat(vm.at("/spec/runStrategy").asText()).isEqualTo("Halted");
    assertThat(vm.at("/metadata/labels/vmpower.io~1run-policy").asText()).isEqualTo("AlwaysOff");
    assertThat(with.err())
        .contains(
            "Warning: VirtualMachine web: vmpower.io/run-policy=AlwaysOff: the default of"
                + " namespace team-a");

    // a VM's own policy wins over the default
    Run own =
        run("preview", "--default-run-policy", "AlwaysOff", "-f", file("vm.yaml", VM).toString());
    assertThat(documents(own.out()).get(0).at("/spec/runStrategy").asText()).isEqualTo("Manual");
  }

  @Test
  void anInvalidDefaultIsAUsageError() throws Exception {
    Run run =
        run(
            "preview",
            "--default-run-policy",
            "Sometimes",
            "-f",
            file("web.yaml", UNANNOTATED_VM).toString());
    assertThat(run.exit()).isEqualTo(2);
    assertThat(run.out()).isEmpty();
    assertThat(run.err())
        .isEqualTo(
            "error: --default-run-policy must be one of AlwaysOn, AlwaysOff, Manual,"
                + " AlwaysOnUnlessStoppedManually, got Sometimes\n");
  }

  @Test
  void helpListsTheStatusCommand() {
    Run run = run("--help");
    assertThat(run.out()).contains("status");
  }
}
