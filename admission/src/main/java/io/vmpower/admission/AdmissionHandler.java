package io.vmpower.admission;

import com.fasterxml.jackson.databind.JsonNode;
import io.vmpower.api.ResourceType;
import io.vmpower.api.admission.Mutator;
import io.vmpower.api.admission.Verdict;
import java.util.List;

/**
 * Answers AdmissionReviews for one type of object with one {@link Mutator}: read ({@link
 * ReviewReader}), check the kind, mutate, diff ({@link JsonPatches}), write ({@link ReviewWriter}).
 * The code path shared by the HTTPS endpoints, the offline preview and the benchmarks.
 *
 * <p>The patch is always the JSON difference between the object as submitted and as the mutator
 * wants it stored, so paths are escaped in one place and nothing is written that did not change.
 */
public final class AdmissionHandler {
  private final ResourceType type;
  private final Mutator mutator;
  private final ReviewReader reader;
  private final ReviewWriter writer;

  public AdmissionHandler(
      ResourceType type, Mutator mutator, ReviewReader reader, ReviewWriter writer) {
    this.type = type;
    this.mutator = mutator;
    this.reader = reader;
    this.writer = writer;
  }

  /** What this handler reviews. */
  public ResourceType type() {
    return type;
  }

  /** What was answered: the HTTP status and body, and a summary for logs and metrics. */
  public record Result(int httpStatus, byte[] body, Summary summary) {}

  /**
   * One review as it appears in the logs. Empty strings where the request did not say.
   *
   * @param denialCause the denial's cause ({@link Verdict.Deny#cause()}), empty unless denied
   */
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
      String message,
      String denialCause) {}

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
    if (!type.group().equals(request.group()) || !type.kind().equals(request.kind())) {
      String got =
          request.group().isEmpty() ? request.kind() : request.group() + "/" + request.kind();
      throw BadReviewException.badRequest(
          "this endpoint reviews "
              + type.qualifiedKind()
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
        objectKind == null || objectKind.isNull() || type.kind().equals(text(objectKind));
    boolean groupMatches =
        apiVersion == null
            || apiVersion.isNull()
            || (apiVersion.isTextual()
                && type.group().equals(ResourceType.groupOf(apiVersion.textValue())));
    if (!kindMatches || !groupMatches) {
      throw BadReviewException.badRequest(
          path
              + " is "
              + BadReviewException.shorten(text(apiVersion), 64)
              + " "
              + BadReviewException.shorten(text(objectKind), 64)
              + ", but this endpoint reviews "
              + type.qualifiedKind()
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

  private Result answer(ReviewRequest request, Verdict verdict) {
    int operations = 0;
    List<String> warnings = List.of();
    String message = "";
    String cause = "";
    byte[] patch = null;
    Verdict.Deny denied = null;
    if (verdict instanceof Verdict.Allow allow) {
      warnings = allow.warnings();
      JsonNode diff = JsonPatches.diff(request.object(), allow.object());
      operations = diff.size();
      if (operations > 0) {
        patch = writer.base64Patch(diff);
      }
    } else if (verdict instanceof Verdict.Deny deny) {
      denied = deny;
      message = deny.message();
      cause = deny.cause();
    }
    var summary =
        new Summary(
            request.uid(),
            request.kind(),
            request.operation().name(),
            request.namespace(),
            request.name(),
            request.dryRun(),
            verdict.decision(),
            operations,
            warnings,
            message,
            cause);
    return new Result(200, ReviewWriter.review(request.uid(), patch, warnings, denied), summary);
  }

  /** A 4xx with a Kubernetes {@code Status} body: the request was not a review we can answer. */
  public static Result rejected(BadReviewException e) {
    var summary =
        new Summary("", "", "", "", "", false, "rejected", 0, List.of(), e.getMessage(), "");
    return new Result(e.status(), ReviewWriter.status(e), summary);
  }
}
