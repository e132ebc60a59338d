package io.vmpower.certs;

import java.math.BigInteger;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import java.util.Objects;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x500.X500NameBuilder;
import org.bouncycastle.asn1.x500.style.BCStyle;
import org.bouncycastle.asn1.x509.AuthorityKeyIdentifier;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.asn1.x509.SubjectKeyIdentifier;
import org.bouncycastle.cert.CertIOException;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509CertificateHolder;
import org.bouncycastle.cert.jcajce.JcaX509ExtensionUtils;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.ContentSigner;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * Issues CA and serving certificates with BouncyCastle's certificate builder. Keys, signatures and
 * certificate objects come from the JDK's providers; no security provider is registered.
 */
public final class CertificateIssuer {

  /**
   * CA lifetime: five years. A CA change is the expensive operation (the webhook configuration's
   * caBundle must change, with an overlap), so it should be rare; renewal at 2/3 rotates it after
   * about 3.3 years, which still leaves more than one serving lifetime before it expires.
   */
  public static final Duration DEFAULT_CA_VALIDITY = Duration.ofDays(5 * 365);

  /**
   * Serving certificate lifetime: one year, renewed automatically after about eight months. Short
   * enough that a leaked key stops working on its own, long enough that a deployment scaled to zero
   * for months still comes back with a valid certificate.
   */
  public static final Duration DEFAULT_SERVING_VALIDITY = Duration.ofDays(365);

  /** notBefore lies this far in the past, so peers whose clocks run slightly behind accept it. */
  public static final Duration BACKDATE = Duration.ofMinutes(5);

  private final Clock clock;
  private final SecureRandom random;

  public CertificateIssuer(Clock clock) {
    this(clock, new SecureRandom());
  }

  public CertificateIssuer(Clock clock, SecureRandom random) {
    this.clock = Objects.requireNonNull(clock, "clock");
    this.random = Objects.requireNonNull(random, "random");
  }

  public Clock clock() {
    return clock;
  }

