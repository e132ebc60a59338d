package io.vmpower.certs;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.math.BigInteger;
import java.security.KeyStore;
import java.security.cert.CertPathValidator;
import java.security.cert.CertPathValidatorException;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.PKIXParameters;
import java.security.cert.TrustAnchor;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.List;
import java.util.Set;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509TrustManager;
import org.bouncycastle.asn1.x509.AuthorityKeyIdentifier;
import org.bouncycastle.asn1.x509.SubjectKeyIdentifier;
import org.bouncycastle.cert.jcajce.JcaX509CertificateHolder;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class CertificateIssuerTest {
  static final String SERVER_AUTH = "1.3.6.1.5.5.7.3.1";
  static final String BASIC_CONSTRAINTS = "2.5.29.19";
  static final String KEY_USAGE = "2.5.29.15";

  final MutableClock clock = MutableClock.at("2026-11-25T10:00:00Z");
  final CertificateIssuer issuer = new CertificateIssuer(clock);
  // the JDK trust manager checks validity against the real time
  final CertificateIssuer realTimeIssuer = new CertificateIssuer(java.time.Clock.systemUTC());
  final ServingIdentity identity = ServingIdentity.forLocalRun("vmpower", "vmpower-system");

  @ParameterizedTest
  @EnumSource(KeyAlgorithm.class)
  void authorityIsAProperSelfSignedCa(KeyAlgorithm algorithm) throws Exception {
    CertificateAuthority ca = issuer.newAuthority("test-ca", algorithm, Duration.ofDays(100));
    X509Certificate cert = ca.certificate();

    assertThat(cert.getSubjectX500Principal().getName()).isEqualTo("CN=test-ca");
    assertThat(cert.getIssuerX500Principal()).isEqualTo(cert.getSubjectX500Principal());
    cert.verify(cert.getPublicKey());
    assertThat(cert.getBasicConstraints()).isZero(); // CA:true, pathLen 0
    assertThat(cert.getCriticalExtensionOIDs()).contains(BASIC_CONSTRAINTS, KEY_USAGE);
    boolean[] usage = cert.getKeyUsage();
    assertThat(usage[5]).as("keyCertSign").isTrue();
    assertThat(usage[6]).as("cRLSign").isTrue();
    assertThat(usage[0]).as("digitalSignature").isFalse();
    assertThat(
            SubjectKeyIdentifier.fromExtensions(new JcaX509CertificateHolder(cert).getExtensions()))
        .isNotNull();
    assertThat(KeyAlgorithm.of(cert.getPublicKey())).contains(algorithm);
    assertThat(cert.getNotBefore().toInstant())
        .isEqualTo(clock.instant().minus(CertificateIssuer.BACKDATE));
    assertThat(cert.getNotAfter().toInstant())
        .isEqualTo(clock.instant().plus(Duration.ofDays(100)));
    assertThat(cert.getSerialNumber().signum()).isPositive();
  }

  @ParameterizedTest
  @EnumSource(KeyAlgorithm.class)
  void servingCertificateHasTheExpectedExtensions(KeyAlgorithm algorithm) throws Exception {
    CertificateAuthority ca =
        issuer.newAuthority("test-ca", KeyAlgorithm.EC_P256, Duration.ofDays(1000));
    CertificateBundle bundle = issuer.issueServing(ca, identity, algorithm, Duration.ofDays(90));
    X509Certificate leaf = bundle.leaf();

    assertThat(leaf.getBasicConstraints()).isEqualTo(-1);
    assertThat(leaf.getCriticalExtensionOIDs()).contains(BASIC_CONSTRAINTS, KEY_USAGE);
    boolean[] usage = leaf.getKeyUsage();
    assertThat(usage[0]).as("digitalSignature").isTrue();
    assertThat(usage[2]).as("keyEncipherment").isEqualTo(algorithm.isRsa());
    assertThat(usage[5]).as("keyCertSign").isFalse();
    assertThat(leaf.getExtendedKeyUsage()).containsExactly(SERVER_AUTH);
    assertThat(CertificateChecks.dnsNames(leaf))
        .containsExactlyInAnyOrder(
            "vmpower",
            "vmpower.vmpower-system",
            "vmpower.vmpower-system.svc",
            "vmpower.vmpower-system.svc.cluster.local",
            "localhost");
    assertThat(CertificateChecks.ipAddresses(leaf))
        .extracting(a -> a.getHostAddress())
        .containsExactlyInAnyOrder("127.0.0.1", "0:0:0:0:0:0:0:1");
    assertThat(leaf.getSubjectX500Principal().getName()).isEqualTo("CN=vmpower.vmpower-system.svc");
    assertThat(leaf.getIssuerX500Principal()).isEqualTo(ca.certificate().getSubjectX500Principal());
    leaf.verify(ca.certificate().getPublicKey());

    AuthorityKeyIdentifier aki =
        AuthorityKeyIdentifier.fromExtensions(new JcaX509CertificateHolder(leaf).getExtensions());
    SubjectKeyIdentifier caSki =
        SubjectKeyIdentifier.fromExtensions(
            new JcaX509CertificateHolder(ca.certificate()).getExtensions());
    assertThat(aki.getKeyIdentifierOctets()).isEqualTo(caSki.getKeyIdentifier());

    assertThat(KeyAlgorithm.of(leaf.getPublicKey())).contains(algorithm);
    assertThat(CertificateChecks.keyMatches(leaf.getPublicKey(), bundle.privateKey())).isTrue();
    assertThat(bundle.authorities()).containsExactly(ca.certificate());
    assertThat(leaf.getNotBefore().toInstant())
        .isEqualTo(clock.instant().minus(CertificateIssuer.BACKDATE));
    assertThat(bundle.notAfter()).isEqualTo(clock.instant().plus(Duration.ofDays(90)));
  }

  @Test
  void serialsAreRandomAndPositive() {
    CertificateAuthority ca = issuer.newAuthority("ca", KeyAlgorithm.EC_P256, Duration.ofDays(10));
    BigInteger a =
        issuer
            .issueServing(ca, identity, KeyAlgorithm.EC_P256, Duration.ofDays(1))
            .leaf()
            .getSerialNumber();
    BigInteger b =
        issuer
            .issueServing(ca, identity, KeyAlgorithm.EC_P256, Duration.ofDays(1))
            .leaf()
            .getSerialNumber();
    assertThat(a.signum()).isPositive();
    assertThat(b.signum()).isPositive();
    assertThat(a).isNotEqualTo(b);
    assertThat(a.bitLength()).isLessThanOrEqualTo(159);
  }

  @Test
  void servingCertificateNeverOutlivesItsCa() {
    CertificateAuthority ca = issuer.newAuthority("ca", KeyAlgorithm.EC_P256, Duration.ofDays(30));
    CertificateBundle bundle =
        issuer.issueServing(ca, identity, KeyAlgorithm.EC_P256, Duration.ofDays(365));
    assertThat(bundle.notAfter()).isEqualTo(ca.certificate().getNotAfter().toInstant());
  }

  @Test
  void expiredCaIsRefused() {
    CertificateAuthority ca = issuer.newAuthority("ca", KeyAlgorithm.EC_P256, Duration.ofDays(1));
    clock.advance(Duration.ofDays(2));
    assertThatThrownBy(
            () -> issuer.issueServing(ca, identity, KeyAlgorithm.EC_P256, Duration.ofDays(1)))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("expired");
  }

  @ParameterizedTest
  @EnumSource(KeyAlgorithm.class)
  void chainValidatesWithPkix(KeyAlgorithm caAlgorithm) throws Exception {
    CertificateAuthority ca = realTimeIssuer.newAuthority("ca", caAlgorithm, Duration.ofDays(100));
    CertificateBundle bundle =
        realTimeIssuer.issueServing(ca, identity, KeyAlgorithm.EC_P256, Duration.ofDays(10));

    pkixValidate(bundle.leaf(), ca.certificate(), Instant.now());

    // the JDK trust manager (sun.security.validator.PKIXValidator underneath) as a TLS client uses
    // it
    X509TrustManager trust = trustManager(bundle.toTrustStore());
    trust.checkServerTrusted(bundle.chain().toArray(X509Certificate[]::new), "ECDHE_ECDSA");
  }

  @Test
  void chainFromAnotherCaIsRejected() throws Exception {
    CertificateAuthority ca =
        realTimeIssuer.newAuthority("ca", KeyAlgorithm.EC_P256, Duration.ofDays(100));
    CertificateAuthority other =
        realTimeIssuer.newAuthority("ca", KeyAlgorithm.EC_P256, Duration.ofDays(100));
    CertificateBundle bundle =
        realTimeIssuer.issueServing(ca, identity, KeyAlgorithm.EC_P256, Duration.ofDays(10));

    assertThatThrownBy(() -> pkixValidate(bundle.leaf(), other.certificate(), Instant.now()))
        .isInstanceOf(CertPathValidatorException.class);
    X509TrustManager trust =
        trustManager(new CertificateBundle(other.certificatePem(), "", "").toTrustStore());
    assertThatThrownBy(
            () ->
                trust.checkServerTrusted(
                    bundle.chain().toArray(X509Certificate[]::new), "ECDHE_ECDSA"))
        .isInstanceOf(CertificateException.class);
  }

  @Test
  void validationFailsAfterExpiry() throws Exception {
    CertificateAuthority ca = issuer.newAuthority("ca", KeyAlgorithm.EC_P256, Duration.ofDays(100));
    CertificateBundle bundle =
        issuer.issueServing(ca, identity, KeyAlgorithm.EC_P256, Duration.ofDays(10));
    pkixValidate(bundle.leaf(), ca.certificate(), clock.instant().plus(Duration.ofDays(9)));
    assertThatThrownBy(
            () ->
                pkixValidate(
                    bundle.leaf(), ca.certificate(), clock.instant().plus(Duration.ofDays(11))))
        .isInstanceOf(CertPathValidatorException.class);
  }

  @Test
  void rejectsNonPositiveValidity() {
    assertThatThrownBy(() -> issuer.newAuthority("ca", KeyAlgorithm.EC_P256, Duration.ZERO))
        .isInstanceOf(IllegalArgumentException.class);
  }

  static void pkixValidate(X509Certificate leaf, X509Certificate ca, Instant at) throws Exception {
    PKIXParameters params = new PKIXParameters(Set.of(new TrustAnchor(ca, null)));
    params.setRevocationEnabled(false);
    params.setDate(Date.from(at));
    CertPathValidator.getInstance("PKIX")
        .validate(CertificateFactory.getInstance("X.509").generateCertPath(List.of(leaf)), params);
  }

  static X509TrustManager trustManager(KeyStore trustStore) throws Exception {
    TrustManagerFactory factory = TrustManagerFactory.getInstance("PKIX");
    factory.init(trustStore);
    return (X509TrustManager) factory.getTrustManagers()[0];
  }
}
