package io.vmpower.admission;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.io.SerializedString;
import com.fasterxml.jackson.core.util.ByteArrayBuilder;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.json.JsonMapper;
import io.vmpower.api.admission.Verdict;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Base64;
import java.util.IdentityHashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Writes the answers, straight to UTF-8 bytes with one Jackson generator: the AdmissionReview
 * response with its base64 JSON patch, and the Kubernetes {@code Status} of a request that is no
 * review at all. Building them as model objects and serializing through Strings copied the (for
 * pods, ~16 KB) patch five times per review (BENCHMARKS.md).
 */
public final class ReviewWriter {
  /** A writer without recurring strings. */
  public static final ReviewWriter PLAIN = new ReviewWriter(Set.of());

  private static final JsonMapper JSON = new JsonMapper();

  /** Strings a mutator writes into patch after patch, JSON-encoded once; looked up by identity. */
  private final Map<String, SerializedString> encoded = new IdentityHashMap<>();

  /**
   * @param recurring long strings a mutator puts into its objects review after review, always the
   *     same instance (the pod injector's wrapper with the monitor script): encoding them once
   *     instead of on every review saved ~15 % of a pod review (BENCHMARKS.md)
   */
  public ReviewWriter(Set<String> recurring) {
    for (String s : recurring) {
      SerializedString string = new SerializedString(s);
      string.asQuotedUTF8(); // computed and kept now, not in the first review
      encoded.put(s, string);
    }
  }

  /** The JSON patch, base64-encoded as the {@code patch} field carries it. */
  byte[] base64Patch(JsonNode patch) {
    var out = new ByteArrayBuilder(1024);
    try (JsonGenerator g = JSON.createGenerator(out)) {
      write(g, patch);
    } catch (IOException e) {
      throw new UncheckedIOException(e); // writing to memory
    }
    // the JDK's encoder (vectorized) is several times faster than Jackson's writeBinary
    return Base64.getEncoder().encode(out.toByteArray());
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

  /** The {@code admission.k8s.io/v1} AdmissionReview answer. */
  static byte[] review(String uid, byte[] base64Patch, List<String> warnings, Verdict.Deny denied) {
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

  /**
   * A Kubernetes {@code v1 Status} for a request that is not a review we can answer (the fields, in
   * the order, that the Kubernetes model's serialization writes).
   */
  static byte[] status(BadReviewException e) {
    var out = new ByteArrayBuilder(256);
    try (JsonGenerator g = JSON.createGenerator(out)) {
      g.writeStartObject();
      g.writeStringField("apiVersion", "v1");
      g.writeStringField("kind", "Status");
      g.writeNumberField("code", e.status());
      g.writeStringField("message", e.getMessage());
      g.writeStringField("reason", e.reason());
      g.writeStringField("status", "Failure");
      g.writeEndObject();
    } catch (IOException x) {
      throw new UncheckedIOException(x); // writing to memory
    }
    return out.toByteArray();
  }
}
