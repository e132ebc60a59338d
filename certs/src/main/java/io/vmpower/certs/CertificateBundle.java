package io.vmpower.certs;

import java.io.IOException;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.List;
import java.util.Objects;

/**
 * What a TLS server needs, in PEM: the trusted CA certificates, its certificate and its key.
 *
 * @param caPem one or more CA certificates; during a CA rotation the new and the old CA
 * @param certificatePem the leaf certificate first, then any intermediates
 * @param privateKeyPem the leaf's private key
 */
public record CertificateBundle(String caPem, String certificatePem, String privateKeyPem) {

  public CertificateBundle {
    Objects.requireNonNull(caPem, "caPem");
    Objects.requireNonNull(certificatePem, "certificatePem");
    Objects.requireNonNull(privateKeyPem, "privateKeyPem");
  }

  /** The serving certificate. */
  public X509Certificate leaf() {
    return Pem.readCertificates(certificatePem).get(0);
  }

  /** The leaf followed by its intermediates, as a TLS server presents them. */
  public List<X509Certificate> chain() {
    return Pem.readCertificates(certificatePem);
  }

  /** The CA certificates a client should trust. */
  public List<X509Certificate> authorities() {
    return Pem.readCertificates(caPem);
  }

  public PrivateKey privateKey() {
    return Pem.readPrivateKey(privateKeyPem);
  }

  /**
   * An in-memory key store holding the private key and {@link #chain()} under {@code alias}, for a
   * TLS server's key manager.
   */
  public KeyStore toKeyStore(String alias, char[] password) {
    try {
      KeyStore store = KeyStore.getInstance("PKCS12");
      store.load(null, null);
      store.setKeyEntry(alias, privateKey(), password, chain().toArray(X509Certificate[]::new));
      return store;
    } catch (GeneralSecurityException | IOException e) {
      throw new CertificateDataException("cannot build a key store: " + e.getMessage(), e);
    }
  }

  /** An in-memory trust store holding every certificate of {@link #authorities()}. */
  public KeyStore toTrustStore() {
    try {
      KeyStore store = KeyStore.getInstance("PKCS12");
      store.load(null, null);
      List<X509Certificate> cas = authorities();
      for (int i = 0; i < cas.size(); i++) {
        store.setCertificateEntry("ca-" + i, cas.get(i));
      }
      return store;
    } catch (GeneralSecurityException | IOException e) {
      throw new CertificateDataException("cannot build a trust store: " + e.getMessage(), e);
    }
  }

  /** When the serving certificate expires. */
  public Instant notAfter() {
    return leaf().getNotAfter().toInstant();
  }

  // never print the key
  @Override
  public String toString() {
    String leaf;
    try {
      X509Certificate cert = leaf();
      leaf = cert.getSubjectX500Principal().getName() + ", notAfter=" + cert.getNotAfter();
    } catch (CertificateDataException e) {
      leaf = "unreadable";
    }
    return "CertificateBundle[leaf=" + leaf + "]";
  }
}
