package io.vmpower.certs.cluster;

import io.vmpower.certs.CertificateBundle;
import java.util.function.Predicate;

/**
 * Where the serving certificate comes from: the self-managed Secret, or files cert-manager wrote.
 */
public interface CertificateSource {

  /**
   * The bundle to serve now. Called periodically; a self-managed source creates, renews and rotates
   * here.
   *
   * @param published whether a CA bundle (PEM) is known to be in the webhook configuration, so
   *     clients trust it; a source that rotates CAs waits for this before signing with a new CA
   * @throws RuntimeException when no usable bundle is available (the caller keeps the last one)
   */
  CertificateBundle refresh(Predicate<String> published);
}
