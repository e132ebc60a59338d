package io.vmpower.api.admission;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * The parts of an admission request a mutator decides on, already checked for shape.
 *
 * @param operation CREATE, UPDATE, DELETE or CONNECT
 * @param object the object as submitted; never mutated by a mutator
 * @param oldObject the stored object on UPDATE, otherwise null
 */
public record AdmissionInput(
    String operation,
    String namespace,
    String name,
    JsonNode object,
    JsonNode oldObject,
    boolean dryRun) {

  public boolean isCreate() {
    return "CREATE".equals(operation);
  }

  public boolean isUpdate() {
    return "UPDATE".equals(operation);
  }
}
