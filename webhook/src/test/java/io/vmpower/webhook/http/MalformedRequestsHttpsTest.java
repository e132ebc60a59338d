package io.vmpower.webhook.http;

import static io.vmpower.webhook.Manifests.vm;
import static io.vmpower.webhook.Reviews.bytes;
import static io.vmpower.webhook.Reviews.parse;
import static io.vmpower.webhook.Reviews.vmReview;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Requests that are not an AdmissionReview v1 for a VirtualMachine: each gets a 4xx with a
 * Kubernetes Status that says what is wrong, and the server stays healthy.
 */
class MalformedRequestsHttpsTest extends HttpsApplicationTest {

  private static ObjectNode valid() {
    return vmReview("bad-1", "CREATE", vm("db", "AlwaysOn", ""), null);
  }

  private static byte[] edited(Consumer<ObjectNode> edit) {
    ObjectNode review = valid();
    edit.accept(review);
    return bytes(review);
  }

  private static ObjectNode request(ObjectNode review) {
    return (ObjectNode) review.get("request");
  }

  static Stream<Arguments> malformed() {
    return Stream.of(
        Arguments.of(
            "not JSON",
            "hello".getBytes(StandardCharsets.UTF_8),
            400,
            "request body is not valid JSON"),
        Arguments.of("empty body", new byte[0], 400, "request body is empty"),
        Arguments.of(
            "truncated JSON",
            "{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":".getBytes(StandardCharsets.UTF_8),
            400,
            "request body is not valid JSON"),
        Arguments.of(
            "a JSON array",
            "[1,2]".getBytes(StandardCharsets.UTF_8),
            400,
            "expected a JSON object (an AdmissionReview), got an array"),
        Arguments.of(
            "trailing garbage",
            (new String(bytes(valid()), StandardCharsets.UTF_8) + " {}")
                .getBytes(StandardCharsets.UTF_8),
            400,
            "request body is not valid JSON"),
        Arguments.of(
            "v1beta1 review",
            edited(r -> r.put("apiVersion", "admission.k8s.io/v1beta1")),
            400,
            "expected apiVersion admission.k8s.io/v1 and kind AdmissionReview, got \"admission.k8s.io/v1beta1\""),
        Arguments.of(
            "wrong kind",
            edited(r -> r.put("kind", "ConfigMap")),
            400,
            "kind AdmissionReview, got \"admission.k8s.io/v1\" \"ConfigMap\""),
        Arguments.of(
            "apiVersion a number",
            edited(r -> r.put("apiVersion", 1)),
            400,
            "apiVersion must be a string, got a number"),
        Arguments.of(
            "missing request", edited(r -> r.remove("request")), 400, "request is missing"),
        Arguments.of(
            "request a string",
            edited(r -> r.put("request", "x")),
            400,
            "request must be an object, got a string"),
        Arguments.of(
            "missing uid",
            edited(r -> request(r).remove("uid")),
            400,
            "request.uid is missing or empty"),
        Arguments.of(
            "empty uid",
            edited(r -> request(r).put("uid", "")),
            400,
            "request.uid is missing or empty"),
        Arguments.of(
            "uid a number",
            edited(r -> request(r).put("uid", 7)),
            400,
            "request.uid must be a string, got a number"),
        Arguments.of(
            "missing kind",
            edited(r -> request(r).remove("kind")),
            400,
            "request.kind must be an object"),
        Arguments.of(
            "a Pod sent to the VM endpoint",
            edited(r -> ((ObjectNode) request(r).get("kind")).put("group", "").put("kind", "Pod")),
            400,
            "this endpoint reviews kubevirt.io/VirtualMachine objects, got Pod"),
        Arguments.of(
            "a VMI sent to the VM endpoint",
            edited(
                r -> ((ObjectNode) request(r).get("kind")).put("kind", "VirtualMachineInstance")),
            400,
            "got kubevirt.io/VirtualMachineInstance"),
        Arguments.of(
            "unknown operation",
            edited(r -> request(r).put("operation", "PATCH")),
            400,
            "request.operation must be one of CREATE, UPDATE, DELETE, CONNECT, got \"PATCH\""),
        Arguments.of(
            "missing object on CREATE",
            edited(r -> request(r).remove("object")),
            400,
            "request.object is missing for CREATE"),
        Arguments.of(
            "null object on CREATE",
            edited(r -> request(r).putNull("object")),
            400,
            "request.object is missing for CREATE"),
        Arguments.of(
            "object a string",
            edited(r -> request(r).put("object", "vm")),
            400,
            "request.object must be an object, got a string"),
        Arguments.of(
            "UPDATE without oldObject",
            edited(r -> request(r).put("operation", "UPDATE")),
            400,
            "request.oldObject is missing for UPDATE"),
        Arguments.of(
            "dryRun a string",
            edited(r -> request(r).put("dryRun", "yes")),
            400,
            "request.dryRun must be a boolean, got a string"),
        Arguments.of(
            "duplicate keys",
            "{\"apiVersion\":\"admission.k8s.io/v1\",\"apiVersion\":\"x\"}"
                .getBytes(StandardCharsets.UTF_8),
            400,
            "Duplicate field 'apiVersion'"),
        Arguments.of(
            "deep nesting",
            ("{\"a\":".repeat(1000) + "1" + "}".repeat(1000)).getBytes(StandardCharsets.UTF_8),
            400,
            "request body exceeds a parser limit"));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("malformed")
  void answeredWithAStatusNotAStackTrace(String name, byte[] body, int status, String message)
      throws Exception {
    HttpResponse<String> response =
        post(AdmissionEndpoints.VIRTUAL_MACHINES, "application/json", body);
    assertThat(response.statusCode()).isEqualTo(status);
    JsonNode statusBody = parse(response.body());
    assertThat(statusBody.path("kind").asText()).isEqualTo("Status");
    assertThat(statusBody.path("apiVersion").asText()).isEqualTo("v1");
    assertThat(statusBody.path("status").asText()).isEqualTo("Failure");
    assertThat(statusBody.path("code").asInt()).isEqualTo(status);
    assertThat(statusBody.path("message").asText()).contains(message);
    assertThat(response.body()).doesNotContain("Exception").doesNotContain("\tat ");
  }

  @Test
  void bodyOverTheLimitIs413() throws Exception {
    byte[] huge = new byte[8 * 1024 * 1024];
    java.util.Arrays.fill(huge, (byte) ' ');
    HttpResponse<String> response =
        post(AdmissionEndpoints.VIRTUAL_MACHINES, "application/json", huge);
    assertThat(response.statusCode()).isEqualTo(413);
    assertThat(parse(response.body()).path("message").asText())
        .startsWith("request body is larger than the limit of 7340032 bytes");
  }

  @Test
  void wrongContentTypeIs415() throws Exception {
    HttpResponse<String> response =
        post(AdmissionEndpoints.VIRTUAL_MACHINES, "text/plain", bytes(valid()));
    assertThat(response.statusCode()).isEqualTo(415);
    assertThat(parse(response.body()).path("message").asText())
        .isEqualTo("Content-Type must be application/json, got text/plain");
  }

  @Test
  void missingContentTypeIs415() throws Exception {
    HttpResponse<String> response = post(AdmissionEndpoints.VIRTUAL_MACHINES, null, bytes(valid()));
    assertThat(response.statusCode()).isEqualTo(415);
  }

  @Test
  void getIsNotAllowed() throws Exception {
    HttpResponse<String> response =
        client().get(uri("localhost", AdmissionEndpoints.VIRTUAL_MACHINES));
    assertThat(response.statusCode()).isEqualTo(405);
    assertThat(response.body()).doesNotContain("Exception");
  }

  @Test
  void unknownPathIs404() throws Exception {
    HttpResponse<String> response = post("/mutate-secrets", "application/json", bytes(valid()));
    assertThat(response.statusCode()).isEqualTo(404);
  }

  @Test
  void plainHttpOnTheAdmissionPortIsNotServed() throws Exception {
    try (Socket socket = new Socket("localhost", port)) {
      socket.setSoTimeout(5000);
      OutputStream out = socket.getOutputStream();
      out.write(
          ("POST "
                  + AdmissionEndpoints.VIRTUAL_MACHINES
                  + " HTTP/1.1\r\nHost: localhost\r\n"
                  + "Content-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}")
              .getBytes(StandardCharsets.US_ASCII));
      out.flush();
      InputStream in = socket.getInputStream();
      String answer = new String(in.readAllBytes(), StandardCharsets.ISO_8859_1);
      assertThat(answer).doesNotContain("AdmissionReview");
      assertThat(answer).startsWith("HTTP/1.1 400").contains("requires TLS");
    }
  }

  @Test
  void serverStaysHealthyAfterAllOfIt() throws Exception {
    for (Arguments arguments : malformed().toList()) {
      post(AdmissionEndpoints.VIRTUAL_MACHINES, "application/json", (byte[]) arguments.get()[1]);
    }
    var health =
        java.net.http.HttpClient.newHttpClient()
            .send(
                java.net.http.HttpRequest.newBuilder(
                        java.net.URI.create(
                            "http://localhost:" + managementPort + "/actuator/health/readiness"))
                    .build(),
                HttpResponse.BodyHandlers.ofString());
    assertThat(health.statusCode()).isEqualTo(200);
    assertThat(parse(health.body()).path("status").asText()).isEqualTo("UP");
    JsonNode answer = review(AdmissionEndpoints.VIRTUAL_MACHINES, valid());
    assertThat(answer.path("allowed").asBoolean()).isTrue();
  }

  @Test
  void livenessIsServed() throws Exception {
    var health =
        java.net.http.HttpClient.newHttpClient()
            .send(
                java.net.http.HttpRequest.newBuilder(
                        java.net.URI.create(
                            "http://localhost:" + managementPort + "/actuator/health/liveness"))
                    .build(),
                HttpResponse.BodyHandlers.ofString());
    assertThat(health.statusCode()).isEqualTo(200);
  }
}
