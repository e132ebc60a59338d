package io.vmpower.admission;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.exc.StreamConstraintsException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.json.JsonMapper;
import io.vmpower.api.admission.Operation;
import io.vmpower.api.admission.RequestUser;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CoderResult;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Reads an AdmissionReview body into a {@link ReviewRequest}, or says precisely what is wrong with
 * it.
 *
 * <p>The body is read as a tree, not into typed classes, so that nothing in the submitted object is
 * lost or reshaped before the mutator sees it: the patch is the difference between the tree as
 * submitted and the tree as it should be stored.
 */
public final class ReviewReader {
  /** Kubernetes objects nest a few dozen levels; far deeper input is an attack, not a VM. */
  static final int MAX_NESTING_DEPTH = 200;

  private final JsonMapper json;

  public ReviewReader(int maxBytes) {
    var constraints =
        StreamReadConstraints.builder()
            .maxNestingDepth(MAX_NESTING_DEPTH)
            .maxStringLength(maxBytes)
            .maxDocumentLength(maxBytes)
            .build();
    // No field-name canonicalization: its symbol table, shared by all requests, matched the
    // invalid name "kind\xff?" to a "kind?" seen before (jackson-core 2.21; RELIABILITY.md,
    // finding 4). Decoding every name also keeps one request from shaping the next.
    JsonFactory factory =
        JsonFactory.builder().disable(JsonFactory.Feature.CANONICALIZE_FIELD_NAMES).build();
    this.json =
        JsonMapper.builder(factory)
            .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .build();
    json.getFactory().setStreamReadConstraints(constraints);
  }

  public ReviewRequest read(byte[] body) throws BadReviewException {
    JsonNode root = parse(body);
    if (!root.isObject()) {
      throw BadReviewException.badRequest(
          "expected a JSON object (an AdmissionReview), got " + type(root));
    }
    String apiVersion = text(root, "apiVersion", "apiVersion");
    String kind = text(root, "kind", "kind");
    if (!"admission.k8s.io/v1".equals(apiVersion) || !"AdmissionReview".equals(kind)) {
      throw BadReviewException.badRequest(
          "expected apiVersion admission.k8s.io/v1 and kind AdmissionReview, got "
              + describe(apiVersion)
              + " "
              + describe(kind)
              + " (configure the webhook with admissionReviewVersions: [v1])");
    }
    JsonNode request = root.get("request");
    if (request == null || request.isNull()) {
      throw BadReviewException.badRequest("request is missing");
    }
    if (!request.isObject()) {
      throw BadReviewException.badRequest("request must be an object, got " + type(request));
    }
    String uid = text(request, "uid", "request.uid");
    if (uid == null || uid.isEmpty()) {
      throw BadReviewException.badRequest("request.uid is missing or empty");
    }
    JsonNode gvk = request.get("kind");
    if (gvk == null || !gvk.isObject()) {
      throw BadReviewException.badRequest(
          "request.kind must be an object with group, version and kind");
    }
    Operation operation = operation(text(request, "operation", "request.operation"));
    JsonNode object = objectOrNull(request, "object");
    JsonNode oldObject = objectOrNull(request, "oldObject");
    if ((operation == Operation.CREATE || operation == Operation.UPDATE) && object == null) {
      throw BadReviewException.badRequest("request.object is missing for " + operation);
    }
    if (operation == Operation.UPDATE && oldObject == null) {
      throw BadReviewException.badRequest("request.oldObject is missing for UPDATE");
    }
    JsonNode dryRun = request.get("dryRun");
    if (dryRun != null && !dryRun.isNull() && !dryRun.isBoolean()) {
      throw BadReviewException.badRequest("request.dryRun must be a boolean, got " + type(dryRun));
    }
    String namespace = orEmpty(text(request, "namespace", "request.namespace"));
    String name = orEmpty(text(request, "name", "request.name"));
    if (object != null && name.isEmpty()) {
      // On CREATE with generateName the request carries no name yet.
      name =
          object
              .path("metadata")
              .path("name")
              .asText(object.path("metadata").path("generateName").asText(""));
    }
    return new ReviewRequest(
        uid,
        orEmpty(text(gvk, "group", "request.kind.group")),
        orEmpty(text(gvk, "version", "request.kind.version")),
        orEmpty(text(gvk, "kind", "request.kind.kind")),
        orEmpty(text(request, "subResource", "request.subResource")),
        operation,
        namespace,
        name,
        dryRun != null && dryRun.booleanValue(),
        object,
        oldObject,
        user(request));
  }

