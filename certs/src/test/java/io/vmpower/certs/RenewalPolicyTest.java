package io.vmpower.certs;

import static org.assertj.core.api.Assertions.assertThat;

import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.Test;

class RenewalPolicyTest {
  final MutableClock clock = MutableClock.at("2026-11-25T10:00:00Z");
  final CertificateIssuer issuer = new CertificateIssuer(clock);

  @Test
  void renewalAtTwoThirdsOfTheLifetime() {
    X509Certificate cert =
        issuer.newAuthority("ca", KeyAlgorithm.EC_P256, Duration.ofHours(30)).certificate();
    Instant notBefore = cert.getNotBefore().toInstant();
    Instant notAfter = cert.getNotAfter().toInstant();
    Duration lifetime = Duration.between(notBefore, notAfter); // 30h plus the backdating

    Instant renewal = RenewalPolicy.renewalTime(cert);

    assertThat(renewal).isEqualTo(notBefore.plus(lifetime.multipliedBy(2).dividedBy(3)));
    assertThat(renewal).isEqualTo(Instant.parse("2026-11-26T05:58:20Z"));
    assertThat(RenewalPolicy.renewalDue(cert, renewal.minusSeconds(1))).isFalse();
    assertThat(RenewalPolicy.renewalDue(cert, renewal)).isTrue();
    assertThat(RenewalPolicy.renewalDue(cert, notAfter.plusSeconds(1))).isTrue();
    assertThat(RenewalPolicy.renewalDue(cert, clock.instant())).isFalse();
  }

  @Test
  void dueWhenTheClockIsBeforeNotBefore() {
    X509Certificate cert =
        issuer.newAuthority("ca", KeyAlgorithm.EC_P256, Duration.ofDays(30)).certificate();
    assertThat(RenewalPolicy.renewalDue(cert, cert.getNotBefore().toInstant().minusSeconds(1)))
        .isTrue();
  }
}
