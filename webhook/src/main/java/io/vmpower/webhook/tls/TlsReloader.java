package io.vmpower.webhook.tls;

import io.vmpower.certs.CertificateBundle;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.boot.ssl.SslBundleRegistry;
import org.springframework.context.SmartLifecycle;

/**
 * Checks the certificate source periodically and swaps the server's SSL bundle when it changed:
 * Tomcat rebuilds its SSL context for new connections, open connections finish on the old one.
 */
public final class TlsReloader implements SmartLifecycle {
  private static final Logger log = LoggerFactory.getLogger(TlsReloader.class);

  private final CertificateSource source;
  private final SslBundleRegistry registry;
  private final TlsSettings settings;
  private ScheduledExecutorService executor;

  public TlsReloader(CertificateSource source, SslBundleRegistry registry, TlsSettings settings) {
    this.source = source;
    this.registry = registry;
    this.settings = settings;
  }

  /** Checks once now; returns true when a new certificate was installed. */
  public boolean reloadNow() {
    var changed = source.refresh();
    changed.ifPresent(this::install);
    return changed.isPresent();
  }

  private void install(CertificateBundle bundle) {
    registry.updateBundle(TlsConfiguration.BUNDLE, TlsConfiguration.sslBundle(bundle, settings));
    log.atInfo()
        .addKeyValue("serial", bundle.leaf().getSerialNumber().toString(16))
        .addKeyValue("notAfter", bundle.notAfter().toString())
        .log("TLS certificate reloaded");
  }

  private void checkQuietly() {
    try {
      reloadNow();
    } catch (RuntimeException e) {
      // Keep serving the current certificate; the next check tries again.
      log.atError().addKeyValue("error", e.toString()).log("TLS certificate check failed");
    }
  }

  @Override
  public synchronized void start() {
    executor =
        Executors.newSingleThreadScheduledExecutor(
            r -> {
              Thread t = new Thread(r, "vmpower-tls-reload");
              t.setDaemon(true);
              return t;
            });
    long millis = settings.reloadInterval().toMillis();
    executor.scheduleWithFixedDelay(this::checkQuietly, millis, millis, TimeUnit.MILLISECONDS);
  }

  @Override
  public synchronized void stop() {
    if (executor != null) {
      executor.shutdownNow();
      executor = null;
    }
  }

  @Override
  public synchronized boolean isRunning() {
    return executor != null;
  }
}
