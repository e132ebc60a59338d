package io.vmpower.webhook.http;

import io.vmpower.certs.CertificateAuthority;
import io.vmpower.certs.Pem;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.math.BigInteger;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.KeyStore;
import java.security.Principal;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import javax.net.ssl.KeyManager;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509ExtendedKeyManager;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509CertificateHolder;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/** TLS clients for the hardening tests: JSSE contexts, client certificates, raw ClientHellos. */
final class TlsClients {
  private TlsClients() {}

  static final char[] PASSWORD = "changeit".toCharArray();

  /** A KeyStore holding a client certificate (EKU clientAuth) issued by {@code ca}, and its key. */
  static KeyStore clientCertificate(CertificateAuthority ca, String commonName) throws Exception {
    KeyPairGenerator generator = KeyPairGenerator.getInstance("EC");
    generator.initialize(new ECGenParameterSpec("secp256r1"));
    KeyPair pair = generator.generateKeyPair();
    Instant now = Instant.now();
    var builder =
        new JcaX509v3CertificateBuilder(
            new JcaX509CertificateHolder(ca.certificate()).getSubject(),
            new BigInteger(64, new SecureRandom()),
            Date.from(now.minus(Duration.ofMinutes(5))),
            Date.from(now.plus(Duration.ofDays(1))),
            new X500Name("CN=" + commonName),
            pair.getPublic());
    builder.addExtension(Extension.basicConstraints, true, new BasicConstraints(false));
    builder.addExtension(
        Extension.extendedKeyUsage, false, new ExtendedKeyUsage(KeyPurposeId.id_kp_clientAuth));
    X509Certificate certificate =
        new JcaX509CertificateConverter()
            .getCertificate(
                builder.build(
                    new JcaContentSignerBuilder("SHA256withECDSA").build(ca.privateKey())));
    KeyStore store = KeyStore.getInstance("PKCS12");
    store.load(null, null);
    store.setKeyEntry(
        "client",
        pair.getPrivate(),
        PASSWORD,
        new X509Certificate[] {certificate, ca.certificate()});
    return store;
  }

  /**
   * An SSL context trusting the CAs in {@code caFile}, presenting {@code clientKeys} if not null.
   */
  static SSLContext context(Path caFile, KeyStore clientKeys) throws Exception {
    KeyStore trust = KeyStore.getInstance(KeyStore.getDefaultType());
    trust.load(null, null);
    int i = 0;
    for (X509Certificate cert : Pem.readCertificates(Files.readString(caFile))) {
      trust.setCertificateEntry("ca-" + i++, cert);
    }
    TrustManagerFactory tmf =
        TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    tmf.init(trust);
    KeyManagerFactory kmf = null;
    if (clientKeys != null) {
      kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
      kmf.init(clientKeys, PASSWORD);
    }
    SSLContext context = SSLContext.getInstance("TLS");
    context.init(
        kmf == null
            ? null
            : new KeyManager[] {
              new AlwaysPresent((X509ExtendedKeyManager) kmf.getKeyManagers()[0])
            },
        tmf.getTrustManagers(),
        null);
    return context;
  }

  /**
   * Presents the client certificate whatever CAs the server names: JSSE would otherwise keep a
   * certificate from an unnamed CA to itself, and the server's verification would go untested.
   */
  private static final class AlwaysPresent extends X509ExtendedKeyManager {
    private final X509ExtendedKeyManager keys;

    AlwaysPresent(X509ExtendedKeyManager keys) {
      this.keys = keys;
    }

    @Override
    public String chooseClientAlias(String[] keyType, Principal[] issuers, Socket socket) {
      return "client";
    }

    @Override
    public String chooseEngineClientAlias(String[] keyType, Principal[] issuers, SSLEngine engine) {
      return "client";
    }

    @Override
    public String[] getClientAliases(String keyType, Principal[] issuers) {
      return new String[] {"client"};
    }

    @Override
    public String[] getServerAliases(String keyType, Principal[] issuers) {
      return null;
    }

