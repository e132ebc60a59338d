package io.vmpower.certs;

/**
 * Certificate or key material that cannot be used: not PEM, not the expected type, encrypted, or a
 * key that does not belong to its certificate. The message says which input and why; it never
 * contains key material.
 */
public class CertificateDataException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public CertificateDataException(String message) {
    super(message);
  }

  public CertificateDataException(String message, Throwable cause) {
    super(message, cause);
  }
}
