package io.vmpower.certs;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.StringReader;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PrivateKey;
import java.security.cert.CertificateEncodingException;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Objects;
import org.bouncycastle.asn1.ASN1Encodable;
import org.bouncycastle.asn1.ASN1Null;
import org.bouncycastle.asn1.ASN1ObjectIdentifier;
import org.bouncycastle.asn1.pkcs.PKCSObjectIdentifiers;
import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.asn1.sec.ECPrivateKey;
import org.bouncycastle.asn1.sec.SECObjectIdentifiers;
import org.bouncycastle.asn1.x509.AlgorithmIdentifier;
import org.bouncycastle.asn1.x9.X9ECParameters;
import org.bouncycastle.asn1.x9.X9ObjectIdentifiers;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.openssl.PEMEncryptedKeyPair;
import org.bouncycastle.openssl.PEMKeyPair;
import org.bouncycastle.openssl.PEMParser;
import org.bouncycastle.pkcs.PKCS8EncryptedPrivateKeyInfo;

/**
 * PEM encoding and decoding of X.509 certificates and private keys. Keys are written as PKCS#8
 * ({@code PRIVATE KEY}); reading also accepts OpenSSL's legacy {@code EC PRIVATE KEY} and {@code
 * RSA PRIVATE KEY} forms. Only the JDK's providers are used to build key and certificate objects.
 */
public final class Pem {
  private Pem() {}

  /** Concatenated {@code CERTIFICATE} blocks, in the given order. */
  public static String encode(X509Certificate... certificates) {
    StringBuilder out = new StringBuilder();
    for (X509Certificate certificate : certificates) {
      try {
        out.append(block("CERTIFICATE", certificate.getEncoded()));
      } catch (CertificateEncodingException e) {
        throw new CertificateDataException("certificate cannot be DER-encoded", e);
      }
    }
    return out.toString();
  }

  /** Same as {@link #encode(X509Certificate...)}, for a list. */
  public static String encode(List<X509Certificate> certificates) {
    return encode(certificates.toArray(X509Certificate[]::new));
  }

  /**
   * Every certificate in a PEM text, in order.
   *
   * @throws CertificateDataException if the text holds no certificate or a block that is not one
   */
  public static List<X509Certificate> readCertificates(String pem) {
    Objects.requireNonNull(pem, "pem");
    List<X509Certificate> certificates = new ArrayList<>();
    try (PEMParser parser = new PEMParser(new StringReader(pem))) {
      CertificateFactory factory = CertificateFactory.getInstance("X.509");
      Object object;
      while ((object = parser.readObject()) != null) {
        if (!(object instanceof X509CertificateHolder holder)) {
          throw new CertificateDataException(
              "expected only CERTIFICATE blocks, found " + describe(object));
        }
        certificates.add(
            (X509Certificate)
                factory.generateCertificate(new ByteArrayInputStream(holder.getEncoded())));
      }
    } catch (IOException | CertificateException | RuntimeException e) {
      if (e instanceof CertificateDataException cde) {
        throw cde;
      }
      throw new CertificateDataException("not a valid PEM certificate: " + e.getMessage(), e);
    }
    if (certificates.isEmpty()) {
      throw new CertificateDataException("no PEM CERTIFICATE block found");
    }
    return List.copyOf(certificates);
  }

  /** A PKCS#8 {@code PRIVATE KEY} block. */
  public static String encodePrivateKey(PrivateKey key) {
    Objects.requireNonNull(key, "key");
    if (!"PKCS#8".equals(key.getFormat()) || key.getEncoded() == null) {
      throw new CertificateDataException(
          "private key cannot be exported as PKCS#8 (format " + key.getFormat() + ")");
    }
    return block("PRIVATE KEY", key.getEncoded());
  }

