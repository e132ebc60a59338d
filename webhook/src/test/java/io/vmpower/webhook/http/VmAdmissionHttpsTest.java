package io.vmpower.webhook.http;

import static io.vmpower.admission.testing.Manifests.vm;
import static io.vmpower.admission.testing.Reviews.bytes;
import static io.vmpower.admission.testing.Reviews.parse;
import static io.vmpower.admission.testing.Reviews.vmReview;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.github.fge.jsonpatch.JsonPatch;
import io.vmpower.admission.Webhooks;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.MethodSource;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;

/**
 * The VM webhook as the API server sees it: HTTPS with the generated CA and host-name verification,
 * AdmissionReview in, AdmissionReview out, patches applied with an independent implementation.
 */
@ExtendWith(OutputCaptureExtension.class)
class VmAdmissionHttpsTest extends HttpsApplicationTest {

  private JsonNode send(JsonNode review) throws Exception {
    return review(Webhooks.VIRTUAL_MACHINES, review);
  }

  /** Applies the response's patch with java-json-tools, not the library that made it. */
  private static JsonNode applied(JsonNode object, JsonNode response) throws Exception {
    if (!response.has("patch")) {
      return object;
    }
    assertThat(response.path("patchType").asText()).isEqualTo("JSONPatch");
    JsonNode patch =
        parse(
            new String(
                Base64.getDecoder().decode(response.path("patch").asText()),
                StandardCharsets.UTF_8));
    return JsonPatch.fromJson(patch).apply(object);
  }

  static Stream<Arguments> policyRows() {
    return Stream.of(
        Arguments.of("AlwaysOn", "Always", false),
        Arguments.of("AlwaysOff", "Halted", false),
        Arguments.of("Manual", "Manual", false),
        Arguments.of("AlwaysOnUnlessStoppedManually", "Manual", true));
  }

  @ParameterizedTest(name = "CREATE {0}")
  @MethodSource("policyRows")
  void everyPolicyRowOverVerifiedHttps(String policy, String strategy, boolean pending)
      throws Exception {
    ObjectNode vm = vm("db", policy, "");
    JsonNode response = send(vmReview("uid-" + policy, "CREATE", vm, null));
    assertThat(response.path("allowed").asBoolean()).isTrue();
    JsonNode stored = applied(vm, response);
    ObjectNode expected = vm.deepCopy();
    ((ObjectNode) expected.get("spec")).put("runStrategy", strategy);
    expected.withObject("/spec/template/metadata/labels").put("vmpower.io/run-policy", policy);
    expected.withObject("/metadata/labels").put("vmpower.io/run-policy", policy); // issue 15
    if (pending) {
      expected.withObject("/metadata/annotations").put("vmpower.io/start-pending", "true");
    }
    assertThat(stored).isEqualTo(expected);
  }

  @Test
  void theIpAddressIsInTheCertificateToo() throws Exception {
    HttpResponse<String> response =
        client()
            .post(
                uri("127.0.0.1", Webhooks.VIRTUAL_MACHINES),
                "application/json",
                bytes(vmReview("ip", "CREATE", vm("db", "Manual", ""), null)));
    assertThat(response.statusCode()).isEqualTo(200);
  }

  @Test
  void consistentVmGetsNoPatch() throws Exception {
    ObjectNode vm = vm("db", "AlwaysOff", "runStrategy: Halted");
    vm.withObject("/spec/template/metadata/labels").put("vmpower.io/run-policy", "AlwaysOff");
    vm.withObject("/metadata/labels").put("vmpower.io/run-policy", "AlwaysOff"); // issue 15
    JsonNode response = send(vmReview("same", "CREATE", vm, null));
    assertThat(response.path("allowed").asBoolean()).isTrue();
    assertThat(response.has("patch")).isFalse();
    assertThat(response.has("patchType")).isFalse();
  }

  @Test
  void unmanagedVmGetsNoPatch() throws Exception {
    JsonNode response = send(vmReview("none", "CREATE", vm("db", null, "running: true"), null));
    assertThat(response.path("allowed").asBoolean()).isTrue();
    assertThat(response.has("patch")).isFalse();
  }

  @Test
  void runningIsReplacedWithAWarning() throws Exception {
    ObjectNode vm = vm("db", "AlwaysOn", "running: true");
    JsonNode response = send(vmReview("running", "CREATE", vm, null));
    assertThat(response.path("warnings").get(0).asText())
        .isEqualTo("spec.running removed: run policy AlwaysOn sets spec.runStrategy: Always");
    JsonNode stored = applied(vm, response);
    assertThat(stored.at("/spec/running").isMissingNode()).isTrue();
    assertThat(stored.at("/spec/runStrategy").asText()).isEqualTo("Always");
  }