    @Override
    public String chooseServerAlias(String keyType, Principal[] issuers, Socket socket) {
      return null;
    }

    @Override
    public X509Certificate[] getCertificateChain(String alias) {
      return keys.getCertificateChain(alias);
    }

    @Override
    public PrivateKey getPrivateKey(String alias) {
      return keys.getPrivateKey(alias);
    }
  }

  /**
   * A ClientHello written byte by byte, so that versions and suites the JDK's own client refuses to
   * offer (TLS 1.0/1.1, RC4, 3DES, NULL, anonymous) can still be put to the server.
   */
  static byte[] clientHello(int version, int... suites) throws IOException {
    ByteArrayOutputStream hello = new ByteArrayOutputStream();
    hello.write(version >> 8);
    hello.write(version);
    byte[] random = new byte[32];
    new SecureRandom().nextBytes(random);
    hello.write(random);
    hello.write(0); // no session id
    u16(hello, suites.length * 2);
    for (int suite : suites) {
      u16(hello, suite);
    }
    hello.write(1); // compression methods: null only
    hello.write(0);
    ByteArrayOutputStream extensions = new ByteArrayOutputStream();
    byte[] host = "localhost".getBytes(StandardCharsets.US_ASCII);
    extension(
        extensions, 0x0000, concat(u16(host.length + 3), new byte[] {0}, u16(host.length), host));
    extension(extensions, 0x000a, concat(u16(4), u16(0x0017), u16(0x001d))); // P-256, X25519
    extension(extensions, 0x000b, new byte[] {1, 0}); // uncompressed points
    // ecdsa_secp256r1_sha256, rsa_pss_rsae_sha256, rsa_pkcs1_sha256
    extension(extensions, 0x000d, concat(u16(6), u16(0x0403), u16(0x0804), u16(0x0401)));
    u16(hello, extensions.size());
    hello.write(extensions.toByteArray());
    byte[] body = hello.toByteArray();
    ByteArrayOutputStream record = new ByteArrayOutputStream();
    record.write(0x16); // handshake
    record.write(version >= 0x0301 ? 0x03 : version >> 8);
    record.write(version >= 0x0301 ? 0x01 : version);
    u16(record, body.length + 4);
    record.write(1); // client_hello
    record.write(0);
    u16(record, body.length);
    record.write(body);
    return record.toByteArray();
  }

  /** What the server answered a raw ClientHello with. */
  enum Answer {
    SERVER_HELLO,
    ALERT,
    CLOSED
  }

  static Answer send(int port, byte[] clientHello) throws IOException {
    try (Socket socket = new Socket()) {
      socket.connect(new InetSocketAddress("localhost", port), 5000);
      socket.setSoTimeout(5000);
      OutputStream out = socket.getOutputStream();
      out.write(clientHello);
      out.flush();
      InputStream in = socket.getInputStream();
      int type;
      try {
        type = in.read();
      } catch (SocketTimeoutException e) {
        throw new AssertionError("no answer to the ClientHello within 5 s", e);
      } catch (IOException e) {
        return Answer.CLOSED; // reset
      }
      if (type == 0x16) {
        in.readNBytes(4);
        if (in.read() == 2) {
          return Answer.SERVER_HELLO;
        }
        throw new AssertionError("handshake record that is not a ServerHello");
      }
      return type == 0x15 ? Answer.ALERT : Answer.CLOSED;
    }
  }

  private static void extension(ByteArrayOutputStream out, int type, byte[] data)
      throws IOException {
    u16(out, type);
    u16(out, data.length);
    out.write(data);
  }

  private static void u16(ByteArrayOutputStream out, int value) {
    out.write(value >> 8);
    out.write(value);
  }

  private static byte[] u16(int value) {
    return new byte[] {(byte) (value >> 8), (byte) value};
  }

  private static byte[] concat(byte[]... parts) throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    for (byte[] part : parts) {
      out.write(part);
    }
    return out.toByteArray();
  }
}
