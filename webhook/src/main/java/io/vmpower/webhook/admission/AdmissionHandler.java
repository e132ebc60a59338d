package io.vmpower.webhook.admission;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.io.SerializedString;
import com.fasterxml.jackson.core.util.ByteArrayBuilder;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.json.JsonMapper;
import io.fabric8.kubernetes.api.model.Status;
import io.fabric8.kubernetes.api.model.StatusBuilder;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import io.vmpower.api.admission.Mutator;
import io.vmpower.api.admission.Verdict;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.IdentityHashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

/**
 * Answers AdmissionReviews for one kind of object with one {@link Mutator}: the code path shared by
 * the HTTPS endpoints and the offline preview.
 *
 * <p>The patch is always the JSON difference between the object as submitted and as the mutator
 * wants it stored ({@link JsonPatches}), so paths are escaped in one place and nothing is written
 * that did not change.
 */
public final class AdmissionHandler {
  private static final KubernetesSerialization SERIALIZATION = new KubernetesSerialization();
  private static final JsonMapper JSON = new JsonMapper();

  private final String group;
  private final String kind;

  /** What this endpoint reviews, as messages name it: {@code kubevirt.io/VirtualMachine}. */
  private final String reviews;

  private final Mutator mutator;
  private final ReviewReader reader;

  /** The mutator's recurring strings, JSON-encoded once; looked up by identity. */
  private final Map<String, SerializedString> encoded = new IdentityHashMap<>();

  public AdmissionHandler(String group, String kind, Mutator mutator, ReviewReader reader) {
    this.group = group;
    this.kind = kind;
    this.reviews = group.isEmpty() ? kind : group + "/" + kind;
    this.mutator = mutator;
    this.reader = reader;
    for (String s : mutator.recurringStrings()) {
      SerializedString string = new SerializedString(s);
      string.asQuotedUTF8(); // computed and kept now, not in the first review
      encoded.put(s, string);
    }
  }

  /** What was answered: the HTTP status and body, and a summary for logs and metrics. */
  public record Result(int httpStatus, byte[] body, Summary summary) {}

  /** One review as it appears in the logs. Empty strings where the request did not say. */
  public record Summary(
      String uid,
      String kind,
      String operation,
      String namespace,
      String name,
      boolean dryRun,
      String decision,
      int patchOperations,
      List<String> warnings,
      String message) {}

  public Result handle(byte[] body) {
    ReviewRequest request;
    try {
      request = reader.read(body);
      checkKind(request);
    } catch (BadReviewException e) {
      return rejected(e);
    }
    if (!request.subResource().isEmpty()) {
      return answer(request, new Verdict.Allow(request.object(), List.of(), "ignored"));
    }
    return answer(request, mutator.review(request.toInput()));
  }

  private void checkKind(ReviewRequest request) throws BadReviewException {
    if (!group.equals(request.group()) || !kind.equals(request.kind())) {
      String got =
          request.group().isEmpty() ? request.kind() : request.group() + "/" + request.kind();
      throw BadReviewException.badRequest(
          "this endpoint reviews "
              + reviews
              + " objects, got "
              + (got.isEmpty() ? "(no kind)" : got));
    }
    checkObjectKind(request.object(), "request.object");
    checkObjectKind(request.oldObject(), "request.oldObject");
  }

  /**
   * The object must be what {@code request.kind} says: the mutator would otherwise read a Pod as a
   * VirtualMachine. Only checked where the object names its kind (the API server always does).
   */
  private void checkObjectKind(JsonNode object, String path) throws BadReviewException {
    if (object == null) {
      return;
    }
    JsonNode objectKind = object.get("kind");
    JsonNode apiVersion = object.get("apiVersion");
    boolean kindMatches =
        objectKind == null || objectKind.isNull() || kind.equals(text(objectKind));
    boolean groupMatches =
        apiVersion == null
            || apiVersion.isNull()
            || (apiVersion.isTextual() && group.equals(group(apiVersion.textValue())));
    if (!kindMatches || !groupMatches) {
      throw BadReviewException.badRequest(
          path
              + " is "
              + BadReviewException.shorten(text(apiVersion), 64)
              + " "
              + BadReviewException.shorten(text(objectKind), 64)
              + ", but this endpoint reviews "
              + reviews
              + " objects");
    }
  }

  /** A scalar's text; other node types (which never match) are named by their type. */
  private static String text(JsonNode node) {
    if (node == null || node.isNull()) {
      return "(none)";
    }
    return node.isTextual() ? node.textValue() : "(" + ReviewReader.type(node) + ")";
  }

