package io.vmpower.webhook.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.MappingIterator;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLGenerator;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import io.fabric8.zjsonpatch.JsonPatch;
import io.vmpower.admission.AdmissionHandler;
import io.vmpower.admission.ClusterView;
import io.vmpower.admission.RebootPolicyGate;
import io.vmpower.admission.Webhook;
import io.vmpower.admission.Webhooks;
import io.vmpower.api.KubeVirtAccounts;
import io.vmpower.api.ResourceType;
import io.vmpower.api.RunPolicy;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * Shows what the webhooks would do to manifests, offline, in the spirit of {@code istioctl
 * kube-inject}: each VirtualMachine and Pod goes through the same AdmissionReview handling as on
 * the server (as a CREATE), the returned patch is applied, and the result printed. Other documents
 * pass through unchanged.
 */
@Command(
    name = "preview",
    mixinStandardHelpOptions = true,
    description = {
      "Print manifests as vmpower's webhooks would store them (VirtualMachines and virt-launcher Pods,",
      "as a CREATE). Reads YAML or JSON, one or several documents. Exit code 1 when a webhook would deny",
      "a document (the reason goes to stderr and nothing is printed), 2 when the input is unreadable."
    })
public final class PreviewCommand implements Callable<Integer> {
  private static final int MAX_BYTES = 64 * 1024 * 1024;

  @Spec CommandSpec spec;

  @Option(
      names = {"-f", "--filename"},
      description = "File to read; '-' (the default) reads stdin. Repeatable.",
      defaultValue = "-")
  List<String> files;

  @Option(
      names = {"-o", "--output"},
      description = "yaml (default) or json.",
      defaultValue = "yaml")
  String output;

  @Option(
      names = "--default-run-policy",
      paramLabel = "POLICY",
      description = {
        "The run policy of VMs without their own vmpower.io/run-policy, as the namespace",
        "annotation vmpower.io/default-run-policy gives it (AlwaysOn, AlwaysOff, Manual,",
        "AlwaysOnUnlessStoppedManually)."
      })
  String defaultRunPolicy;

  private final YAMLMapper yaml =
      YAMLMapper.builder(
              YAMLFactory.builder()
                  .disable(YAMLGenerator.Feature.WRITE_DOC_START_MARKER)
                  .enable(YAMLGenerator.Feature.MINIMIZE_QUOTES)
                  .enable(YAMLGenerator.Feature.ALWAYS_QUOTE_NUMBERS_AS_STRINGS)
                  .build())
          .build();
  private final JsonMapper json = new JsonMapper();

  @Override
  public Integer call() {
    PrintWriter out = spec.commandLine().getOut();
    PrintWriter err = spec.commandLine().getErr();
    if (!output.equals("yaml") && !output.equals("json")) {
      err.println("error: --output must be yaml or json, got " + output);
      return 2;
    }
    List<JsonNode> documents = new ArrayList<>();
    for (String file : files) {
      try {
        documents.addAll(read(file));
      } catch (NoSuchFileException e) {
        err.println("error: " + file + ": no such file");
        return 2;
      } catch (IOException e) {
        err.println("error: " + (file.equals("-") ? "stdin" : file) + ": " + firstLine(e));
        return 2;
      }
    }
    ClusterView cluster = ClusterView.NONE;
    if (defaultRunPolicy != null) {
      if (RunPolicy.parse(defaultRunPolicy).isEmpty()) {
        err.println(
            "error: --default-run-policy must be one of "
                + String.join(", ", RunPolicy.values(false))
                + ", got "
                + defaultRunPolicy);
        return 2;
      }
      cluster = ClusterView.sameDefault(defaultRunPolicy);
    }
    Webhooks webhooks =
        Webhooks.create(MAX_BYTES, cluster, KubeVirtAccounts.DEFAULT, RebootPolicyGate.CLOSED);
    List<JsonNode> results = new ArrayList<>();
    boolean denied = false;
    int index = 0;
    for (JsonNode document : documents) {
      index++;
      Preview preview = preview(webhooks, document, index);
      preview.warnings().forEach(w -> err.println("Warning: " + describe(document) + ": " + w));
      if (preview.denial() != null) {
        err.println("Error: " + describe(document) + ": " + preview.denial());
        denied = true;
      } else {
        results.add(preview.object());
      }
    }
    if (denied) {
      return 1;
    }
    print(out, results);
    return 0;
  }

  private record Preview(JsonNode object, List<String> warnings, String denial) {}

