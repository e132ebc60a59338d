package io.vmpower.webhook;

import io.vmpower.certs.CertificateIssuer;
import io.vmpower.certs.Pem;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.Signature;
import java.security.cert.CertificateFactory;
import org.bouncycastle.openssl.PEMParser;

/**
 * Loads what the certificates need on a second thread while the main thread builds the Spring
 * context, which reaches the certificates about a second later. BouncyCastle's jars are signed: the
 * JVM checks their signatures when it loads the first class from each (0.1-0.2 s of CPU), and the
 * class data sharing archive cannot hold their classes. The JDK's X.509 and EC providers come
 * along. Only an optimisation: whatever is not loaded yet is loaded by the main thread as before.
 */
final class CryptoPreload {
  private CryptoPreload() {}

  static void start() {
    Thread thread = new Thread(CryptoPreload::run, "vmpower-preload");
    thread.setDaemon(true);
    thread.start();
  }

  static void run() {
    try {
      // Linking the issuer loads BouncyCastle's certificate builder; the parser the PEM reader.
      for (Class<?> c : new Class<?>[] {CertificateIssuer.class, PEMParser.class, Pem.class}) {
        Class.forName(c.getName(), true, c.getClassLoader());
      }
      CertificateFactory.getInstance("X.509");
      KeyFactory.getInstance("EC");
      Signature.getInstance("SHA256withECDSA");
    } catch (ClassNotFoundException | GeneralSecurityException | LinkageError e) {
      // the main thread will meet the same problem and report it
    }
  }
}
