package io.vmpower.webhook.tls;

import io.vmpower.certs.CertificateBundle;
import io.vmpower.certs.cluster.CertificateManager;
import java.util.function.Consumer;

/**
 * In a cluster: the self-managed Secret (CA kept in the webhook configuration's caBundle by this
 * program) or cert-manager's mounted files (caBundle kept by cert-manager's CA injector, only
 * verified here). Renewal, CA rotation and caBundle repair are the {@link CertificateManager}'s.
 */
public final class ClusterServingCertificates implements ServingCertificates {
  private final CertificateManager manager;
  private final String description;

  /** Runs the first pass at once, so a bundle exists before the web server starts. */
  public ClusterServingCertificates(CertificateManager manager, String description) {
    this.manager = manager;
    this.description = description;
    manager.refresh();
    if (manager.current().isEmpty()) {
      manager.close();
      throw new IllegalStateException(
          "no serving certificate could be obtained from " + description + " (see the log above)");
    }
  }

  @Override
  public CertificateBundle current() {
    return manager.current().orElseThrow();
  }

  @Override
  public void start(Consumer<CertificateBundle> install) {
    manager.addListener(install::accept);
    manager.start();
  }

  @Override
  public boolean ready() {
    return manager.ready();
  }

  @Override
  public String state() {
    if (manager.loaded().isEmpty()) {
      return description + ": certificate not loaded yet";
    }
    return manager.ready()
        ? description + ": certificate loaded and CA injected"
        : description + ": CA bundle not injected into the webhook configuration yet";
  }

  @Override
  public void close() {
    manager.close();
  }
}
