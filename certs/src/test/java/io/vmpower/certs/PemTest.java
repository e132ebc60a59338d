package io.vmpower.certs;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.io.InputStream;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.security.KeyPair;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class PemTest {
  final CertificateIssuer issuer = new CertificateIssuer(MutableClock.at("2026-11-25T10:00:00Z"));

  @Test
  void certificatesRoundTripInOrder() {
    CertificateAuthority a = issuer.newAuthority("a", KeyAlgorithm.EC_P256, Duration.ofDays(1));
    CertificateAuthority b = issuer.newAuthority("b", KeyAlgorithm.RSA_2048, Duration.ofDays(1));

    String pem = Pem.encode(a.certificate(), b.certificate());

    assertThat(pem)
        .startsWith("-----BEGIN CERTIFICATE-----\n")
        .endsWith("-----END CERTIFICATE-----\n");
    assertThat(pem.lines()).allMatch(line -> line.length() <= 64);
    assertThat(Pem.readCertificates(pem)).containsExactly(a.certificate(), b.certificate());
    assertThat(Pem.encode(Pem.readCertificates(pem))).isEqualTo(pem);
  }

  @ParameterizedTest
  @EnumSource(KeyAlgorithm.class)
  void privateKeysRoundTripAsPkcs8(KeyAlgorithm algorithm) {
    KeyPair pair = algorithm.generateKeyPair(new SecureRandom());

    String pem = Pem.encodePrivateKey(pair.getPrivate());

    assertThat(pem).startsWith("-----BEGIN PRIVATE KEY-----\n");
    PrivateKey read = Pem.readPrivateKey(pem);
    assertThat(read.getEncoded()).isEqualTo(pair.getPrivate().getEncoded());
    assertThat(CertificateChecks.keyMatches(pair.getPublic(), read)).isTrue();
  }

  @Test
  void readsOpensslLegacyEcKeyWithParametersBlock() throws IOException {
    String key = resource("ec-legacy.key");
    assertThat(key).contains("BEGIN EC PARAMETERS").contains("BEGIN EC PRIVATE KEY");
    X509Certificate cert = Pem.readCertificates(resource("ec-legacy.crt")).get(0);

    PrivateKey read = Pem.readPrivateKey(key);

    assertThat(read.getAlgorithm()).isEqualTo("EC");
    assertThat(CertificateChecks.keyMatches(cert.getPublicKey(), read)).isTrue();
    assertThat(KeyAlgorithm.of(cert.getPublicKey())).contains(KeyAlgorithm.EC_P256);
  }

  @Test
  void readsOpensslLegacyRsaKey() throws IOException {
    String key = resource("rsa-legacy.key");
    assertThat(key).startsWith("-----BEGIN RSA PRIVATE KEY-----");
    X509Certificate cert = Pem.readCertificates(resource("rsa-legacy.crt")).get(0);

    PrivateKey read = Pem.readPrivateKey(key);

    assertThat(read.getAlgorithm()).isEqualTo("RSA");
    assertThat(CertificateChecks.keyMatches(cert.getPublicKey(), read)).isTrue();
    assertThat(CertificateAuthority.fromPem(resource("rsa-legacy.crt"), key).privateKey())
        .isEqualTo(read);
  }

  @ParameterizedTest
  @EnumSource(KeyAlgorithm.class)
  void readsLegacyKeysWrittenByBouncyCastle(KeyAlgorithm algorithm) throws IOException {
    KeyPair pair = algorithm.generateKeyPair(new SecureRandom());
    StringWriter out = new StringWriter();
    try (JcaPEMWriter writer = new JcaPEMWriter(out)) {
      writer.writeObject(pair); // OpenSSL "traditional" format
    }
    assertThat(out.toString())
        .contains(algorithm.isRsa() ? "BEGIN RSA PRIVATE KEY" : "BEGIN EC PRIVATE KEY");

    PrivateKey read = Pem.readPrivateKey(out.toString());

    assertThat(CertificateChecks.keyMatches(pair.getPublic(), read)).isTrue();
    // and written back as PKCS#8
    assertThat(Pem.encodePrivateKey(read)).isEqualTo(Pem.encodePrivateKey(pair.getPrivate()));
  }

  @Test
  void encryptedKeyIsRefusedClearly() throws IOException {
    assertThatThrownBy(() -> Pem.readPrivateKey(resource("ec-encrypted.key")))
        .isInstanceOf(CertificateDataException.class)
        .hasMessageContaining("encrypted");
  }

  @Test
  void garbageAndWrongTypesGiveClearErrors() throws IOException {
    String keyPem = resource("rsa-legacy.key");
    String certPem = resource("rsa-legacy.crt");

    assertThatThrownBy(() -> Pem.readCertificates("hello"))
        .isInstanceOf(CertificateDataException.class)
        .hasMessage("no PEM CERTIFICATE block found");
    assertThatThrownBy(() -> Pem.readPrivateKey(""))
        .isInstanceOf(CertificateDataException.class)
        .hasMessage("no PEM private key block found");
    assertThatThrownBy(() -> Pem.readPrivateKey(certPem))
        .isInstanceOf(CertificateDataException.class)
        .hasMessageContaining("expected a PRIVATE KEY block");
    assertThatThrownBy(() -> Pem.readCertificates(keyPem))
        .isInstanceOf(CertificateDataException.class)
        .hasMessageContaining("expected only CERTIFICATE blocks");
    assertThatThrownBy(() -> Pem.readPrivateKey(keyPem + keyPem))
        .isInstanceOf(CertificateDataException.class)
        .hasMessage("more than one private key in the PEM text");
  }

  @Test
  void truncatedKeyErrorDoesNotEchoKeyMaterial() throws IOException {
    String keyPem = resource("rsa-legacy.key");
    List<String> lines = keyPem.lines().toList();
    // drop the middle of the body: still PEM-framed, no longer a key
    String truncated =
        String.join("\n", lines.subList(0, 4)) + "\n" + lines.get(lines.size() - 1) + "\n";

    assertThatThrownBy(() -> Pem.readPrivateKey(truncated))
        .isInstanceOf(CertificateDataException.class)
        .satisfies(
            e -> {
              for (String line : lines.subList(1, lines.size() - 1)) {
                assertThat(e.getMessage()).doesNotContain(line.substring(0, 16));
              }
            });
  }

  @Test
  void corruptBase64InCertificateIsAClearError() {
    assertThatThrownBy(
            () ->
                Pem.readCertificates(
                    "-----BEGIN CERTIFICATE-----\nnot*base64!\n-----END CERTIFICATE-----\n"))
        .isInstanceOf(CertificateDataException.class)
        .hasMessageStartingWith("not a valid PEM certificate");
  }

  @Test
  void authorityFromPemPicksTheCertificateTheKeyBelongsTo() {
    CertificateAuthority old = issuer.newAuthority("old", KeyAlgorithm.EC_P256, Duration.ofDays(1));
    CertificateAuthority now = issuer.newAuthority("new", KeyAlgorithm.EC_P256, Duration.ofDays(1));
    String bundle = Pem.encode(now.certificate(), old.certificate());

    assertThat(CertificateAuthority.fromPem(bundle, old.privateKeyPem()).certificate())
        .isEqualTo(old.certificate());
    assertThatThrownBy(
            () ->
                CertificateAuthority.fromPem(
                    now.certificatePem(), Pem.encodePrivateKey(old.privateKey())))
        .isInstanceOf(CertificateDataException.class)
        .hasMessageContaining("belongs to none");
  }

  @Test
  void servingCertificateIsNotAnAuthority() {
    CertificateAuthority ca = issuer.newAuthority("ca", KeyAlgorithm.EC_P256, Duration.ofDays(1));
    CertificateBundle serving =
        issuer.issueServing(
            ca, ServingIdentity.forService("a", "b"), KeyAlgorithm.EC_P256, Duration.ofDays(1));
    assertThatThrownBy(
            () -> CertificateAuthority.fromPem(serving.certificatePem(), serving.privateKeyPem()))
        .isInstanceOf(CertificateDataException.class)
        .hasMessageContaining("is not a CA certificate");
  }

  @Test
  void toStringNeverShowsKeys() {
    CertificateAuthority ca = issuer.newAuthority("ca", KeyAlgorithm.RSA_2048, Duration.ofDays(1));
    CertificateBundle serving =
        issuer.issueServing(
            ca, ServingIdentity.forService("a", "b"), KeyAlgorithm.RSA_2048, Duration.ofDays(1));
    assertThat(ca.toString())
        .doesNotContain("PRIVATE")
        .doesNotContain("exponent")
        .contains("CN=ca");
    assertThat(serving.toString())
        .doesNotContain(serving.privateKeyPem().lines().skip(1).findFirst().orElseThrow());
  }

  static String resource(String name) throws IOException {
    try (InputStream in = PemTest.class.getResourceAsStream("/pem/" + name)) {
      return new String(in.readAllBytes(), StandardCharsets.US_ASCII);
    }
  }
}
