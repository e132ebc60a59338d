package io.vmpower.admission;

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

  /**
   * A value quoted from the request in a message, cut after {@code max} characters: the client
   * chooses its length, and a message must stay readable in a log line.
   */
  public static String shorten(String value, int max) {
    return value.length() > max ? value.substring(0, max) + "…" : value;
  }

  public int status() {
    return status;
  }

  /** Kubernetes StatusReason, e.g. {@code BadRequest}, {@code RequestEntityTooLarge}. */
  public String reason() {
    return reason;
  }
}