  @Test
  void aliasIsNormalizedWithAWarning() throws Exception {
    ObjectNode vm = vm("db", "AlwaysOnUntilStoppedManually", "");
    JsonNode response = send(vmReview("alias", "CREATE", vm, null));
    assertThat(response.path("warnings").get(0).asText()).contains("deprecated");
    assertThat(applied(vm, response).at("/metadata/annotations/vmpower.io~1run-policy").asText())
        .isEqualTo("AlwaysOnUnlessStoppedManually");
  }

  @Test
  void keysWithSlashAndTildeAreEscapedAndLeftAlone() throws Exception {
    ObjectNode vm = vm("db", "Manual", "");
    vm.withObject("/spec/template/metadata/labels")
        .put("example.com/tier~1", "gold")
        .put("a~b/c", "d");
    vm.withObject("/metadata/annotations").put("x/y~z", "keep");
    JsonNode response = send(vmReview("escape", "CREATE", vm, null));
    String patch =
        new String(
            Base64.getDecoder().decode(response.path("patch").asText()), StandardCharsets.UTF_8);
    assertThat(patch).contains("/spec/template/metadata/labels/vmpower.io~1run-policy");
    JsonNode stored = applied(vm, response);
    ObjectNode expected = vm.deepCopy();
    ((ObjectNode) expected.get("spec")).put("runStrategy", "Manual");
    expected.withObject("/spec/template/metadata/labels").put("vmpower.io/run-policy", "Manual");
    expected.withObject("/metadata/labels").put("vmpower.io/run-policy", "Manual"); // issue 15
    assertThat(stored).isEqualTo(expected);
  }

  @ParameterizedTest(name = "UPDATE {0}: {1} -> {2}")
  @CsvSource({
    "AlwaysOn, runStrategy, Halted, 'has run policy AlwaysOn, which keeps spec.runStrategy: Always; refusing spec.runStrategy: Halted'",
    "AlwaysOff, runStrategy, Always, 'has run policy AlwaysOff, which keeps spec.runStrategy: Halted; refusing spec.runStrategy: Always'",
    "Manual, runStrategy, RerunOnFailure, 'has run policy Manual, which keeps spec.runStrategy: Manual; refusing spec.runStrategy: RerunOnFailure'",
    "AlwaysOn, running, false, 'refusing spec.running: false'"
  })
  void updatesThatMoveAwayFromThePolicyAreDenied(
      String policy, String field, String value, String message) throws Exception {
    ObjectNode old = vm("db", policy, "");
    ((ObjectNode) old.get("spec"))
        .put(
            "runStrategy",
            io.vmpower.api.RunPolicy.parse(policy).orElseThrow().policy().runStrategy());
    if (field.equals("running")) {
      // a stored running (an unmanaged VM's, say) moved away; one that merely appears is stripped
      ((ObjectNode) old.get("spec")).put("running", true);
    }
    ObjectNode changed = old.deepCopy();
    ((ObjectNode) changed.get("spec")).remove("runStrategy");
    if (field.equals("running")) {
      ((ObjectNode) changed.get("spec")).put("running", Boolean.parseBoolean(value));
    } else {
      ((ObjectNode) changed.get("spec")).put(field, value);
    }
    JsonNode response = send(vmReview("deny-" + policy + field, "UPDATE", changed, old));
    assertThat(response.path("allowed").asBoolean()).isFalse();
    assertThat(response.has("patch")).isFalse();
    assertThat(response.path("status").path("code").asInt()).isEqualTo(403);
    assertThat(response.path("status").path("reason").asText()).isEqualTo("Forbidden");
    assertThat(response.path("status").path("message").asText())
        .startsWith("VirtualMachine team-a/db ")
        .contains(message);
  }

  @Test
  void updateSwitchingPolicyIsPatched() throws Exception {
    ObjectNode old = vm("db", "AlwaysOn", "runStrategy: Always");
    ObjectNode changed = old.deepCopy();
    changed
        .withObject("/metadata/annotations")
        .put("vmpower.io/run-policy", "AlwaysOnUnlessStoppedManually");
    JsonNode stored = applied(changed, send(vmReview("switch", "UPDATE", changed, old)));
    assertThat(stored.at("/spec/runStrategy").asText()).isEqualTo("Manual");
    assertThat(stored.at("/metadata/annotations/vmpower.io~1start-pending").asText())
        .isEqualTo("true");
  }

