package io.vmpower.api.admission;

/** {@code request.operation} of an AdmissionReview. */
public enum Operation {
  CREATE,
  UPDATE,
  DELETE,
  CONNECT
}
