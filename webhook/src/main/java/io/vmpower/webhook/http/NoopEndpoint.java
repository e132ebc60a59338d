package io.vmpower.webhook.http;

import jakarta.servlet.http.HttpServletRequest;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import org.springframework.boot.autoconfigure.condition.ConditionalOnProperty;
import org.springframework.http.MediaType;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RestController;

/**
 * {@code POST /noop}: the limit of the HTTP stack, for the benchmarks (bench/BENCHMARKS.md). It
 * shares everything a review goes through before and after vmpower's own code (TLS, Tomcat, the
 * DispatcherServlet, reading the whole body, writing a {@code byte[]} answer) and does nothing
 * else: it reads the body and returns a fixed, AdmissionReview-shaped answer. Off unless {@code
 * vmpower.bench.noop-endpoint=true}, so a production server never exposes it.
 */
@RestController
@ConditionalOnProperty(name = "vmpower.bench.noop-endpoint", havingValue = "true")
public class NoopEndpoint {
  public static final String PATH = "/noop";

  private static final byte[] ANSWER =
      "{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\",\"response\":{\"uid\":\"noop\",\"allowed\":true}}"
          .getBytes(StandardCharsets.UTF_8);

  private final int maxRequestBytes;

  public NoopEndpoint(WebhookSettings settings) {
    this.maxRequestBytes = settings.maxRequestBytes();
  }

  @PostMapping(PATH)
  public ResponseEntity<byte[]> noop(HttpServletRequest request) throws IOException {
    try (InputStream in = request.getInputStream()) {
      // The same bounded read the admission endpoints do; the bytes are dropped.
      in.readNBytes(maxRequestBytes + 1);
    }
    return ResponseEntity.ok().contentType(MediaType.APPLICATION_JSON).body(ANSWER);
  }
}