  /**
   * The one private key in a PEM text: PKCS#8 {@code PRIVATE KEY}, or legacy {@code EC PRIVATE KEY}
   * (an {@code EC PARAMETERS} block before it is allowed) or {@code RSA PRIVATE KEY}.
   *
   * @throws CertificateDataException if there is no key, more than one, an encrypted one, or one of
   *     an unsupported type
   */
  public static PrivateKey readPrivateKey(String pem) {
    Objects.requireNonNull(pem, "pem");
    PrivateKeyInfo found = null;
    try (PEMParser parser = new PEMParser(new StringReader(pem))) {
      Object object;
      while ((object = parser.readObject()) != null) {
        PrivateKeyInfo info;
        if (object instanceof PrivateKeyInfo pki) {
          info = pki;
        } else if (object instanceof PEMKeyPair pair) {
          info = pair.getPrivateKeyInfo();
        } else if (object instanceof ASN1ObjectIdentifier || object instanceof X9ECParameters) {
          continue; // "EC PARAMETERS", written by `openssl ecparam -genkey` before the key
        } else if (object instanceof PEMEncryptedKeyPair
            || object instanceof PKCS8EncryptedPrivateKeyInfo) {
          throw new CertificateDataException(
              "the private key is encrypted; an unencrypted key is required");
        } else {
          throw new CertificateDataException(
              "expected a PRIVATE KEY block, found " + describe(object));
        }
        if (found != null) {
          throw new CertificateDataException("more than one private key in the PEM text");
        }
        found = info;
      }
    } catch (IOException | RuntimeException e) {
      if (e instanceof CertificateDataException cde) {
        throw cde;
      }
      // the parser's messages name the structure, never the key bytes
      throw new CertificateDataException("not a valid PEM private key: " + e.getMessage(), e);
    }
    if (found == null) {
      throw new CertificateDataException("no PEM private key block found");
    }
    return toPrivateKey(found);
  }

  private static PrivateKey toPrivateKey(PrivateKeyInfo found) {
    PrivateKeyInfo info = found;
    ASN1ObjectIdentifier oid = info.getPrivateKeyAlgorithm().getAlgorithm();
    String algorithm;
    if (X9ObjectIdentifiers.id_ecPublicKey.equals(oid)) {
      algorithm = "EC";
      info = withCurve(info);
    } else if (PKCSObjectIdentifiers.rsaEncryption.equals(oid)) {
      algorithm = "RSA";
    } else {
      throw new CertificateDataException("unsupported private key type (OID " + oid + ")");
    }
    try {
      return KeyFactory.getInstance(algorithm)
          .generatePrivate(new PKCS8EncodedKeySpec(info.getEncoded()));
    } catch (GeneralSecurityException | IOException e) {
      throw new CertificateDataException(
          "the " + algorithm + " private key cannot be decoded: " + e.getMessage(), e);
    }
  }

  /**
   * A SEC1 key may leave its curve to "context" (BouncyCastle writes JDK keys that way); the JDK
   * needs it named. P-256 is the only curve vmpower uses, and a wrong guess cannot slip through:
   * every caller checks the key against its certificate.
   */
  private static PrivateKeyInfo withCurve(PrivateKeyInfo info) {
    ASN1Encodable params = info.getPrivateKeyAlgorithm().getParameters();
    if (params != null && !(params instanceof ASN1Null)) {
      return info;
    }
    try {
      ECPrivateKey sec1 = ECPrivateKey.getInstance(info.parsePrivateKey());
      ASN1Encodable curve =
          sec1.getParametersObject() != null
              ? sec1.getParametersObject()
              : SECObjectIdentifiers.secp256r1;
      return new PrivateKeyInfo(
          new AlgorithmIdentifier(X9ObjectIdentifiers.id_ecPublicKey, curve), sec1);
    } catch (IOException | RuntimeException e) {
      throw new CertificateDataException("the EC private key cannot be decoded", e);
    }
  }

  private static String describe(Object object) {
    return object.getClass().getSimpleName();
  }

  private static String block(String type, byte[] der) {
    String body =
        Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII)).encodeToString(der);
    return "-----BEGIN " + type + "-----\n" + body + "\n-----END " + type + "-----\n";
  }
}
