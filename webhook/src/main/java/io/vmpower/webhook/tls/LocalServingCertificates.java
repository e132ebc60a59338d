package io.vmpower.webhook.tls;

import io.vmpower.certs.CertificateBundle;
import io.vmpower.certs.CertificateIssuer;
import io.vmpower.certs.LocalCertificateStore;
import io.vmpower.certs.ServingIdentity;
import java.time.Clock;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Local mode: certificates generated into a directory on first start and reused afterwards. The
 * directory is checked every reload interval, so a certificate replaced there, or renewed by the
 * store at 2/3 of its lifetime, is served without a restart.
 */
public final class LocalServingCertificates implements ServingCertificates {
  private static final Logger log = LoggerFactory.getLogger(LocalServingCertificates.class);

  private final LocalCertificateStore store;
  private final TlsSettings settings;
  private final ScheduledExecutorService executor =
      Executors.newSingleThreadScheduledExecutor(
          r -> {
            Thread t = new Thread(r, "vmpower-tls-reload");
            t.setDaemon(true);
            return t;
          });
  private volatile CertificateBundle current;
  private volatile Consumer<CertificateBundle> install = bundle -> {};

  public LocalServingCertificates(TlsSettings settings, Clock clock) {
    this.settings = settings;
    this.store =
        new LocalCertificateStore(
            settings.dir().toAbsolutePath(),
            new CertificateIssuer(clock),
            ServingIdentity.forLocalRun(settings.serviceName(), settings.namespace()),
            settings.keyAlgorithm(),
            settings.caValidity(),
            settings.servingValidity());
    this.current = store.ensure();
    log.atInfo()
        .addKeyValue("caFile", store.caFile().toString())
        .addKeyValue("certificateFile", store.certificateFile().toString())
        .addKeyValue("notAfter", current.notAfter().toString())
        .log("serving with local certificates; clients verify with the CA in caFile");
  }

  @Override
  public CertificateBundle current() {
    return current;
  }

  @Override
  public void start(Consumer<CertificateBundle> install) {
    this.install = install;
    long millis = settings.reloadInterval().toMillis();
    executor.scheduleWithFixedDelay(this::checkQuietly, millis, millis, TimeUnit.MILLISECONDS);
  }

  /** Looks at the directory now; returns true when a new certificate was installed. */
  public synchronized boolean checkNow() {
    CertificateBundle latest = store.ensure();
    if (latest.equals(current)) {
      return false;
    }
    install.accept(latest);
    current = latest;
    return true;
  }

  private void checkQuietly() {
    try {
      checkNow();
    } catch (RuntimeException e) {
      // Keep serving the current certificate; the next check tries again.
      log.atError().addKeyValue("error", e.toString()).log("TLS certificate check failed");
    }
  }

  @Override
  public boolean ready() {
    return true;
  }

  @Override
  public String state() {
    return "local certificates from " + store.certificateFile().getParent();
  }

  @Override
  public void close() {
    executor.shutdownNow();
  }
}
