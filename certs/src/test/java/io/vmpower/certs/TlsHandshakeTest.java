package io.vmpower.certs;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsServer;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.security.KeyStore;
import java.time.Clock;
import java.time.Duration;
import javax.net.ssl.HttpsURLConnection;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLHandshakeException;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManagerFactory;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Real TLS handshakes on loopback with the JDK's client and its HTTPS hostname verification, the
 * way the API server (a Go client, same rules) checks the webhook.
 */
class TlsHandshakeTest {
  static final char[] PASSWORD = "unused".toCharArray();

  final CertificateIssuer issuer = new CertificateIssuer(Clock.systemUTC());
  final ServingIdentity identity = ServingIdentity.forLocalRun("vmpower", "vmpower-system");
  HttpsServer server;

  @AfterEach
  void stop() {
    if (server != null) {
      server.stop(0);
    }
  }

  @ParameterizedTest
  @EnumSource(KeyAlgorithm.class)
  void httpsClientAcceptsLocalhostAndLoopbackIp(KeyAlgorithm algorithm) throws Exception {
    CertificateAuthority ca = issuer.newAuthority("ca", algorithm, Duration.ofDays(10));
    CertificateBundle bundle = issuer.issueServing(ca, identity, algorithm, Duration.ofDays(1));
    int port = serve(bundle);
    SSLContext client = clientContext(bundle.toTrustStore());

    assertThat(get(client, "https://localhost:" + port + "/")).isEqualTo("ok");
    assertThat(get(client, "https://127.0.0.1:" + port + "/")).isEqualTo("ok");
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "vmpower.vmpower-system.svc",
        "vmpower.vmpower-system.svc.cluster.local",
        "vmpower.vmpower-system"
      })
  void serviceNamesVerify(String host) throws Exception {
    CertificateAuthority ca = issuer.newAuthority("ca", KeyAlgorithm.EC_P256, Duration.ofDays(10));
    CertificateBundle bundle =
        issuer.issueServing(ca, identity, KeyAlgorithm.EC_P256, Duration.ofDays(1));
    int port = serve(bundle);

    SSLSocket socket = handshake(clientContext(bundle.toTrustStore()), port, host);
    assertThat(socket.getSession().getPeerCertificates()[0]).isEqualTo(bundle.leaf());
    socket.close();
  }

  @ParameterizedTest
  @ValueSource(strings = {"other.vmpower-system.svc", "vmpower.other.svc", "example.com"})
  void otherNamesAreRejected(String host) throws Exception {
    CertificateAuthority ca = issuer.newAuthority("ca", KeyAlgorithm.EC_P256, Duration.ofDays(10));
    CertificateBundle bundle =
        issuer.issueServing(ca, identity, KeyAlgorithm.EC_P256, Duration.ofDays(1));
    int port = serve(bundle);

    assertThatThrownBy(() -> handshake(clientContext(bundle.toTrustStore()), port, host))
        .isInstanceOf(SSLHandshakeException.class)
        .hasMessageContaining("No subject alternative DNS name matching " + host);
  }

  @org.junit.jupiter.api.Test
  void untrustedCaIsRejected() throws Exception {
    CertificateAuthority ca = issuer.newAuthority("ca", KeyAlgorithm.EC_P256, Duration.ofDays(10));
    CertificateAuthority stranger =
        issuer.newAuthority("ca", KeyAlgorithm.EC_P256, Duration.ofDays(10));
    CertificateBundle bundle =
        issuer.issueServing(ca, identity, KeyAlgorithm.EC_P256, Duration.ofDays(1));
    int port = serve(bundle);
    KeyStore wrongTrust = new CertificateBundle(stranger.certificatePem(), "", "").toTrustStore();

    assertThatThrownBy(() -> get(clientContext(wrongTrust), "https://localhost:" + port + "/"))
        .isInstanceOf(SSLHandshakeException.class);
  }

  private int serve(CertificateBundle bundle) throws Exception {
    KeyManagerFactory keys = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
    keys.init(bundle.toKeyStore("serving", PASSWORD), PASSWORD);
    SSLContext context = SSLContext.getInstance("TLS");
    context.init(keys.getKeyManagers(), null, null);
    server = HttpsServer.create(new InetSocketAddress(InetAddress.getByName("127.0.0.1"), 0), 0);
    server.setHttpsConfigurator(new HttpsConfigurator(context));
    server.createContext(
        "/",
        exchange -> {
          byte[] body = "ok".getBytes(StandardCharsets.UTF_8);
          exchange.sendResponseHeaders(200, body.length);
          exchange.getResponseBody().write(body);
          exchange.close();
        });
    server.start();
    return server.getAddress().getPort();
  }

  private static SSLContext clientContext(KeyStore trustStore) throws Exception {
    TrustManagerFactory trust = TrustManagerFactory.getInstance("PKIX");
    trust.init(trustStore);
    SSLContext context = SSLContext.getInstance("TLS");
    context.init(null, trust.getTrustManagers(), null);
    return context;
  }

  /** HttpsURLConnection with its default hostname verification. */
  private static String get(SSLContext client, String url) throws Exception {
    HttpsURLConnection connection = (HttpsURLConnection) new URL(url).openConnection();
    connection.setSSLSocketFactory(client.getSocketFactory());
    connection.setConnectTimeout(5000);
    connection.setReadTimeout(5000);
    try (InputStream in = connection.getInputStream()) {
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    } finally {
      connection.disconnect();
    }
  }

  /**
   * Connects to loopback but verifies {@code host}: what a client resolving the Service name to
   * this address would see. Endpoint identification "HTTPS" is RFC 2818 hostname checking.
   */
  private static SSLSocket handshake(SSLContext client, int port, String host) throws Exception {
    Socket plain = new Socket(InetAddress.getByName("127.0.0.1"), port);
    SSLSocket socket = (SSLSocket) client.getSocketFactory().createSocket(plain, host, port, true);
    SSLParameters params = socket.getSSLParameters();
    params.setEndpointIdentificationAlgorithm("HTTPS");
    socket.setSSLParameters(params);
    socket.setSoTimeout(5000);
    try {
      socket.startHandshake();
    } catch (Exception e) {
      socket.close();
      throw e;
    }
    return socket;
  }
}
