package io.vmpower.admission;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.github.fge.jsonpatch.JsonPatch;
import io.vmpower.api.ResourceType;
import java.nio.charset.StandardCharsets;
import java.util.Base64;

/**
 * What must hold for every answer to any input, checked by the fuzz tests: no exception escapes;
 * the answer is a 200 AdmissionReview for the request's uid or a 4xx Kubernetes Status; a patch is
 * a JSON patch that applies to the submitted object, and the stored result is a fixed point (sent
 * again, it needs no further patch).
 */
final class ReviewProperties {
  private ReviewProperties() {}

  static final int MAX_BYTES = 7 * 1024 * 1024;
  static final Webhooks WEBHOOKS = Webhooks.create(MAX_BYTES);
  private static final JsonMapper JSON = new JsonMapper();

  static AdmissionHandler handler(boolean vm) {
    return WEBHOOKS.of(vm ? ResourceType.VIRTUAL_MACHINE : ResourceType.POD).handler();
  }

  static void check(boolean vm, byte[] body) throws Exception {
    AdmissionHandler handler = handler(vm);
    AdmissionHandler.Result result = handler.handle(body);
    JsonNode answer = JSON.readTree(result.body());
    if (result.httpStatus() != 200) {
      assertThat(result.httpStatus()).isIn(400, 413);
      assertThat(answer.path("kind").asText()).isEqualTo("Status");
      assertThat(answer.path("code").asInt()).isEqualTo(result.httpStatus());
      assertThat(answer.path("message").asText()).isNotBlank();
      assertThat(result.summary().decision()).isEqualTo("rejected");
      return;
    }
    JsonNode request = JSON.readTree(body).path("request");
    assertThat(answer.path("kind").asText()).isEqualTo("AdmissionReview");
    JsonNode response = answer.path("response");
    assertThat(response.path("uid").asText()).isEqualTo(request.path("uid").asText());
    assertThat(response.path("allowed").isBoolean()).isTrue();
    if (!response.path("allowed").booleanValue()) {
      assertThat(response.has("patch")).isFalse();
      assertThat(response.at("/status/message").asText()).isNotBlank();
      assertThat(response.at("/status/code").asInt()).isIn(400, 403, 422);
      return;
    }
    if (!response.has("patch")) {
      assertThat(result.summary().patchOperations()).isZero();
      return;
    }
    assertThat(response.path("patchType").asText()).isEqualTo("JSONPatch");
    JsonNode patch =
        JSON.readTree(
            new String(
                Base64.getDecoder().decode(response.path("patch").asText()),
                StandardCharsets.UTF_8));
    assertThat(patch.isArray()).isTrue();
    assertThat(patch.size()).isEqualTo(result.summary().patchOperations()).isPositive();
    JsonNode stored = JsonPatch.fromJson(patch).apply(request.path("object"));

    // Sent again as stored, the object needs no further patch: the mutation is idempotent.
    ObjectNode again = (ObjectNode) JSON.readTree(body);
    ((ObjectNode) again.path("request")).set("object", stored);
    AdmissionHandler.Result second = handler.handle(JSON.writeValueAsBytes(again));
    assertThat(second.httpStatus()).isEqualTo(200);
    JsonNode secondResponse = JSON.readTree(second.body()).path("response");
    assertThat(secondResponse.path("allowed").asBoolean())
        .as("stored object allowed again: %s", secondResponse)
        .isTrue();
    assertThat(secondResponse.has("patch"))
        .as("stored object needs no second patch: %s", secondResponse)
        .isFalse();
  }
}
