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
 * @param mode {@code auto}: {@code self-managed} with a cluster, {@code local} without one
 * @param dir local mode: where the CA and serving certificate are generated and kept; cert-manager
 *     mode: where cert-manager's Secret is mounted ({@code tls.crt}, {@code tls.key}, {@code
 *     ca.crt})
 * @param secretName self-managed mode: the Secret in {@code namespace} holding CA and certificate
 * @param webhookConfigurationName the MutatingWebhookConfiguration whose caBundle carries our CA
 * @param checkInterval in a cluster: how often the Secret or files and the caBundle are checked
 * @param serviceName the Service in front of the webhook; its DNS names go into the certificate
 * @param namespace the release namespace
 * @param reloadInterval how often the certificate source is checked for a new certificate
 * @param protocols TLS 1.2 and 1.3 only
 * @param ciphers AEAD suites with forward secrecy only (TLS 1.3 suites are always AEAD)
 * @param clientAuth whether the admission port asks clients for a certificate: {@code none} (the
 *     default; the API server is authenticated by nothing else than reaching the Service), {@code
 *     want} (verified when presented) or {@code need} (required); the API server presents one when
 *     its {@code --admission-control-config-file} names a kubeconfig with a client certificate
 * @param clientCaFile PEM file with the CA(s) that client certificates must chain to; required for
 *     {@code want} and {@code need}, read again with every certificate reload
 */
@ConfigurationProperties("vmpower.tls")
public record TlsSettings(
    @DefaultValue("auto") Mode mode,
    @DefaultValue(".vmpower/certs") Path dir,
    @DefaultValue("vmpower-tls") String secretName,
    @DefaultValue("vmpower") String webhookConfigurationName,
    @DefaultValue("30s") Duration checkInterval,
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
        List<String> ciphers,
    @DefaultValue("none") ClientAuth clientAuth,
    Path clientCaFile) {

  public TlsSettings {
    if (clientAuth != ClientAuth.NONE && clientCaFile == null) {
      throw new IllegalArgumentException(
          "vmpower.tls.client-auth="
              + clientAuth.name().toLowerCase()
              + " needs vmpower.tls.client-ca-file (the CA that client certificates chain to)");
    }
  }

  /** Client certificate checks on the admission port. */
  public enum ClientAuth {
    NONE,
    WANT,
    NEED
  }

  /** Where the serving certificate comes from. */
  public enum Mode {
    AUTO,
    LOCAL,
    SELF_MANAGED,
    CERT_MANAGER
  }
}
