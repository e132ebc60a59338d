package io.vmpower.admission;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** Regressions for what the fuzz tests found in reading reviews. */
class ReviewReaderTest {
  static final String REVIEW =
      "{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\",\"request\":{"
          + "\"uid\":\"u\",\"kind\":{\"group\":\"\",\"version\":\"v1\",\"kind\":\"Pod\"},"
          + "\"operation\":\"CREATE\",\"object\":{\"NAME\":1}}}";

  /**
   * Found by ReviewBytesFuzzTest: once a field named {@code kind?} had been read, jackson-core's
   * shared name table gave the invalid name {@code kind\xff?} of a later request the same name (the
   * 0xff byte looks like its padding). Each request must stand on its own.
   */
  @Test
  void anInvalidFieldNameIsNotTakenForOneSeenBefore() throws Exception {
    ReviewReader reader = new ReviewReader(1 << 20);
    byte[] valid = REVIEW.replace("NAME", "kind?").getBytes(StandardCharsets.UTF_8);
    assertThat(reader.read(valid).object().has("kind?")).isTrue();
    byte[] invalid = REVIEW.replace("NAME", "kind\u00ff?").getBytes(StandardCharsets.ISO_8859_1);
    assertThatThrownBy(() -> reader.read(invalid))
        .isInstanceOf(BadReviewException.class)
        .hasMessageStartingWith("request body is not valid UTF-8 (byte ");
  }

  @Test
  void validUtf8BeyondAsciiIsRead() throws Exception {
    ReviewReader reader = new ReviewReader(1 << 20);
    String name = "ü-数据库-😀";
    assertThat(
            reader
                .read(REVIEW.replace("NAME", name).getBytes(StandardCharsets.UTF_8))
                .object()
                .has(name))
        .isTrue();
  }

  /** The linear diff escapes keys and replaces arrays whole, in time linear in the size. */
  @Test
  void patchesEscapeKeysAndStayLinear() throws Exception {
    var json = new com.fasterxml.jackson.databind.json.JsonMapper();
    var before = json.createObjectNode();
    var command = before.putArray("command");
    for (int i = 0; i < 1_000_000; i++) {
      command.add("a");
    }
    before.putObject("m").put("a/b~c", 1).put("gone", 2);
    var after = before.deepCopy();
    ((com.fasterxml.jackson.databind.node.ArrayNode) after.get("command")).insert(0, "bash");
    after.withObject("/m").put("a/b~c", 3).remove("gone");
    after.withObject("/m").put("~new/", true);
    long t0 = System.nanoTime();
    var patch = JsonPatches.diff(before, after);
    assertThat((System.nanoTime() - t0) / 1_000_000).as("ms").isLessThan(2_000);
    assertThat(patch.toString())
        .contains("{\"op\":\"remove\",\"path\":\"/m/gone\"}")
        .contains("{\"op\":\"replace\",\"path\":\"/m/a~1b~0c\",\"value\":3}")
        .contains("{\"op\":\"add\",\"path\":\"/m/~0new~1\",\"value\":true}")
        .contains("{\"op\":\"replace\",\"path\":\"/command\",\"value\":[\"bash\",\"a\"");
    assertThat(patch.size()).isEqualTo(4);
  }
}
