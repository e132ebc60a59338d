package io.vmpower.api.admission;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.Test;

class TreeEditTest {
  private static final JsonMapper JSON = new JsonMapper();

  private static ObjectNode pod() throws Exception {
    return (ObjectNode)
        JSON.readTree(
            """
            {"metadata":{"name":"p","annotations":{"a":"1"},"labels":{"l":"x"}},
             "spec":{"containers":[{"name":"compute","command":["launch"]},{"name":"other"}],
                     "volumes":[{"name":"v"}]}}
            """);
  }

  @Test
  void theOriginalIsNeverChanged() throws Exception {
    ObjectNode original = pod();
    ObjectNode snapshot = original.deepCopy();
    TreeEdit edit = new TreeEdit(original);
    ObjectNode annotations = edit.object(edit.object(edit.root(), "metadata"), "annotations");
    annotations.put("b", "2");
    annotations.remove("a");
    ArrayNode containers = edit.array(edit.object(edit.root(), "spec"), "containers");
    edit.newArray(edit.object(containers, 0), "command").add("bash");
    edit.newObject(edit.root(), "status").put("phase", "Pending");

    assertThat(original).isEqualTo(snapshot);
    assertThat(edit.root().at("/metadata/annotations").toString()).isEqualTo("{\"b\":\"2\"}");
    assertThat(edit.root().at("/spec/containers/0/command").toString()).isEqualTo("[\"bash\"]");
    assertThat(edit.root().at("/status/phase").asText()).isEqualTo("Pending");
  }

  @Test
  void onlyThePathsEditedAreCopiedTheRestIsShared() throws Exception {
    ObjectNode original = pod();
    TreeEdit edit = new TreeEdit(original);
    ArrayNode containers = edit.array(edit.object(edit.root(), "spec"), "containers");
    edit.object(containers, 0).put("terminationMessagePath", "/t");

    JsonNode copy = edit.root();
    assertThat(copy).isNotSameAs(original);
    assertThat(copy.get("metadata")).isSameAs(original.get("metadata"));
    assertThat(copy.get("spec")).isNotSameAs(original.get("spec"));
    assertThat(copy.at("/spec/volumes")).isSameAs(original.at("/spec/volumes"));
    assertThat(copy.at("/spec/containers")).isNotSameAs(original.at("/spec/containers"));
    assertThat(copy.at("/spec/containers/0")).isNotSameAs(original.at("/spec/containers/0"));
    assertThat(copy.at("/spec/containers/1")).isSameAs(original.at("/spec/containers/1"));
  }

  @Test
  void aNodeIsCopiedOnceHoweverOftenItIsAskedFor() throws Exception {
    TreeEdit edit = new TreeEdit(pod());
    ObjectNode first = edit.object(edit.object(edit.root(), "metadata"), "labels");
    first.put("m", "y");
    ObjectNode second = edit.object(edit.object(edit.root(), "metadata"), "labels");
    assertThat(second).isSameAs(first);
    assertThat(second.get("m").asText()).isEqualTo("y");
    ObjectNode spec = edit.object(edit.root(), "spec");
    assertThat(edit.array(spec, "containers")).isSameAs(edit.array(spec, "containers"));
  }

  @Test
  void objectOrNewCreatesWhatIsAbsentOrNullAndRefusesOtherTypes() throws Exception {
    ObjectNode original = pod();
    original.with("metadata").putNull("finalizers");
    TreeEdit edit = new TreeEdit(original);
    ObjectNode metadata = edit.objectOrNew(edit.root(), "metadata");
    assertThat(metadata).isNotSameAs(original.get("metadata"));
    assertThat(metadata.get("name").asText()).isEqualTo("p");
    assertThat(edit.objectOrNew(metadata, "finalizers")).isEmpty();
    assertThat(edit.objectOrNew(edit.root(), "status")).isEmpty();
    assertThat(edit.objectOrNew(metadata, "name")).isNull();
    assertThat(original.at("/metadata/finalizers").isNull()).isTrue();
    assertThat(original.has("status")).isFalse();
  }

  @Test
  void absentOrNonObjectFieldsAreNull() throws Exception {
    TreeEdit edit = new TreeEdit(pod());
    ObjectNode metadata = edit.object(edit.root(), "metadata");
    assertThat(edit.object(metadata, "missing")).isNull();
    assertThat(edit.object(metadata, "name")).isNull();
    assertThat(edit.array(metadata, "labels")).isNull();
    ArrayNode containers = edit.array(edit.object(edit.root(), "spec"), "containers");
    assertThat(edit.object(containers, 5)).isNull();
  }
}
