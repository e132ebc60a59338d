package io.vmpower.api.admission;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * The parts of an admission request a mutator decides on, already checked for shape.
 *
 * @param object the object as submitted; never mutated by a mutator
 * @param oldObject the stored object on UPDATE, otherwise null
 * @param user who made the request ({@code request.userInfo})
 */
public record AdmissionInput(
    Operation operation,
    String namespace,
    String name,
    JsonNode object,
    JsonNode oldObject,
    boolean dryRun,
    RequestUser user) {

  public AdmissionInput {
    user = user == null ? RequestUser.UNKNOWN : user;
  }

  /** A request whose user does not matter to the decision. */
  public AdmissionInput(
      Operation operation,
      String namespace,
      String name,
      JsonNode object,
      JsonNode oldObject,
      boolean dryRun) {
    this(operation, namespace, name, object, oldObject, dryRun, RequestUser.UNKNOWN);
  }

  public boolean isCreate() {
    return operation == Operation.CREATE;
  }

  public boolean isUpdate() {
    return operation == Operation.UPDATE;
  }
}
