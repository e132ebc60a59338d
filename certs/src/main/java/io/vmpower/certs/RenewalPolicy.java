package io.vmpower.certs;

import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;

/**
 * When a certificate is renewed: once two thirds of its lifetime have passed. That leaves a third
 * of the lifetime for retries, for replicas to pick the new certificate up, and for a stopped
 * deployment to come back before anything expires.
 */
public final class RenewalPolicy {
  private RenewalPolicy() {}

  /** {@code notBefore + 2/3 × (notAfter − notBefore)}. */
  public static Instant renewalTime(X509Certificate cert) {
    Instant notBefore = cert.getNotBefore().toInstant();
    Instant notAfter = cert.getNotAfter().toInstant();
    Duration lifetime = Duration.between(notBefore, notAfter);
    return notBefore.plus(lifetime.multipliedBy(2).dividedBy(3));
  }

  /**
   * True when {@code now} is at or past the renewal time, or before {@code notBefore} (the clock
   * went back, or the certificate was made for a different clock: it would not be accepted now).
   */
  public static boolean renewalDue(X509Certificate cert, Instant now) {
    return !now.isBefore(renewalTime(cert)) || now.isBefore(cert.getNotBefore().toInstant());
  }
}