  /** A new self-signed CA: basicConstraints CA:true, pathLen 0 (critical), keyCertSign|cRLSign. */
  public CertificateAuthority newAuthority(
      String commonName, KeyAlgorithm algorithm, Duration validity) {
    Objects.requireNonNull(commonName, "commonName");
    requirePositive(validity);
    KeyPair keys = algorithm.generateKeyPair(random);
    Instant now = clock.instant();
    X500Name subject = name(commonName);
    X509v3CertificateBuilder builder =
        new JcaX509v3CertificateBuilder(
            subject,
            serial(),
            notBefore(now),
            Date.from(now.plus(validity).truncatedTo(ChronoUnit.SECONDS)),
            subject,
            keys.getPublic());
    try {
      JcaX509ExtensionUtils utils = new JcaX509ExtensionUtils();
      // pathLen 0: this CA signs serving certificates only, never another CA
      builder.addExtension(Extension.basicConstraints, true, new BasicConstraints(0));
      builder.addExtension(
          Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign));
      builder.addExtension(
          Extension.subjectKeyIdentifier,
          false,
          utils.createSubjectKeyIdentifier(keys.getPublic()));
    } catch (CertIOException | GeneralSecurityException e) {
      throw new IllegalStateException("cannot build CA extensions", e);
    }
    X509Certificate certificate = sign(builder, keys.getPrivate());
    return new CertificateAuthority(certificate, keys.getPrivate());
  }

  /**
   * A serving certificate for {@code identity}, signed by {@code ca}: CA:false, digitalSignature
   * (plus keyEncipherment for RSA keys), serverAuth, the identity's DNS and IP names. It never
   * outlives the CA: notAfter is capped at the CA's notAfter.
   *
   * @return the CA certificate, the leaf, and the leaf's fresh private key
   */
  public CertificateBundle issueServing(
      CertificateAuthority ca,
      ServingIdentity identity,
      KeyAlgorithm algorithm,
      Duration validity) {
    Objects.requireNonNull(ca, "ca");
    Objects.requireNonNull(identity, "identity");
    requirePositive(validity);
    Instant now = clock.instant();
    Instant caNotAfter = ca.certificate().getNotAfter().toInstant();
    if (!caNotAfter.isAfter(now)) {
      throw new IllegalStateException("the CA expired at " + caNotAfter);
    }
    Instant notAfter = now.plus(validity).truncatedTo(ChronoUnit.SECONDS);
    if (notAfter.isAfter(caNotAfter)) {
      notAfter = caNotAfter;
    }
    KeyPair keys = algorithm.generateKeyPair(random);
    X509v3CertificateBuilder builder =
        new JcaX509v3CertificateBuilder(
            ca.certificate(),
            serial(),
            notBefore(now),
            Date.from(notAfter),
            name(identity.commonName()),
            keys.getPublic());
    List<GeneralName> names = new ArrayList<>();
    identity.dnsNames().forEach(n -> names.add(new GeneralName(GeneralName.dNSName, n)));
    identity.ipAddresses().forEach(ip -> names.add(new GeneralName(GeneralName.iPAddress, ip)));
    int usage = KeyUsage.digitalSignature;
    if (algorithm.isRsa()) {
      usage |= KeyUsage.keyEncipherment; // RSA key exchange in TLS 1.2 encrypts with this key
    }
    try {
      JcaX509ExtensionUtils utils = new JcaX509ExtensionUtils();
      builder.addExtension(Extension.basicConstraints, true, new BasicConstraints(false));
      builder.addExtension(Extension.keyUsage, true, new KeyUsage(usage));
      builder.addExtension(
          Extension.extendedKeyUsage, false, new ExtendedKeyUsage(KeyPurposeId.id_kp_serverAuth));
      builder.addExtension(
          Extension.subjectAlternativeName,
          false,
          new GeneralNames(names.toArray(GeneralName[]::new)));
      builder.addExtension(
          Extension.subjectKeyIdentifier,
          false,
          utils.createSubjectKeyIdentifier(keys.getPublic()));
      builder.addExtension(
          Extension.authorityKeyIdentifier, false, authorityKeyIdentifier(utils, ca.certificate()));
    } catch (CertIOException | GeneralSecurityException e) {
      throw new IllegalStateException("cannot build serving certificate extensions", e);
    }
    X509Certificate leaf = sign(builder, ca.privateKey());
    return new CertificateBundle(
        ca.certificatePem(), Pem.encode(leaf), Pem.encodePrivateKey(keys.getPrivate()));
  }

  /** The CA's own key identifier, so AKI and SKI match byte for byte. */
  private static AuthorityKeyIdentifier authorityKeyIdentifier(
      JcaX509ExtensionUtils utils, X509Certificate ca) throws GeneralSecurityException {
    SubjectKeyIdentifier ski =
        SubjectKeyIdentifier.fromExtensions(new JcaX509CertificateHolder(ca).getExtensions());
    if (ski != null) {
      return new AuthorityKeyIdentifier(ski.getKeyIdentifier());
    }
    PublicKey key = ca.getPublicKey();
    return utils.createAuthorityKeyIdentifier(key);
  }

  private X509Certificate sign(X509v3CertificateBuilder builder, PrivateKey signingKey) {
    try {
      ContentSigner signer =
          new JcaContentSignerBuilder(signatureAlgorithm(signingKey))
              .setSecureRandom(random)
              .build(signingKey);
      X509CertificateHolder holder = builder.build(signer);
      return new JcaX509CertificateConverter().getCertificate(holder);
    } catch (OperatorCreationException | GeneralSecurityException e) {
      throw new IllegalStateException("cannot sign certificate", e);
    }
  }

  private static String signatureAlgorithm(PrivateKey key) {
    return switch (key.getAlgorithm()) {
      case "EC" -> "SHA256withECDSA";
      case "RSA" -> "SHA256withRSA";
      default ->
          throw new IllegalArgumentException("unsupported CA key type " + key.getAlgorithm());
    };
  }

  private static Date notBefore(Instant now) {
    return Date.from(now.minus(BACKDATE).truncatedTo(ChronoUnit.SECONDS));
  }

  /** Positive, at most 159 bits (fits the 20 octets RFC 5280 allows), never zero. */
  private BigInteger serial() {
    BigInteger serial;
    do {
      serial = new BigInteger(159, random);
    } while (serial.signum() == 0);
    return serial;
  }

  private static X500Name name(String commonName) {
    return new X500NameBuilder(BCStyle.INSTANCE).addRDN(BCStyle.CN, commonName).build();
  }

  private static void requirePositive(Duration validity) {
    if (validity == null || validity.isNegative() || validity.isZero()) {
      throw new IllegalArgumentException("validity must be positive, got " + validity);
    }
  }
}
