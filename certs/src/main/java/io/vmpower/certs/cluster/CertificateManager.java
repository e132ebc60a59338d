package io.vmpower.certs.cluster;

import io.vmpower.certs.CertificateBundle;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps the serving certificate current and the CA injected: every check interval it asks the
 * {@link CertificateSource} for the bundle, hands a changed bundle to the listeners (the
 * application reloads TLS there), and has the {@link CaBundleInjector} keep the bundle's CA in the
 * webhook configuration.
 *
 * <p>{@link #ready()} is true only when a bundle was loaded by every listener and its CA bundle is
 * injected: before that the API server could not verify this replica.
 */
public final class CertificateManager implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(CertificateManager.class);

  /** Thirty seconds: a few cheap GETs per replica, and well inside the rotation grace period. */
  public static final Duration DEFAULT_CHECK_INTERVAL = Duration.ofSeconds(30);

  /** Told about every new bundle; throwing means the bundle was not loaded (retried later). */
  @FunctionalInterface
  public interface Listener {
    void certificatesChanged(CertificateBundle bundle) throws Exception;
  }

  private final CertificateSource source;
  private final CaBundleInjector injector;
  private final Duration checkInterval;
  private final List<Listener> listeners = new CopyOnWriteArrayList<>();
  private final ScheduledExecutorService executor;
  private volatile CertificateBundle current;
  private volatile CertificateBundle loaded;

  public CertificateManager(
      CertificateSource source, CaBundleInjector injector, Duration checkInterval) {
    this.source = Objects.requireNonNull(source, "source");
    this.injector = Objects.requireNonNull(injector, "injector");
    this.checkInterval = Objects.requireNonNull(checkInterval, "checkInterval");
    this.executor =
        Executors.newSingleThreadScheduledExecutor(
            r -> {
              Thread thread = new Thread(r, "vmpower-certificates");
              thread.setDaemon(true);
              return thread;
            });
  }

  /** Adds a listener; if a bundle is already current it is delivered at the next refresh. */
  public void addListener(Listener listener) {
    listeners.add(Objects.requireNonNull(listener, "listener"));
    loaded = null;
  }

  /**
   * One pass: refresh the bundle, deliver it if it changed (or an earlier delivery failed), inject
   * its CA. Errors are logged and leave the last good state in place.
   */
  public synchronized void refresh() {
    CertificateBundle bundle;
    try {
      bundle = source.refresh(injector::isInjected);
    } catch (RuntimeException e) {
      log.warn("cannot refresh the serving certificate: {}", e.toString());
      bundle = current;
    }
    if (bundle == null) {
      return;
    }
    current = bundle;
    if (!bundle.equals(loaded)) {
      deliver(bundle);
    }
    injector.setWanted(bundle.caPem());
    try {
      injector.reconcile();
    } catch (RuntimeException e) {
      log.warn(
          "cannot inject the CA bundle into {}: {}", injector.configurationName(), e.toString());
    }
  }

  private void deliver(CertificateBundle bundle) {
    for (Listener listener : listeners) {
      try {
        listener.certificatesChanged(bundle);
      } catch (Exception e) {
        log.error(
            "a listener failed to load the serving certificate; will retry: {}", e.toString());
        return;
      }
    }
    loaded = bundle;
    log.info("serving certificate loaded: {}", bundle);
  }

  /** Runs {@link #refresh()} now, then every check interval, and starts the injector's watch. */
  public void start() {
    refresh();
    injector.start(checkInterval);
    long millis = checkInterval.toMillis();
    executor.scheduleWithFixedDelay(
        () -> {
          try {
            refresh();
          } catch (RuntimeException e) {
            log.error("certificate refresh failed: {}", e.toString());
          }
        },
        millis,
        millis,
        TimeUnit.MILLISECONDS);
  }

  /** The bundle loaded by every listener and whose CA bundle is injected. */
  public boolean ready() {
    CertificateBundle bundle = loaded;
    return bundle != null && injector.isInjected(bundle.caPem());
  }

  /** The newest bundle from the source, loaded or not. */
  public Optional<CertificateBundle> current() {
    return Optional.ofNullable(current);
  }

  /** The bundle every listener accepted last. */
  public Optional<CertificateBundle> loaded() {
    return Optional.ofNullable(loaded);
  }

  @Override
  public void close() {
    executor.shutdownNow();
    injector.close();
  }
}
