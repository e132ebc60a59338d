package io.vmpower.webhook.tls;

import io.vmpower.certs.CertificateBundle;
import java.util.function.Consumer;

/**
 * The certificate the admission port serves and where it comes from: a local directory, the
 * self-managed Secret, or files mounted by cert-manager.
 */
public interface ServingCertificates extends AutoCloseable {

  /** The bundle to serve from the start; available before the web server starts. */
  CertificateBundle current();

  /** Starts watching for new certificates; {@code install} is called with each one. */
  void start(Consumer<CertificateBundle> install);

  /** True when the certificate is loaded and clients (the API server) can verify it. */
  boolean ready();

  /** Why not ready, for the health endpoint. */
  String state();

  @Override
  void close();
}
