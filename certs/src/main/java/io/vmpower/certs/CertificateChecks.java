package io.vmpower.certs;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.Signature;
import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;

/** Checks shared by the certificate stores: does this material still fit what is wanted? */
public final class CertificateChecks {
  private CertificateChecks() {}

  private static final byte[] PROBE = "vmpower key match probe".getBytes(StandardCharsets.US_ASCII);

  /** True when the private key belongs to the public key (sign a probe, verify it). */
  public static boolean keyMatches(PublicKey publicKey, PrivateKey privateKey) {
    if (!publicKey.getAlgorithm().equals(privateKey.getAlgorithm())) {
      return false;
    }
    String algorithm =
        switch (publicKey.getAlgorithm()) {
          case "EC" -> "SHA256withECDSA";
          case "RSA" -> "SHA256withRSA";
          default -> null;
        };
    if (algorithm == null) {
      return false;
    }
    try {
      Signature signer = Signature.getInstance(algorithm);
      signer.initSign(privateKey);
      signer.update(PROBE);
      byte[] signature = signer.sign();
      Signature verifier = Signature.getInstance(algorithm);
      verifier.initVerify(publicKey);
      verifier.update(PROBE);
      return verifier.verify(signature);
    } catch (GeneralSecurityException | RuntimeException e) {
      // mismatched parameters (e.g. different curves) surface as exceptions: not a match
      return false;
    }
  }

  /** True when {@code issuer} names and signed {@code cert}. */
  public static boolean isSignedBy(X509Certificate cert, X509Certificate issuer) {
    if (!cert.getIssuerX500Principal().equals(issuer.getSubjectX500Principal())) {
      return false;
    }
    try {
      cert.verify(issuer.getPublicKey());
      return true;
    } catch (GeneralSecurityException | RuntimeException e) {
      return false;
    }
  }

  /** Lower-cased DNS names in the certificate's subject alternative names. */
  public static Set<String> dnsNames(X509Certificate cert) {
    Set<String> names = new HashSet<>();
    for (List<?> entry : subjectAltNames(cert)) {
      if (Integer.valueOf(2).equals(entry.get(0))) {
        names.add(((String) entry.get(1)).toLowerCase(Locale.ROOT));
      }
    }
    return names;
  }

  /** IP addresses in the certificate's subject alternative names. */
  public static Set<InetAddress> ipAddresses(X509Certificate cert) {
    Set<InetAddress> addresses = new HashSet<>();
    for (List<?> entry : subjectAltNames(cert)) {
      if (Integer.valueOf(7).equals(entry.get(0))) {
        addresses.add(ipLiteral((String) entry.get(1)));
      }
    }
    return addresses;
  }

  /** True when the certificate carries exactly the identity's DNS names and IP addresses. */
  public static boolean namesMatch(X509Certificate cert, ServingIdentity identity) {
    Set<String> wantedDns = new HashSet<>();
    identity.dnsNames().forEach(n -> wantedDns.add(n.toLowerCase(Locale.ROOT)));
    Set<InetAddress> wantedIps = new HashSet<>();
    identity.ipAddresses().forEach(ip -> wantedIps.add(ipLiteral(ip)));
    return dnsNames(cert).equals(wantedDns) && ipAddresses(cert).equals(wantedIps);
  }

  /**
   * Why a serving bundle has to be issued again for the given authority, identity and algorithm, or
   * empty when it can stay. The reason is meant for logs; it carries no key material.
   */
  public static Optional<String> reissueReason(
      CertificateBundle bundle,
      X509Certificate authority,
      ServingIdentity identity,
      KeyAlgorithm algorithm,
      Instant now) {
    X509Certificate leaf;
    PrivateKey key;
    try {
      leaf = bundle.leaf();
      key = bundle.privateKey();
    } catch (CertificateDataException e) {
      return Optional.of("unreadable: " + e.getMessage());
    }
    if (!keyMatches(leaf.getPublicKey(), key)) {
      return Optional.of("private key does not belong to the certificate");
    }
    if (!isSignedBy(leaf, authority)) {
      return Optional.of("not signed by the current CA");
    }
    if (KeyAlgorithm.of(leaf.getPublicKey()).orElse(null) != algorithm) {
      return Optional.of("key algorithm differs from " + algorithm);
    }
    if (!namesMatch(leaf, identity)) {
      return Optional.of("subject alternative names differ from " + identity.dnsNames());
    }
    if (RenewalPolicy.renewalDue(leaf, now)) {
      return Optional.of("renewal due since " + RenewalPolicy.renewalTime(leaf));
    }
    return Optional.empty();
  }

  private static Collection<List<?>> subjectAltNames(X509Certificate cert) {
    try {
      Collection<List<?>> names = cert.getSubjectAlternativeNames();
      return names == null ? List.of() : names;
    } catch (CertificateParsingException e) {
      throw new CertificateDataException("unreadable subject alternative names", e);
    }
  }

  static InetAddress ipLiteral(String literal) {
    try {
      // a literal is parsed, never resolved
      return InetAddress.getByName(literal);
    } catch (UnknownHostException e) {
      throw new IllegalArgumentException("'" + literal + "' is not an IP address", e);
    }
  }
}