  private Preview preview(Webhooks webhooks, JsonNode document, int index) {
    if (!document.isObject()) {
      return new Preview(document, List.of(), null);
    }
    String apiVersion = document.path("apiVersion").asText("");
    String kind = document.path("kind").asText("");
    if ("List".equals(kind) && document.path("items").isArray()) {
      return previewList(webhooks, document, index);
    }
    Optional<Webhook> webhook = webhooks.forManifest(apiVersion, kind);
    if (webhook.isEmpty()) {
      return new Preview(document, List.of(), null);
    }
    AdmissionHandler.Result result =
        webhook.get().handler().handle(review(document, webhook.get().type(), index));
    JsonNode response = readTree(result.body());
    if (result.httpStatus() != 200) {
      return new Preview(document, List.of(), response.path("message").asText());
    }
    JsonNode answer = response.path("response");
    List<String> warnings = new ArrayList<>();
    answer.path("warnings").forEach(w -> warnings.add(w.asText()));
    if (!answer.path("allowed").asBoolean()) {
      return new Preview(document, warnings, answer.path("status").path("message").asText());
    }
    if (!answer.hasNonNull("patch")) {
      return new Preview(document, warnings, null);
    }
    JsonNode patch = readTree(Base64.getDecoder().decode(answer.path("patch").asText()));
    return new Preview(JsonPatch.apply(patch, document), warnings, null);
  }

  private Preview previewList(Webhooks webhooks, JsonNode list, int index) {
    ObjectNode copy = list.deepCopy();
    ArrayNode items = copy.putArray("items");
    List<String> warnings = new ArrayList<>();
    for (JsonNode item : list.path("items")) {
      Preview preview = preview(webhooks, item, index);
      if (preview.denial() != null) {
        return new Preview(list, preview.warnings(), preview.denial());
      }
      warnings.addAll(preview.warnings());
      items.add(preview.object());
    }
    return new Preview(copy, warnings, null);
  }

  /** The AdmissionReview the API server would send for creating this object. */
  private byte[] review(JsonNode object, ResourceType type, int index) {
    ObjectNode review = json.createObjectNode();
    review.put("apiVersion", "admission.k8s.io/v1").put("kind", "AdmissionReview");
    ObjectNode request = review.putObject("request");
    request.put("uid", "preview-" + index);
    String apiVersion = object.path("apiVersion").asText();
    request
        .putObject("kind")
        .put("group", type.group())
        .put("version", apiVersion.substring(apiVersion.indexOf('/') + 1))
        .put("kind", type.kind());
    request.put("operation", "CREATE");
    request.put("namespace", object.path("metadata").path("namespace").asText("default"));
    request.put("name", object.path("metadata").path("name").asText(""));
    request.put("dryRun", true);
    request.set("object", object);
    try {
      return json.writeValueAsBytes(review);
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }

  private List<JsonNode> read(String file) throws IOException {
    byte[] bytes;
    if (file.equals("-")) {
      bytes = readCapped(System.in);
    } else {
      try (InputStream in = Files.newInputStream(Path.of(file))) {
        bytes = readCapped(in);
      }
    }
    List<JsonNode> documents = new ArrayList<>();
    try (MappingIterator<JsonNode> it = yaml.readerFor(JsonNode.class).readValues(bytes)) {
      while (it.hasNextValue()) {
        JsonNode document = it.nextValue();
        if (document != null && !document.isNull() && !document.isMissingNode()) {
          documents.add(document);
        }
      }
    }
    return documents;
  }

  private static byte[] readCapped(InputStream in) throws IOException {
    byte[] bytes = in.readNBytes(MAX_BYTES + 1);
    if (bytes.length > MAX_BYTES) {
      throw new IOException("input is larger than " + MAX_BYTES + " bytes");
    }
    return bytes;
  }

  private void print(PrintWriter out, List<JsonNode> results) {
    try {
      if (output.equals("json")) {
        JsonNode value = results.size() == 1 ? results.get(0) : list(results);
        out.println(json.writerWithDefaultPrettyPrinter().writeValueAsString(value));
      } else {
        for (int i = 0; i < results.size(); i++) {
          if (i > 0) {
            out.println("---");
          }
          out.print(yaml.writeValueAsString(results.get(i)));
        }
      }
      out.flush();
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }

  private JsonNode list(List<JsonNode> items) {
    ObjectNode list = json.createObjectNode().put("apiVersion", "v1").put("kind", "List");
    list.putArray("items").addAll(items);
    return list;
  }

  private JsonNode readTree(byte[] bytes) {
    try {
      return json.readTree(bytes);
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }

  private static String describe(JsonNode document) {
    JsonNode metadata = document.path("metadata");
    String name = metadata.path("name").asText(metadata.path("generateName").asText("(unnamed)"));
    return document.path("kind").asText("object") + " " + name;
  }

  private static String firstLine(Exception e) {
    String message = String.valueOf(e.getMessage());
    int newline = message.indexOf('\n');
    return newline < 0 ? message : message.substring(0, newline);
  }
}
