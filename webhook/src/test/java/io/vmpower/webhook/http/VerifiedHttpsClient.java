package io.vmpower.webhook.http;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;

/**
 * An HTTPS client that trusts only the given CA and checks the host name, as the API server does
 * when it calls a webhook with a caBundle.
 */
public final class VerifiedHttpsClient {
  private final HttpClient client;

  public VerifiedHttpsClient(Path caFile) {
    try {
      SSLContext context = TlsClients.context(caFile, null);
      SSLParameters parameters = new SSLParameters();
      parameters.setEndpointIdentificationAlgorithm("HTTPS");
      this.client =
          HttpClient.newBuilder()
              .sslContext(context)
              .sslParameters(parameters)
              .version(HttpClient.Version.HTTP_1_1)
              .connectTimeout(Duration.ofSeconds(5))
              .build();
    } catch (Exception e) {
      throw new IllegalStateException("cannot build a client trusting " + caFile, e);
    }
  }

  public HttpResponse<String> post(URI uri, String contentType, byte[] body)
      throws IOException, InterruptedException {
    var request =
        HttpRequest.newBuilder(uri)
            .timeout(Duration.ofSeconds(20))
            .POST(HttpRequest.BodyPublishers.ofByteArray(body));
    if (contentType != null) {
      request.header("Content-Type", contentType);
    }
    return client.send(request.build(), HttpResponse.BodyHandlers.ofString());
  }

  public HttpResponse<String> get(URI uri) throws IOException, InterruptedException {
    return client.send(
        HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(20)).GET().build(),
        HttpResponse.BodyHandlers.ofString());
  }
}
