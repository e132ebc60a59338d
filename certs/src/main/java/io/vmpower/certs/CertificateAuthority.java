package io.vmpower.certs;

import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.Objects;

/** A CA certificate and its signing key. */
public record CertificateAuthority(X509Certificate certificate, PrivateKey privateKey) {

  public CertificateAuthority {
    Objects.requireNonNull(certificate, "certificate");
    Objects.requireNonNull(privateKey, "privateKey");
    if (certificate.getBasicConstraints() < 0) {
      throw new CertificateDataException(
          "'" + certificate.getSubjectX500Principal().getName() + "' is not a CA certificate");
    }
    if (!CertificateChecks.keyMatches(certificate.getPublicKey(), privateKey)) {
      throw new CertificateDataException(
          "the CA private key does not belong to '"
              + certificate.getSubjectX500Principal().getName()
              + "'");
    }
  }

  public String certificatePem() {
    return Pem.encode(certificate);
  }

  /** PKCS#8 PEM. */
  public String privateKeyPem() {
    return Pem.encodePrivateKey(privateKey);
  }

  /**
   * Reads a CA from PEM. The certificate text may hold several certificates (a bundle during a CA
   * rotation): the one the key belongs to is the authority.
   *
   * @throws CertificateDataException if either text is unreadable or no certificate matches the key
   */
  public static CertificateAuthority fromPem(String certPem, String keyPem) {
    List<X509Certificate> certificates;
    try {
      certificates = Pem.readCertificates(certPem);
    } catch (CertificateDataException e) {
      throw new CertificateDataException("CA certificate: " + e.getMessage(), e);
    }
    PrivateKey key;
    try {
      key = Pem.readPrivateKey(keyPem);
    } catch (CertificateDataException e) {
      throw new CertificateDataException("CA private key: " + e.getMessage(), e);
    }
    for (X509Certificate certificate : certificates) {
      if (CertificateChecks.keyMatches(certificate.getPublicKey(), key)) {
        return new CertificateAuthority(certificate, key);
      }
    }
    throw new CertificateDataException("the CA private key belongs to none of the CA certificates");
  }

  // never print the key
  @Override
  public String toString() {
    return "CertificateAuthority["
        + certificate.getSubjectX500Principal().getName()
        + ", notAfter="
        + certificate.getNotAfter()
        + "]";
  }
}
