package io.vmpower.api.admission;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.Set;

/**
 * Copy-on-write editing of a submitted object: only the objects and arrays on the paths a mutator
 * changes are copied (shallowly); every other subtree is shared with the original, which is never
 * modified.
 *
 * <p>Why: a deep copy of the whole object per review, and a diff that then compares every field,
 * cost more than the mutation itself. With shared subtrees the diff skips what is identical by
 * reference ({@code JsonPatches}), so its cost follows the changed paths, not the object's size.
 */
public final class TreeEdit {
  private final Set<JsonNode> owned = Collections.newSetFromMap(new IdentityHashMap<>());
  private final ObjectNode root;

  public TreeEdit(ObjectNode original) {
    this.root = own(shallowCopy(original));
  }

  /** The edited object: the original's shallow copy; change it only through this editor. */
  public ObjectNode root() {
    return root;
  }

  /**
   * The object under {@code field} of an object this editor owns, as a copy it owns; {@code null}
   * when the field is absent, null or not an object.
   */
  public ObjectNode object(ObjectNode parent, String field) {
    ObjectNode copy = ownedObject(parent.get(field));
    if (copy != null) {
      parent.set(field, copy);
    }
    return copy;
  }

  /**
   * Like {@link #object(ObjectNode, String)}, but a field that is absent or null gets a new, empty
   * object; {@code null} only when something other than an object is there.
   */
  public ObjectNode objectOrNew(ObjectNode parent, String field) {
    JsonNode child = parent.get(field);
    return child == null || child.isNull() ? newObject(parent, field) : object(parent, field);
  }

  /** Like {@link #object(ObjectNode, String)} for an array element. */
  public ObjectNode object(ArrayNode parent, int index) {
    ObjectNode copy = ownedObject(parent.get(index));
    if (copy != null) {
      parent.set(index, copy);
    }
    return copy;
  }

  /** The array under {@code field} of an owned object, as an owned copy; {@code null} if none. */
  public ArrayNode array(ObjectNode parent, String field) {
    JsonNode child = parent.get(field);
    if (!(child instanceof ArrayNode array)) {
      return null;
    }
    if (!owned.contains(array)) {
      array = JsonNodeFactory.instance.arrayNode(array.size()).addAll(array);
      owned.add(array);
      parent.set(field, array);
    }
    return array;
  }

  /** A new, empty array under {@code field} of an owned object, replacing what was there. */
  public ArrayNode newArray(ObjectNode parent, String field) {
    ArrayNode array = parent.putArray(field);
    owned.add(array);
    return array;
  }

  /** A new, empty object under {@code field} of an owned object, replacing what was there. */
  public ObjectNode newObject(ObjectNode parent, String field) {
    return own(parent.putObject(field));
  }

  private ObjectNode own(ObjectNode node) {
    owned.add(node);
    return node;
  }

  /** {@code child} itself if this editor owns it, else its owned copy; null if not an object. */
  private ObjectNode ownedObject(JsonNode child) {
    if (!(child instanceof ObjectNode object)) {
      return null;
    }
    return owned.contains(object) ? object : own(shallowCopy(object));
  }

  private static ObjectNode shallowCopy(ObjectNode original) {
    ObjectNode copy = JsonNodeFactory.instance.objectNode();
    copy.setAll(original);
    return copy;
  }
}
