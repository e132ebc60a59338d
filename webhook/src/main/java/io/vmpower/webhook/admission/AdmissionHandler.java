package io.vmpower.webhook.admission;

import com.fasterxml.jackson.databind.JsonNode;
import io.fabric8.kubernetes.api.model.Status;
import io.fabric8.kubernetes.api.model.StatusBuilder;
import io.fabric8.kubernetes.api.model.admission.v1.AdmissionResponse;
import io.fabric8.kubernetes.api.model.admission.v1.AdmissionResponseBuilder;
import io.fabric8.kubernetes.api.model.admission.v1.AdmissionReview;
import io.fabric8.kubernetes.api.model.admission.v1.AdmissionReviewBuilder;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import io.vmpower.api.admission.Mutator;
import io.vmpower.api.admission.Verdict;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.List;

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

  private final String group;
  private final String kind;
  private final Mutator mutator;
  private final ReviewReader reader;

  public AdmissionHandler(String group, String kind, Mutator mutator, ReviewReader reader) {
    this.group = group;
    this.kind = kind;
    this.mutator = mutator;
    this.reader = reader;
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
              + group
              + (group.isEmpty() ? "" : "/")
              + kind
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
              + shorten(text(apiVersion))
              + " "
              + shorten(text(objectKind))
              + ", but this endpoint reviews "
              + group
              + (group.isEmpty() ? "" : "/")
              + kind
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

  private static String shorten(String s) {
    return s.length() > 64 ? s.substring(0, 64) + "…" : s;
  }

  private Result answer(ReviewRequest request, Verdict verdict) {
    var response = new AdmissionResponseBuilder().withUid(request.uid());
    int operations = 0;
    List<String> warnings = List.of();
    String message = "";
    if (verdict instanceof Verdict.Allow allow) {
      response.withAllowed(true);
      warnings = allow.warnings();
      if (!warnings.isEmpty()) {
        response.withWarnings(warnings);
      }
      JsonNode patch = diff(request.object(), allow.object());
      operations = patch.size();
      if (operations > 0) {
        response
            .withPatchType("JSONPatch")
            .withPatch(
                Base64.getEncoder()
                    .encodeToString(patch.toString().getBytes(StandardCharsets.UTF_8)));
      }
    } else if (verdict instanceof Verdict.Deny deny) {
      message = deny.message();
      response
          .withAllowed(false)
          .withStatus(
              new StatusBuilder()
                  .withStatus("Failure")
                  .withCode(deny.code())
                  .withReason(deny.reason())
                  .withMessage(deny.message())
                  .build());
    }
    AdmissionResponse built = response.build();
    AdmissionReview review = new AdmissionReviewBuilder().withResponse(built).build();
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
    return new Result(200, SERIALIZATION.asJson(review).getBytes(StandardCharsets.UTF_8), summary);
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

  static JsonNode diff(JsonNode before, JsonNode after) {
    return JsonPatches.diff(before, after);
  }
}
