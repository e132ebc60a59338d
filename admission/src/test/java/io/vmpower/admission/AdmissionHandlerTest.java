package io.vmpower.admission;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.vmpower.api.ResourceType;
import io.vmpower.api.admission.AdmissionInput;
import io.vmpower.api.admission.Mutator;
import io.vmpower.api.admission.TreeEdit;
import io.vmpower.api.admission.Verdict;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The answer writer's shortcut for recurring strings writes what Jackson itself would. */
class AdmissionHandlerTest {
  private static final JsonMapper JSON = new JsonMapper();

  /** Quotes, backslashes, control characters, non-ASCII and a surrogate pair. */
  private static final String RECURRING =
      "#!/bin/bash\necho \"it's\" \\ $HOME\t\u0001 ü 数据 😀 </script>\n".repeat(50);

  /** Puts {@link #RECURRING} (the same instance) and a per-review copy into the object. */
  private static final class Writer implements Mutator {
    @Override
    public Verdict review(AdmissionInput input) {
      TreeEdit edit = new TreeEdit((ObjectNode) input.object());
      ObjectNode spec = edit.newObject(edit.root(), "spec");
      spec.putArray("command").add("/bin/bash").add(RECURRING).add("x");
      spec.put("copy", new String(RECURRING.toCharArray()));
      return new Verdict.Allow(edit.root(), List.of(), "mutated");
    }
  }

  @Test
  void recurringStringsAreWrittenAsJacksonWritesThem() throws Exception {
    var handler =
        new AdmissionHandler(
            ResourceType.POD,
            new Writer(),
            new ReviewReader(1 << 20),
            new ReviewWriter(Set.of(RECURRING)));
    String review =
        "{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\",\"request\":{"
            + "\"uid\":\"u\",\"kind\":{\"group\":\"\",\"version\":\"v1\",\"kind\":\"Pod\"},"
            + "\"operation\":\"CREATE\",\"object\":{\"metadata\":{\"name\":\"p\"}}}}";
    for (int i = 0; i < 2; i++) {
      AdmissionHandler.Result result = handler.handle(review.getBytes(StandardCharsets.UTF_8));
      assertThat(result.httpStatus()).isEqualTo(200);
      JsonNode answer = JSON.readTree(result.body());
      byte[] patch = Base64.getDecoder().decode(answer.at("/response/patch").asText());

      ObjectNode expectedValue = JSON.createObjectNode();
      expectedValue.putArray("command").add("/bin/bash").add(RECURRING).add("x");
      expectedValue.put("copy", RECURRING);
      JsonNode expected =
          JSON.createArrayNode()
              .add(
                  JSON.createObjectNode()
                      .put("op", "add")
                      .put("path", "/spec")
                      .set("value", expectedValue));
      // the same JSON value; the bytes may differ (a surrogate pair may be written escaped)
      assertThat(JSON.readTree(patch)).isEqualTo(expected);
      assertThat(new String(patch, StandardCharsets.UTF_8))
          .contains(JSON.writeValueAsString(RECURRING));
    }
  }
}
