package io.vmpower.certs.cluster;

import io.vmpower.certs.CertificateDataException;
import io.vmpower.certs.Pem;
import java.nio.charset.StandardCharsets;
import java.security.cert.X509Certificate;
import java.util.Base64;
import java.util.HashSet;
import java.util.Set;

/** CA bundle comparisons by content: formatting and order do not count, certificates do. */
final class CaBundles {
  private CaBundles() {}

  static boolean same(String pemA, String pemB) {
    if (pemA == null || pemB == null) {
      return false;
    }
    try {
      return certificates(pemA).equals(certificates(pemB));
    } catch (CertificateDataException e) {
      return false;
    }
  }

  /** A webhook's {@code caBundle} field (base64 of PEM) against a PEM bundle. */
  static boolean sameAsField(String caBundleField, String pem) {
    if (caBundleField == null || caBundleField.isEmpty()) {
      return false;
    }
    try {
      return same(
          new String(Base64.getDecoder().decode(caBundleField), StandardCharsets.US_ASCII), pem);
    } catch (IllegalArgumentException e) {
      return false;
    }
  }

  static String toField(String pem) {
    return Base64.getEncoder().encodeToString(pem.getBytes(StandardCharsets.US_ASCII));
  }

  private static Set<X509Certificate> certificates(String pem) {
    return new HashSet<>(Pem.readCertificates(pem));
  }
}
