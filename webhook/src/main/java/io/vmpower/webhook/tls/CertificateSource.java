package io.vmpower.webhook.tls;

import io.vmpower.certs.CertificateBundle;
import java.util.Optional;

/** Where the serving certificate comes from: a local directory, a Secret, or mounted files. */
public interface CertificateSource {

  /** The certificate being served now. */
  CertificateBundle current();

  /** Looks again; returns the new bundle when it changed (and makes it current). */
  Optional<CertificateBundle> refresh();
}