  /**
   * {@code request.userInfo}: the name and groups of who made the request (absent fields are
   * empty). Only names and groups are read; extra and uid are of no use to a decision.
   */
  private static RequestUser user(JsonNode request) throws BadReviewException {
    JsonNode info = request.get("userInfo");
    if (info == null || info.isNull()) {
      return RequestUser.UNKNOWN;
    }
    if (!info.isObject()) {
      throw BadReviewException.badRequest("request.userInfo must be an object, got " + type(info));
    }
    String username = text(info, "username", "request.userInfo.username");
    JsonNode groups = info.get("groups");
    List<String> names = new ArrayList<>();
    if (groups != null && !groups.isNull()) {
      if (!groups.isArray()) {
        throw BadReviewException.badRequest(
            "request.userInfo.groups must be an array, got " + type(groups));
      }
      for (JsonNode group : groups) {
        if (!group.isTextual()) {
          throw BadReviewException.badRequest(
              "request.userInfo.groups must hold strings, got " + type(group));
        }
        names.add(group.textValue());
      }
    }
    return new RequestUser(username, names);
  }

  /** Exactly one of the names Kubernetes sends (case matters, as everywhere in Kubernetes). */
  private static Operation operation(String text) throws BadReviewException {
    for (Operation operation : Operation.values()) {
      if (operation.name().equals(text)) {
        return operation;
      }
    }
    throw BadReviewException.badRequest(
        "request.operation must be one of "
            + String.join(", ", Arrays.stream(Operation.values()).map(Enum::name).toList())
            + ", got "
            + describe(text));
  }

  private JsonNode parse(byte[] body) throws BadReviewException {
    if (body.length == 0) {
      throw BadReviewException.badRequest("request body is empty; expected an AdmissionReview");
    }
    checkUtf8(body);
    try {
      JsonNode root = json.readTree(body);
      if (root == null || root.isMissingNode()) {
        throw BadReviewException.badRequest("request body is empty; expected an AdmissionReview");
      }
      return root;
    } catch (StreamConstraintsException e) {
      throw BadReviewException.badRequest("request body exceeds a parser limit: " + firstLine(e));
    } catch (JsonProcessingException e) {
      throw BadReviewException.badRequest("request body is not valid JSON: " + firstLine(e));
    } catch (IOException e) {
      throw BadReviewException.badRequest("request body could not be read: " + firstLine(e));
    }
  }

  /**
   * JSON is UTF-8 (RFC 8259) and the API server sends nothing else; Jackson lets some invalid
   * sequences through (as U+FFFD, or worse, see above), so the bytes are checked first.
   */
  private static void checkUtf8(byte[] body) throws BadReviewException {
    CharsetDecoder decoder =
        StandardCharsets.UTF_8
            .newDecoder()
            .onMalformedInput(CodingErrorAction.REPORT)
            .onUnmappableCharacter(CodingErrorAction.REPORT);
    ByteBuffer in = ByteBuffer.wrap(body);
    CharBuffer out = CharBuffer.allocate(1024); // decoded only to be dropped: kept small
    while (true) {
      CoderResult result = decoder.decode(in, out, true);
      if (result.isError()) {
        throw BadReviewException.badRequest(
            "request body is not valid UTF-8 (byte " + in.position() + ")");
      }
      if (result.isUnderflow()) {
        return;
      }
      out.clear();
    }
  }

  /** A string field; absent and null are null; any other type is an error naming the path. */
  private static String text(JsonNode node, String field, String path) throws BadReviewException {
    JsonNode value = node.get(field);
    if (value == null || value.isNull()) {
      return null;
    }
    if (!value.isTextual()) {
      throw BadReviewException.badRequest(path + " must be a string, got " + type(value));
    }
    return value.textValue();
  }

  private static JsonNode objectOrNull(JsonNode request, String field) throws BadReviewException {
    JsonNode value = request.get(field);
    if (value == null || value.isNull()) {
      return null;
    }
    if (!value.isObject()) {
      throw BadReviewException.badRequest(
          "request." + field + " must be an object, got " + type(value));
    }
    return value;
  }

  private static String orEmpty(String s) {
    return s == null ? "" : s;
  }

  static String type(JsonNode node) {
    return switch (node.getNodeType()) {
      case OBJECT -> "an object";
      case ARRAY -> "an array";
      case STRING -> "a string";
      case NUMBER -> "a number";
      case BOOLEAN -> "a boolean";
      case NULL -> "null";
      default -> node.getNodeType().name().toLowerCase();
    };
  }

  private static String describe(String value) {
    if (value == null) {
      return "(none)";
    }
    return "\"" + BadReviewException.shorten(value, 64) + "\"";
  }

  /** Jackson's messages carry a source excerpt after the first line; the first line is enough. */
  private static String firstLine(Exception e) {
    String message =
        e instanceof JsonProcessingException jpe ? jpe.getOriginalMessage() : e.getMessage();
    if (message == null) {
      return e.getClass().getSimpleName();
    }
    int newline = message.indexOf('\n');
    String line = newline < 0 ? message : message.substring(0, newline);
    return line.length() > 200 ? line.substring(0, 200) + "…" : line;
  }
}
