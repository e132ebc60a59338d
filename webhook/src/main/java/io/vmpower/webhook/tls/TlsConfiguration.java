package io.vmpower.webhook.tls;

import io.vmpower.certs.CertificateBundle;
import java.time.Clock;
import org.springframework.boot.autoconfigure.ssl.SslBundleRegistrar;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.boot.ssl.SslBundle;
import org.springframework.boot.ssl.SslBundleKey;
import org.springframework.boot.ssl.SslBundleRegistry;
import org.springframework.boot.ssl.SslOptions;
import org.springframework.boot.ssl.pem.PemSslStoreBundle;
import org.springframework.boot.ssl.pem.PemSslStoreDetails;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/**
 * Serves the admission port with the certificate from a {@link CertificateSource}, registered as
 * the SSL bundle {@value #BUNDLE} ({@code server.ssl.bundle}) and swapped in place when it changes.
 */
@Configuration(proxyBeanMethods = false)
@EnableConfigurationProperties(TlsSettings.class)
public class TlsConfiguration {
  public static final String BUNDLE = "vmpower";

  @Bean
  CertificateSource certificateSource(TlsSettings settings) {
    return new LocalCertificateSource(settings, Clock.systemUTC());
  }

  @Bean
  SslBundleRegistrar vmpowerSslBundle(CertificateSource source, TlsSettings settings) {
    return registry -> registry.registerBundle(BUNDLE, sslBundle(source.current(), settings));
  }

  @Bean
  TlsReloader tlsReloader(
      CertificateSource source, SslBundleRegistry registry, TlsSettings settings) {
    return new TlsReloader(source, registry, settings);
  }

  static SslBundle sslBundle(CertificateBundle bundle, TlsSettings settings) {
    var keyStore =
        PemSslStoreDetails.forCertificates(bundle.certificatePem())
            .withPrivateKey(bundle.privateKeyPem());
    return SslBundle.of(
        new PemSslStoreBundle(keyStore, null),
        SslBundleKey.NONE,
        SslOptions.of(
            settings.ciphers().toArray(String[]::new),
            settings.protocols().toArray(String[]::new)));
  }
}
