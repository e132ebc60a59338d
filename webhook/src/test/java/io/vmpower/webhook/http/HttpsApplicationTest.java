package io.vmpower.webhook.http;

import static io.vmpower.admission.testing.Reviews.parse;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalManagementPort;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

/**
 * The running application on random ports, with certificates generated into a fresh directory and a
 * client that trusts only that CA. Subclasses share one application context.
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT)
abstract class HttpsApplicationTest {
  static final Path CERT_DIR = tempDir();

  @LocalServerPort int port;
  @LocalManagementPort int managementPort;

  private static VerifiedHttpsClient client;

  @DynamicPropertySource
  static void properties(DynamicPropertyRegistry registry) {
    registry.add("vmpower.tls.dir", CERT_DIR::toString);
    registry.add("vmpower.tls.reload-interval", () -> "1h");
    registry.add("management.server.port", () -> "0");
  }

  static synchronized VerifiedHttpsClient client() {
    if (client == null) {
      client = new VerifiedHttpsClient(CERT_DIR.resolve("ca.crt"));
    }
    return client;
  }

  URI uri(String host, String path) {
    return URI.create("https://" + host + ":" + port + path);
  }

  HttpResponse<String> post(String path, String contentType, byte[] body) throws Exception {
    return client().post(uri("localhost", path), contentType, body);
  }

  /** Posts a review, expects 200 and a well-formed AdmissionReview answer for the same uid. */
  JsonNode review(String path, JsonNode review) throws Exception {
    HttpResponse<String> response =
        post(path, "application/json", io.vmpower.admission.testing.Reviews.bytes(review));
    assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
    JsonNode body = parse(response.body());
    assertThat(body.path("apiVersion").asText()).isEqualTo("admission.k8s.io/v1");
    assertThat(body.path("kind").asText()).isEqualTo("AdmissionReview");
    assertThat(body.path("response").path("uid").asText())
        .isEqualTo(review.path("request").path("uid").asText());
    return body.path("response");
  }

  private static Path tempDir() {
    try {
      return Files.createTempDirectory("vmpower-certs");
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