  @Test
  void updateRemovingPolicyRemovesTheLabelOnly() throws Exception {
    ObjectNode old = vm("db", "AlwaysOn", "runStrategy: Always");
    old.withObject("/spec/template/metadata/labels").put("vmpower.io/run-policy", "AlwaysOn");
    ObjectNode changed = old.deepCopy();
    changed.withObject("/metadata/annotations").remove("vmpower.io/run-policy");
    JsonNode stored = applied(changed, send(vmReview("unmanage", "UPDATE", changed, old)));
    assertThat(stored.at("/spec/template/metadata/labels/vmpower.io~1run-policy").isMissingNode())
        .isTrue();
    assertThat(stored.at("/spec/runStrategy").asText()).isEqualTo("Always");
  }

  @Test
  void unknownPolicyIsDenied() throws Exception {
    JsonNode response = send(vmReview("bad", "CREATE", vm("db", "OnTuesdays", ""), null));
    assertThat(response.path("allowed").asBoolean()).isFalse();
    assertThat(response.path("status").path("code").asInt()).isEqualTo(422);
    assertThat(response.path("status").path("message").asText())
        .contains("Unsupported value: \"OnTuesdays\"")
        .contains("\"AlwaysOn\", \"AlwaysOff\", \"Manual\", \"AlwaysOnUnlessStoppedManually\"");
  }

  @Test
  void dryRunGetsTheSameAnswer() throws Exception {
    ObjectNode vm = vm("db", "AlwaysOff", "running: true");
    ObjectNode review = vmReview("dry", "CREATE", vm, null);
    JsonNode real = send(review);
    ((ObjectNode) review.get("request")).put("dryRun", true);
    JsonNode dry = send(review);
    assertThat(dry).isEqualTo(real);
  }

  @Test
  void statusSubresourceIsNotMutated() throws Exception {
    ObjectNode old = vm("db", "AlwaysOn", "runStrategy: Halted");
    ObjectNode review = vmReview("status", "UPDATE", old.deepCopy(), old);
    ((ObjectNode) review.get("request")).put("subResource", "status");
    JsonNode response = send(review);
    assertThat(response.path("allowed").asBoolean()).isTrue();
    assertThat(response.has("patch")).isFalse();
  }

  @Test
  void everyReviewIsLoggedAsOneJsonLine(CapturedOutput output) throws Exception {
    send(vmReview("log-uid-42", "CREATE", vm("logged", "AlwaysOn", ""), null));
    String line =
        output.getOut().lines().filter(l -> l.contains("log-uid-42")).findFirst().orElseThrow();
    JsonNode entry = parse(line);
    assertThat(entry.path("message").asText()).isEqualTo("admission review");
    assertThat(entry.path("uid").asText()).isEqualTo("log-uid-42");
    assertThat(entry.path("kind").asText()).isEqualTo("VirtualMachine");
    assertThat(entry.path("namespace").asText()).isEqualTo("team-a");
    assertThat(entry.path("name").asText()).isEqualTo("logged");
    assertThat(entry.path("decision").asText()).isEqualTo("mutated");
    assertThat(entry.path("durationMs").isNumber()).isTrue();
  }

  @Test
  void deniedAndRejectedReviewsAreLoggedWithTheirReason(CapturedOutput output) throws Exception {
    send(vmReview("log-denied-7", "CREATE", vm("db", "Nope", ""), null));
    post(Webhooks.VIRTUAL_MACHINES, "application/json", "[]".getBytes(StandardCharsets.UTF_8));
    JsonNode denied =
        parse(
            output
                .getOut()
                .lines()
                .filter(l -> l.contains("log-denied-7"))
                .findFirst()
                .orElseThrow());
    assertThat(denied.path("decision").asText()).isEqualTo("denied");
    assertThat(denied.path("detail").asText()).contains("Unsupported value: \"Nope\"");
    JsonNode rejected =
        parse(
            output
                .getOut()
                .lines()
                .filter(l -> l.contains("\"decision\":\"rejected\"") && l.contains("got an array"))
                .findFirst()
                .orElseThrow());
    assertThat(rejected.path("status").asInt()).isEqualTo(400);
    assertThat(rejected.path("level").asText()).isEqualTo("WARN");
    assertThat(output.getAll()).doesNotContain("failed to append");
  }
}
