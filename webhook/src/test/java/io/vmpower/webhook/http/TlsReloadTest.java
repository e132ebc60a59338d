package io.vmpower.webhook.http;

import static org.assertj.core.api.Assertions.assertThat;

import io.vmpower.certs.CertificateAuthority;
import io.vmpower.certs.CertificateBundle;
import io.vmpower.certs.CertificateIssuer;
import io.vmpower.certs.KeyAlgorithm;
import io.vmpower.certs.ServingIdentity;
import io.vmpower.webhook.tls.LocalServingCertificates;
import java.math.BigInteger;
import java.nio.file.Files;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;

/** A certificate replaced in the directory is served to new connections without a restart. */
class TlsReloadTest extends HttpsApplicationTest {
  @Autowired io.vmpower.webhook.tls.ServingCertificates certificates;

  private X509Certificate served(String... protocols) throws Exception {
    SSLContext context = TlsClients.context(CERT_DIR.resolve("ca.crt"), null);
    try (SSLSocket socket =
        (SSLSocket) context.getSocketFactory().createSocket("localhost", port)) {
      SSLParameters parameters = socket.getSSLParameters();
      parameters.setEndpointIdentificationAlgorithm("HTTPS");
      if (protocols.length > 0) {
        parameters.setProtocols(protocols);
      }
      socket.setSSLParameters(parameters);
      socket.startHandshake();
      return (X509Certificate) socket.getSession().getPeerCertificates()[0];
    }
  }

  @Test
  void replacedCertificateIsServedAfterReload() throws Exception {
    BigInteger before = served().getSerialNumber();

    CertificateAuthority ca =
        CertificateAuthority.fromPem(
            Files.readString(CERT_DIR.resolve("ca.crt")),
            Files.readString(CERT_DIR.resolve("ca.key")));
    CertificateBundle replacement =
        new CertificateIssuer(Clock.systemUTC())
            .issueServing(
                ca,
                ServingIdentity.forLocalRun("vmpower", "vmpower-system"),
                KeyAlgorithm.EC_P256,
                Duration.ofDays(30));
    Files.writeString(CERT_DIR.resolve("tls.key"), replacement.privateKeyPem());
    Files.writeString(CERT_DIR.resolve("tls.crt"), replacement.certificatePem());

    assertThat(((LocalServingCertificates) certificates).checkNow()).isTrue();
    X509Certificate after = served();
    assertThat(after.getSerialNumber())
        .isNotEqualTo(before)
        .isEqualTo(replacement.leaf().getSerialNumber());
    assertThat(((LocalServingCertificates) certificates).checkNow()).isFalse();
  }

  @Test
  void bothTls12AndTls13AreServed() throws Exception {
    assertThat(served("TLSv1.3").getSerialNumber()).isEqualTo(served("TLSv1.2").getSerialNumber());
  }
}
