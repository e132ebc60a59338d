package io.vmpower.admission.testing;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.UncheckedIOException;

/** AdmissionReview requests as the API server sends them. */
public final class Reviews {
  public static final JsonMapper JSON = new JsonMapper();

  private Reviews() {}

  public static ObjectNode review(
      String uid,
      String group,
      String kind,
      String operation,
      JsonNode object,
      JsonNode oldObject) {
    ObjectNode review = JSON.createObjectNode();
    review.put("apiVersion", "admission.k8s.io/v1").put("kind", "AdmissionReview");
    ObjectNode request = review.putObject("request");
    request.put("uid", uid);
    request.putObject("kind").put("group", group).put("version", "v1").put("kind", kind);
    request
        .putObject("resource")
        .put("group", group)
        .put("version", "v1")
        .put("resource", kind.toLowerCase() + "s");
    request.put("operation", operation);
    request.put("namespace", "team-a");
    if (object != null) {
      request.put("name", object.path("metadata").path("name").asText());
      request.set("object", object);
    }
    if (oldObject != null) {
      request.set("oldObject", oldObject);
    }
    request.putObject("userInfo").put("username", "alice");
    request.put("dryRun", false);
    return review;
  }

  public static ObjectNode vmReview(String uid, String operation, JsonNode vm, JsonNode oldVm) {
    return review(uid, "kubevirt.io", "VirtualMachine", operation, vm, oldVm);
  }

  public static ObjectNode podReview(String uid, JsonNode pod) {
    return review(uid, "", "Pod", "CREATE", pod, null);
  }

  /** The review as sent for {@code username} in {@code groups}. */
  public static ObjectNode as(ObjectNode review, String username, String... groups) {
    ObjectNode user = ((ObjectNode) review.get("request")).putObject("userInfo");
    user.put("username", username);
    var array = user.putArray("groups");
    for (String group : groups) {
      array.add(group);
    }
    return review;
  }

  /** The review for an object in {@code namespace}. */
  public static ObjectNode inNamespace(ObjectNode review, String namespace) {
    ((ObjectNode) review.get("request")).put("namespace", namespace);
    return review;
  }

  public static byte[] bytes(JsonNode node) {
    try {
      return JSON.writeValueAsBytes(node);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  public static JsonNode parse(String text) {
    try {
      return JSON.readTree(text);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
