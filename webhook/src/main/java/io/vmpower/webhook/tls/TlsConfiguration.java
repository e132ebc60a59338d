package io.vmpower.webhook.tls;

import io.fabric8.kubernetes.client.KubernetesClient;
import io.vmpower.certs.CertificateBundle;
import io.vmpower.certs.CertificateIssuer;
import io.vmpower.certs.Pem;
import io.vmpower.certs.ServingIdentity;
import io.vmpower.certs.cluster.CaBundleInjector;
import io.vmpower.certs.cluster.CertificateLifetimes;
import io.vmpower.certs.cluster.CertificateManager;
import io.vmpower.certs.cluster.FileCertificateSource;
import io.vmpower.certs.cluster.SecretCertificateStore;
import io.vmpower.webhook.cluster.ClusterAccess;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import org.springframework.boot.autoconfigure.ssl.SslBundleRegistrar;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.boot.health.contributor.Health;
import org.springframework.boot.health.contributor.HealthIndicator;
import org.springframework.boot.ssl.SslBundle;
import org.springframework.boot.ssl.SslBundleKey;
import org.springframework.boot.ssl.SslBundleRegistry;
import org.springframework.boot.ssl.SslOptions;
import org.springframework.boot.ssl.pem.PemSslStoreBundle;
import org.springframework.boot.ssl.pem.PemSslStoreDetails;
import org.springframework.boot.web.server.AbstractConfigurableWebServerFactory;
import org.springframework.boot.web.server.Ssl;
import org.springframework.boot.web.server.WebServerFactoryCustomizer;
import org.springframework.context.SmartLifecycle;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/**
 * Serves the admission port with the certificate from {@link ServingCertificates}, registered as
 * the SSL bundle {@value #BUNDLE} ({@code server.ssl.bundle}) and swapped in place when it changes:
 * Tomcat builds a new SSL context for new connections, open ones finish on the old one.
 */
@Configuration(proxyBeanMethods = false)
@EnableConfigurationProperties(TlsSettings.class)
public class TlsConfiguration {
  public static final String BUNDLE = "vmpower";

  @Bean(destroyMethod = "close")
  ServingCertificates servingCertificates(TlsSettings settings, ClusterAccess cluster) {
    Clock clock = Clock.systemUTC();
    TlsSettings.Mode mode = settings.mode();
    if (mode == TlsSettings.Mode.AUTO) {
      mode = cluster.client().isPresent() ? TlsSettings.Mode.SELF_MANAGED : TlsSettings.Mode.LOCAL;
    }
    if (mode == TlsSettings.Mode.LOCAL) {
      return new LocalServingCertificates(settings, clock);
    }
    KubernetesClient client =
        cluster
            .client()
            .orElseThrow(
                () ->
                    new IllegalStateException(
                        "vmpower.tls.mode "
                            + settings.mode().name().toLowerCase().replace('_', '-')
                            + " needs a Kubernetes cluster, and none is reachable"));
    if (mode == TlsSettings.Mode.CERT_MANAGER) {
      var injector =
          new CaBundleInjector(
              client, settings.webhookConfigurationName(), CaBundleInjector.Mode.VERIFY);
      return new ClusterServingCertificates(
          new CertificateManager(
              new FileCertificateSource(settings.dir()), injector, settings.checkInterval()),
          "cert-manager files in " + settings.dir());
    }
    var store =
        new SecretCertificateStore(
            client,
            settings.namespace(),
            settings.secretName(),
            new CertificateIssuer(clock),
            ServingIdentity.forService(settings.serviceName(), settings.namespace()),
            settings.keyAlgorithm(),
            new CertificateLifetimes(
                settings.caValidity(),
                settings.servingValidity(),
                CertificateLifetimes.DEFAULT_ROTATION_GRACE));
    var injector =
        new CaBundleInjector(
            client, settings.webhookConfigurationName(), CaBundleInjector.Mode.REPAIR);
    return new ClusterServingCertificates(
        new CertificateManager(store, injector, settings.checkInterval()),
        "Secret " + settings.namespace() + "/" + settings.secretName());
  }

