package io.vmpower.certs.cluster;

import io.vmpower.certs.CertificateIssuer;
import java.time.Duration;
import java.util.Objects;

/**
 * Lifetimes for the self-managed certificates.
 *
 * @param ca CA validity
 * @param serving serving certificate validity
 * @param rotationGrace how long each CA rotation step waits before the next one. It must cover the
 *     time every replica needs to notice a Secret change (its check interval, 30 s by default) and
 *     the time the API server needs to see a new caBundle (seconds). Rotations happen every few
 *     years, so a generous value costs nothing.
 */
public record CertificateLifetimes(Duration ca, Duration serving, Duration rotationGrace) {

  /** Ten minutes: twenty check intervals of the default 30 s. */
  public static final Duration DEFAULT_ROTATION_GRACE = Duration.ofMinutes(10);

  public CertificateLifetimes {
    Objects.requireNonNull(ca, "ca");
    Objects.requireNonNull(serving, "serving");
    Objects.requireNonNull(rotationGrace, "rotationGrace");
    if (rotationGrace.isNegative()) {
      throw new IllegalArgumentException("rotationGrace must not be negative");
    }
  }

  /** CA 5 years, serving 1 year (see {@link CertificateIssuer}), grace 10 minutes. */
  public static CertificateLifetimes defaults() {
    return new CertificateLifetimes(
        CertificateIssuer.DEFAULT_CA_VALIDITY,
        CertificateIssuer.DEFAULT_SERVING_VALIDITY,
        DEFAULT_ROTATION_GRACE);
  }
}
