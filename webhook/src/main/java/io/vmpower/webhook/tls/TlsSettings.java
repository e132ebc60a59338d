package io.vmpower.webhook.tls;

import io.vmpower.certs.KeyAlgorithm;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;

/**
 * {@code vmpower.tls.*}: where the serving certificate comes from and how TLS is offered.
 *
 * @param dir local mode: where the CA and serving certificate are generated and kept
 * @param serviceName the Service in front of the webhook; its DNS names go into the certificate
 * @param namespace the release namespace
 * @param reloadInterval how often the certificate source is checked for a new certificate
 * @param protocols TLS 1.2 and 1.3 only
 * @param ciphers AEAD suites with forward secrecy only (TLS 1.3 suites are always AEAD)
 */
@ConfigurationProperties("vmpower.tls")
public record TlsSettings(
    @DefaultValue(".vmpower/certs") Path dir,
    @DefaultValue("vmpower") String serviceName,
    @DefaultValue("vmpower-system") String namespace,
    @DefaultValue("EC_P256") KeyAlgorithm keyAlgorithm,
    @DefaultValue("1825d") Duration caValidity,
    @DefaultValue("365d") Duration servingValidity,
    @DefaultValue("10s") Duration reloadInterval,
    @DefaultValue({"TLSv1.3", "TLSv1.2"}) List<String> protocols,
    @DefaultValue({
          "TLS_AES_128_GCM_SHA256",
          "TLS_AES_256_GCM_SHA384",
          "TLS_CHACHA20_POLY1305_SHA256",
          "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
          "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
          "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
          "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
          "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
          "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256"
        })
        List<String> ciphers) {}
