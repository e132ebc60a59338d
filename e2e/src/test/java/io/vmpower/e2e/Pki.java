package io.vmpower.e2e;

import java.io.IOException;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.openssl.jcajce.JcaPKCS8Generator;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * The test cluster's own PKI: a CA for the API server's serving certificate and the clients'
 * (admin, the aggregator's proxy client, the KubeVirt stand-in), written as PEM files the binaries
 * read.
 */
final class Pki {
  private static final SecureRandom RANDOM = new SecureRandom();

  record Issued(KeyPair keys, X509Certificate certificate, Path certFile, Path keyFile) {
    String certPem() {
      return pem(certificate);
    }
  }

  private final Path dir;
  private final Issued ca;

  Pki(Path dir, String caName) {
    this.dir = dir;
    try {
      Files.createDirectories(dir);
      KeyPair keys = ec();
      X500Name name = new X500Name("CN=" + caName);
      X509v3CertificateBuilder builder = builder(name, name, keys);
      builder.addExtension(Extension.basicConstraints, true, new BasicConstraints(true));
      builder.addExtension(
          Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign));
      X509Certificate cert = sign(builder, keys);
      this.ca = write(caName, keys, cert);
    } catch (GeneralSecurityException | IOException e) {
      throw new IllegalStateException(e);
    }
  }

  Issued ca() {
    return ca;
  }

  /** A serving certificate for DNS names and IP addresses. */
  Issued server(String file, List<String> dnsNames, List<String> ips) {
    List<GeneralName> names = new ArrayList<>();
    dnsNames.forEach(n -> names.add(new GeneralName(GeneralName.dNSName, n)));
    ips.forEach(n -> names.add(new GeneralName(GeneralName.iPAddress, n)));
    return leaf(file, "CN=" + dnsNames.get(0), names, KeyPurposeId.id_kp_serverAuth, false);
  }

  /** A client certificate: Kubernetes takes CN as the user name and O as the groups. */
  Issued client(String file, String user, String... groups) {
    StringBuilder subject = new StringBuilder();
    for (String g : groups) {
      subject.append("O=").append(g).append(',');
    }
    subject.append("CN=").append(user);
    return leaf(file, subject.toString(), List.of(), KeyPurposeId.id_kp_clientAuth, true);
  }

  /** An RSA key pair for signing and verifying service-account tokens. */
  Path serviceAccountKey(String file) {
    try {
      KeyPair keys = rsa();
      Path path = dir.resolve(file + ".key");
      Files.writeString(path, pem(keys.getPrivate()));
      return path;
    } catch (GeneralSecurityException | IOException e) {
      throw new IllegalStateException(e);
    }
  }

  /** Client keys are RSA: fabric8's client reads PKCS#8 RSA keys, not PKCS#8 EC ones. */
  private Issued leaf(
      String file, String subject, List<GeneralName> sans, KeyPurposeId purpose, boolean rsa) {
    try {
      KeyPair keys = rsa ? rsa() : ec();
      X509v3CertificateBuilder builder =
          new JcaX509v3CertificateBuilder(
              ca.certificate(),
              new BigInteger(96, RANDOM),
              Date.from(Instant.now().minus(Duration.ofMinutes(5))),
              Date.from(Instant.now().plus(Duration.ofDays(2))),
              new X500Name(subject),
              keys.getPublic());
      builder.addExtension(Extension.basicConstraints, true, new BasicConstraints(false));
      builder.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature));
      builder.addExtension(Extension.extendedKeyUsage, false, new ExtendedKeyUsage(purpose));
      if (!sans.isEmpty()) {
        builder.addExtension(
            Extension.subjectAlternativeName,
            false,
            new GeneralNames(sans.toArray(GeneralName[]::new)));
      }
      return write(file, keys, sign(builder, ca.keys()));
    } catch (GeneralSecurityException | IOException e) {
      throw new IllegalStateException(e);
    }
  }

  private Issued write(String file, KeyPair keys, X509Certificate cert) throws IOException {
    Path certFile = dir.resolve(file + ".crt");
    Path keyFile = dir.resolve(file + ".key");
    Files.writeString(certFile, pem(cert));
    Files.writeString(keyFile, pem(keys.getPrivate()));
    return new Issued(keys, cert, certFile, keyFile);
  }

  private static X509v3CertificateBuilder builder(X500Name issuer, X500Name subject, KeyPair keys) {
    return new JcaX509v3CertificateBuilder(
        issuer,
        new BigInteger(96, RANDOM),
        Date.from(Instant.now().minus(Duration.ofMinutes(5))),
        Date.from(Instant.now().plus(Duration.ofDays(2))),
        subject,
        keys.getPublic());
  }

  private static X509Certificate sign(X509v3CertificateBuilder builder, KeyPair signer)
      throws GeneralSecurityException {
    try {
      return new JcaX509CertificateConverter()
          .getCertificate(
              builder.build(
                  new JcaContentSignerBuilder("SHA256withECDSA").build(signer.getPrivate())));
    } catch (org.bouncycastle.operator.OperatorCreationException e) {
      throw new GeneralSecurityException(e);
    }
  }

  private static KeyPair rsa() throws GeneralSecurityException {
    KeyPairGenerator generator = KeyPairGenerator.getInstance("RSA");
    generator.initialize(2048, RANDOM);
    return generator.generateKeyPair();
  }

  private static KeyPair ec() throws GeneralSecurityException {
    KeyPairGenerator generator = KeyPairGenerator.getInstance("EC");
    generator.initialize(new ECGenParameterSpec("secp256r1"), RANDOM);
    return generator.generateKeyPair();
  }

  /** Certificates as CERTIFICATE, private keys as PKCS#8 PRIVATE KEY (Go and Java both read it). */
  static String pem(Object object) {
    StringWriter out = new StringWriter();
    try (JcaPEMWriter writer = new JcaPEMWriter(out)) {
      if (object instanceof PrivateKey key) {
        writer.writeObject(new JcaPKCS8Generator(key, null));
      } else {
        writer.writeObject(object);
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return out.toString();
  }
}
