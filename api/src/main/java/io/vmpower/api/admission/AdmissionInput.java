package io.vmpower.api.admission;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * The parts of an admission request a mutator decides on, already checked for shape.
 *
 * @param object the object as submitted; never mutated by a mutator
 * @param oldObject the stored object on UPDATE, otherwise null
 */
public record AdmissionInput(
    Operation operation,
    String namespace,
    String name,
    JsonNode object,
    JsonNode oldObject,
    boolean dryRun) {

  public boolean isCreate() {
    return operation == Operation.CREATE;
  }

  public boolean isUpdate() {
    return operation == Operation.UPDATE;
  }
}
