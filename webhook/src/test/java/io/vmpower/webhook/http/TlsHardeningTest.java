package io.vmpower.webhook.http;

import static org.assertj.core.api.Assertions.assertThat;

import io.vmpower.certs.CertificateIssuer;
import io.vmpower.certs.KeyAlgorithm;
import io.vmpower.webhook.http.TlsClients.Answer;
import io.vmpower.webhook.tls.TlsSettings;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.springframework.beans.factory.annotation.Autowired;

/**
 * The admission port offers TLS 1.2 and 1.3 only, with AEAD suites with forward secrecy only, and
 * does not ask for client certificates unless configured to (see {@link ClientCertificateTest}).
 * Plain HTTP is covered in {@link MalformedRequestsHttpsTest}.
 */
class TlsHardeningTest extends HttpsApplicationTest {
  @Autowired TlsSettings settings;

  @Test
  void aModernClientHelloIsAnsweredSoTheRawClientWorks() throws Exception {
    // TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256 over TLS 1.2: the positive control
    assertThat(TlsClients.send(port, TlsClients.clientHello(0x0303, 0xc02b)))
        .isEqualTo(Answer.SERVER_HELLO);
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource({
    "SSL 3.0, 0x0300",
    "TLS 1.0, 0x0301",
    "TLS 1.1, 0x0302",
  })
  void oldProtocolVersionsAreRefused(String name, String version) throws Exception {
    // offered with suites the server would take over TLS 1.2, so only the version can be the reason
    byte[] hello =
        TlsClients.clientHello(Integer.decode(version), 0xc02b, 0xc009, 0xc00a, 0xc013, 0x002f);
    assertThat(TlsClients.send(port, hello)).as(name).isNotEqualTo(Answer.SERVER_HELLO);
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource({
    "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256, 0xc023",
    "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384, 0xc024",
    "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA, 0xc009",
    "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA, 0xc00a",
    "TLS_ECDHE_ECDSA_WITH_3DES_EDE_CBC_SHA, 0xc008",
    "TLS_ECDHE_ECDSA_WITH_RC4_128_SHA, 0xc007",
    "TLS_ECDHE_ECDSA_WITH_NULL_SHA, 0xc006",
    "TLS_ECDH_ECDSA_WITH_AES_128_GCM_SHA256, 0xc02d",
    "TLS_ECDH_anon_WITH_AES_128_CBC_SHA, 0xc018",
    "TLS_DH_anon_WITH_AES_128_GCM_SHA256, 0x00a6",
    "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256, 0x009e",
    "TLS_RSA_WITH_AES_128_GCM_SHA256, 0x009c",
    "TLS_RSA_WITH_AES_128_CBC_SHA, 0x002f",
    "TLS_RSA_WITH_3DES_EDE_CBC_SHA, 0x000a",
    "TLS_RSA_WITH_RC4_128_SHA, 0x0005",
    "TLS_RSA_WITH_NULL_SHA256, 0x003b",
    "TLS_RSA_EXPORT_WITH_RC4_40_MD5, 0x0003",
  })
  void weakSuitesAreRefusedOverTls12(String name, String suite) throws Exception {
    assertThat(TlsClients.send(port, TlsClients.clientHello(0x0303, Integer.decode(suite))))
        .as(name)
        .isNotEqualTo(Answer.SERVER_HELLO);
  }

  /** Without the configured list, the JDK would serve CBC suites: the refusal above is ours. */
  @Test
  void theJdkAloneWouldServeCbcSuites() throws Exception {
    assertThat(SSLContext.getDefault().getServerSocketFactory().getDefaultCipherSuites())
        .contains(
            "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256", "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA");
  }

  /** Every suite the JDK client knows, one at a time: only the configured AEAD/FS ones succeed. */
  @Test
  void onlyTheConfiguredSuitesAreNegotiable() throws Exception {
    SSLContext context = TlsClients.context(CERT_DIR.resolve("ca.crt"), null);
    Set<String> accepted = new TreeSet<>();
    List<String> tried = new ArrayList<>();
    for (String suite : context.getSupportedSSLParameters().getCipherSuites()) {
      if (suite.contains("SCSV")) {
        continue;
      }
      String protocol =
          suite.startsWith("TLS_AES_") || suite.startsWith("TLS_CHACHA20_") ? "TLSv1.3" : "TLSv1.2";
      tried.add(suite);
      try (SSLSocket socket =
          (SSLSocket) context.getSocketFactory().createSocket("localhost", port)) {
        socket.setSoTimeout(5000);
        SSLParameters parameters = socket.getSSLParameters();
        parameters.setEndpointIdentificationAlgorithm("HTTPS");
        parameters.setProtocols(new String[] {protocol});
        parameters.setCipherSuites(new String[] {suite});
        socket.setSSLParameters(parameters);
        socket.startHandshake();
        accepted.add(suite + " " + socket.getSession().getProtocol());
      } catch (SSLException | IllegalArgumentException e) {
        // refused (or not usable by this client at all)
      }
    }
    System.out.printf("TLS suite scan: %d suites tried, accepted: %s%n", tried.size(), accepted);
    assertThat(tried).hasSizeGreaterThan(30);
    assertThat(accepted)
        .allSatisfy(
            a -> {
              String suite = a.split(" ")[0];
              assertThat(settings.ciphers()).contains(suite);
              assertThat(suite).containsAnyOf("_GCM_", "_CHACHA20_POLY1305_");
              assertThat(
                      suite.startsWith("TLS_AES_")
                          || suite.startsWith("TLS_CHACHA20_")
                          || suite.startsWith("TLS_ECDHE_"))
                  .isTrue();
            })
        .contains(
            "TLS_AES_128_GCM_SHA256 TLSv1.3",
            "TLS_AES_256_GCM_SHA384 TLSv1.3",
            "TLS_CHACHA20_POLY1305_SHA256 TLSv1.3",
            "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256 TLSv1.2",
            "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384 TLSv1.2",
            "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256 TLSv1.2");
  }

  /** By default the server sends no CertificateRequest, so a client's certificate stays unused. */
  @Test
  void clientCertificatesAreNotRequestedByDefault() throws Exception {
    var otherCa =
        new CertificateIssuer(Clock.systemUTC())
            .newAuthority("client-ca", KeyAlgorithm.EC_P256, Duration.ofDays(1));
    SSLContext context =
        TlsClients.context(
            CERT_DIR.resolve("ca.crt"), TlsClients.clientCertificate(otherCa, "kube-apiserver"));
    for (String protocol : List.of("TLSv1.3", "TLSv1.2")) {
      try (SSLSocket socket =
          (SSLSocket) context.getSocketFactory().createSocket("localhost", port)) {
        SSLParameters parameters = socket.getSSLParameters();
        parameters.setEndpointIdentificationAlgorithm("HTTPS");
        parameters.setProtocols(new String[] {protocol});
        socket.setSSLParameters(parameters);
        socket.startHandshake();
        assertThat(socket.getSession().getLocalCertificates()).as(protocol).isNull();
      }
    }
    assertThat(settings.clientAuth()).isEqualTo(TlsSettings.ClientAuth.NONE);
    assertThat(settings.protocols()).containsExactly("TLSv1.3", "TLSv1.2");
  }
}