  @Bean
  SslBundleRegistrar vmpowerSslBundle(ServingCertificates certificates, TlsSettings settings) {
    return registry -> registry.registerBundle(BUNDLE, sslBundle(certificates.current(), settings));
  }

  @Bean
  TlsLifecycle tlsLifecycle(
      ServingCertificates certificates, SslBundleRegistry registry, TlsSettings settings) {
    return new TlsLifecycle(certificates, registry, settings);
  }

  /** Part of the readiness group: not ready until the API server can verify this replica. */
  @Bean
  HealthIndicator tlsHealthIndicator(ServingCertificates certificates) {
    return () ->
        (certificates.ready() ? Health.up() : Health.outOfService())
            .withDetail("certificates", certificates.state())
            .build();
  }

  /**
   * Client certificate checks (off by default): Tomcat asks for a certificate and verifies it
   * against the bundle's trust store, which holds the client CA file.
   */
  @Bean
  WebServerFactoryCustomizer<AbstractConfigurableWebServerFactory> vmpowerClientAuth(
      TlsSettings settings) {
    return factory -> {
      Ssl ssl = factory.getSsl();
      if (ssl != null && TlsConfiguration.BUNDLE.equals(ssl.getBundle())) {
        ssl.setClientAuth(
            switch (settings.clientAuth()) {
              case NONE -> Ssl.ClientAuth.NONE;
              case WANT -> Ssl.ClientAuth.WANT;
              case NEED -> Ssl.ClientAuth.NEED;
            });
      }
    };
  }

  static SslBundle sslBundle(CertificateBundle bundle, TlsSettings settings) {
    // The key store only hands the key to Tomcat, in memory; it is never written anywhere. As
    // PKCS12 (the JDK's default type) the key would be encrypted and decrypted with 10,000 PBKDF2
    // rounds four times over (Spring stores it, Tomcat reads it, copies it into a store of the
    // same type and its key manager reads it again): 0.1-0.2 s of CPU at every start and
    // certificate reload. JKS's key protection costs nothing, and protects nothing here either
    // (it needs a password; an empty one).
    var keyStore =
        new PemSslStoreDetails(
            "JKS", null, "", bundle.certificatePem(), bundle.privateKeyPem(), null);
    PemSslStoreDetails trustStore = null;
    if (settings.clientAuth() != TlsSettings.ClientAuth.NONE) {
      trustStore = PemSslStoreDetails.forCertificates(clientCas(settings.clientCaFile()));
    }
    return SslBundle.of(
        new PemSslStoreBundle(keyStore, trustStore),
        SslBundleKey.NONE,
        SslOptions.of(
            settings.ciphers().toArray(String[]::new),
            settings.protocols().toArray(String[]::new)));
  }

  private static String clientCas(Path file) {
    try {
      String pem = Files.readString(file);
      if (Pem.readCertificates(pem).isEmpty()) {
        throw new IllegalStateException(
            "vmpower.tls.client-ca-file " + file + " holds no certificate");
      }
      return pem;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read vmpower.tls.client-ca-file " + file, e);
    }
  }

  /** Starts watching for new certificates once the server runs; installs each one. */
  public static final class TlsLifecycle implements SmartLifecycle {
    private final ServingCertificates certificates;
    private final SslBundleRegistry registry;
    private final TlsSettings settings;
    private volatile boolean running;

    TlsLifecycle(
        ServingCertificates certificates, SslBundleRegistry registry, TlsSettings settings) {
      this.certificates = certificates;
      this.registry = registry;
      this.settings = settings;
    }

    @Override
    public void start() {
      certificates.start(
          bundle -> {
            registry.updateBundle(BUNDLE, sslBundle(bundle, settings));
            org.slf4j.LoggerFactory.getLogger(TlsConfiguration.class)
                .atInfo()
                .addKeyValue("serial", bundle.leaf().getSerialNumber().toString(16))
                .addKeyValue("notAfter", bundle.notAfter().toString())
                .log("TLS certificate installed");
          });
      running = true;
    }

    @Override
    public void stop() {
      running = false;
    }

    @Override
    public boolean isRunning() {
      return running;
    }
  }
}
