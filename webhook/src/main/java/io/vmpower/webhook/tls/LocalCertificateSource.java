package io.vmpower.webhook.tls;

import io.vmpower.certs.CertificateBundle;
import io.vmpower.certs.CertificateIssuer;
import io.vmpower.certs.LocalCertificateStore;
import io.vmpower.certs.ServingIdentity;
import java.time.Clock;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Local mode: certificates generated into a directory on first start and reused afterwards; a
 * certificate replaced in the directory, or renewed by the store, is picked up by {@link
 * #refresh()}.
 */
public final class LocalCertificateSource implements CertificateSource {
  private static final Logger log = LoggerFactory.getLogger(LocalCertificateSource.class);

  private final LocalCertificateStore store;
  private volatile CertificateBundle current;

  public LocalCertificateSource(TlsSettings settings, Clock clock) {
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

  public java.nio.file.Path caFile() {
    return store.caFile();
  }

  @Override
  public CertificateBundle current() {
    return current;
  }

  @Override
  public synchronized Optional<CertificateBundle> refresh() {
    CertificateBundle latest = store.ensure();
    if (latest.equals(current)) {
      return Optional.empty();
    }
    current = latest;
    return Optional.of(latest);
  }
}
