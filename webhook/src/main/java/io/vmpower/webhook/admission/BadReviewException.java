package io.vmpower.webhook.admission;

/**
 * A request that is not an AdmissionReview we can answer; becomes a 4xx with a Kubernetes Status.
 */
public final class BadReviewException extends Exception {
  private final int status;
  private final String reason;

  public BadReviewException(int status, String reason, String message) {
    super(message, null, false, false);
    this.status = status;
    this.reason = reason;
  }

  public static BadReviewException badRequest(String message) {
    return new BadReviewException(400, "BadRequest", message);
  }

  public int status() {
    return status;
  }

  /** Kubernetes StatusReason, e.g. {@code BadRequest}, {@code RequestEntityTooLarge}. */
  public String reason() {
    return reason;
  }
}