  private static String group(String apiVersion) {
    int slash = apiVersion.indexOf('/');
    return slash < 0 ? "" : apiVersion.substring(0, slash);
  }

  private Result answer(ReviewRequest request, Verdict verdict) {
    int operations = 0;
    List<String> warnings = List.of();
    String message = "";
    byte[] patch = null;
    Verdict.Deny denied = null;
    if (verdict instanceof Verdict.Allow allow) {
      warnings = allow.warnings();
      JsonNode diff = JsonPatches.diff(request.object(), allow.object());
      operations = diff.size();
      if (operations > 0) {
        // the JDK's encoder (vectorized) is several times faster than Jackson's writeBinary
        patch = Base64.getEncoder().encode(bytes(diff));
      }
    } else if (verdict instanceof Verdict.Deny deny) {
      denied = deny;
      message = deny.message();
    }
    var summary =
        new Summary(
            request.uid(),
            request.kind(),
            request.operation(),
            request.namespace(),
            request.name(),
            request.dryRun(),
            verdict.decision(),
            operations,
            warnings,
            message);
    return new Result(200, review(request.uid(), patch, warnings, denied), summary);
  }

  /**
   * The AdmissionReview answer, written straight to UTF-8 bytes: building it as fabric8 model
   * objects and serializing through Strings copied the (for pods, ~16 KB) patch five times per
   * review (bench/BENCHMARKS.md). Same JSON as before.
   */
  private static byte[] review(
      String uid, byte[] base64Patch, List<String> warnings, Verdict.Deny denied) {
    var out = new ByteArrayBuilder(base64Patch == null ? 256 : base64Patch.length + 256);
    try (JsonGenerator g = JSON.createGenerator(out)) {
      g.writeStartObject();
      g.writeStringField("apiVersion", "admission.k8s.io/v1");
      g.writeStringField("kind", "AdmissionReview");
      g.writeObjectFieldStart("response");
      g.writeStringField("uid", uid);
      g.writeBooleanField("allowed", denied == null);
      if (base64Patch != null) {
        g.writeStringField("patchType", "JSONPatch");
        g.writeFieldName("patch");
        g.writeRawUTF8String(base64Patch, 0, base64Patch.length); // base64 needs no escaping
      }
      if (!warnings.isEmpty()) {
        g.writeArrayFieldStart("warnings");
        for (String w : warnings) {
          g.writeString(w);
        }
        g.writeEndArray();
      }
      if (denied != null) {
        g.writeObjectFieldStart("status");
        g.writeStringField("status", "Failure");
        g.writeStringField("message", denied.message());
        g.writeStringField("reason", denied.reason());
        g.writeNumberField("code", denied.code());
        g.writeEndObject();
      }
      g.writeEndObject();
      g.writeEndObject();
    } catch (IOException e) {
      throw new UncheckedIOException(e); // writing to memory
    }
    return out.toByteArray();
  }

  private byte[] bytes(JsonNode patch) {
    var out = new ByteArrayBuilder(1024);
    try (JsonGenerator g = JSON.createGenerator(out)) {
      write(g, patch);
    } catch (IOException e) {
      throw new UncheckedIOException(e); // writing to memory
    }
    return out.toByteArray();
  }

  /** Jackson's tree writing, except that recurring strings are copied in already encoded. */
  private void write(JsonGenerator g, JsonNode node) throws IOException {
    switch (node.getNodeType()) {
      case OBJECT -> {
        g.writeStartObject();
        for (Iterator<Map.Entry<String, JsonNode>> it = node.fields(); it.hasNext(); ) {
          Map.Entry<String, JsonNode> field = it.next();
          g.writeFieldName(field.getKey());
          write(g, field.getValue());
        }
        g.writeEndObject();
      }
      case ARRAY -> {
        g.writeStartArray();
        for (JsonNode element : node) {
          write(g, element);
        }
        g.writeEndArray();
      }
      case STRING -> {
        SerializedString known = encoded.get(node.textValue());
        if (known != null) {
          g.writeString(known);
        } else {
          g.writeString(node.textValue());
        }
      }
      default -> JSON.writeTree(g, node);
    }
  }

  /** A 4xx with a Kubernetes {@code Status} body: the request was not a review we can answer. */
  public static Result rejected(BadReviewException e) {
    Status status =
        new StatusBuilder()
            .withStatus("Failure")
            .withCode(e.status())
            .withReason(e.reason())
            .withMessage(e.getMessage())
            .build();
    var summary = new Summary("", "", "", "", "", false, "rejected", 0, List.of(), e.getMessage());
    return new Result(
        e.status(), SERIALIZATION.asJson(status).getBytes(StandardCharsets.UTF_8), summary);
  }
}
