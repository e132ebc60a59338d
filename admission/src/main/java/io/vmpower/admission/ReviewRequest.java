package io.vmpower.admission;

import com.fasterxml.jackson.databind.JsonNode;
import io.vmpower.api.admission.AdmissionInput;
import io.vmpower.api.admission.Operation;
import io.vmpower.api.admission.RequestUser;

/**
 * The fields of an {@code admission.k8s.io/v1} AdmissionRequest that vmpower reads, checked for
 * shape.
 *
 * @param kind {@code request.kind.kind}, e.g. {@code VirtualMachine}
 * @param subResource empty for the main resource
 * @param user {@code request.userInfo}
 */
public record ReviewRequest(
    String uid,
    String group,
    String version,
    String kind,
    String subResource,
    Operation operation,
    String namespace,
    String name,
    boolean dryRun,
    JsonNode object,
    JsonNode oldObject,
    RequestUser user) {

  public AdmissionInput toInput() {
    return new AdmissionInput(operation, namespace, name, object, oldObject, dryRun, user);
  }
}
