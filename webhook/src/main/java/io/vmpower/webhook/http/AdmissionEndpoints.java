package io.vmpower.webhook.http;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.vmpower.webhook.admission.AdmissionHandler;
import io.vmpower.webhook.admission.BadReviewException;
import jakarta.servlet.http.HttpServletRequest;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.time.Duration;
import java.util.Locale;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.boot.autoconfigure.condition.ConditionalOnProperty;
import org.springframework.http.MediaType;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RestController;

/**
 * The admission endpoints. Spring only moves bytes here: AdmissionReviews are read and written by
 * {@link AdmissionHandler} with fabric8's Jackson 2 serialization, independent of Spring's Jackson
 * 3.
 */
@RestController
@ConditionalOnProperty(
    name = "vmpower.webhook.enabled",
    havingValue = "true",
    matchIfMissing = true)
public class AdmissionEndpoints {
  public static final String VIRTUAL_MACHINES = "/mutate-virtualmachines";
  public static final String PODS = "/mutate-pods";

  private static final Logger log = LoggerFactory.getLogger(AdmissionEndpoints.class);

  private final AdmissionHandlers handlers;
  private final MeterRegistry meters;
  private final int maxRequestBytes;
  private final Duration bodyTimeout;
  private final java.util.concurrent.ConcurrentMap<String, Timer> timers =
      new java.util.concurrent.ConcurrentHashMap<>();

  public AdmissionEndpoints(
      AdmissionHandlers handlers, MeterRegistry meters, WebhookSettings settings) {
    this.handlers = handlers;
    this.meters = meters;
    this.maxRequestBytes = settings.maxRequestBytes();
    this.bodyTimeout = settings.requestBodyTimeout();
  }

  @PostMapping(VIRTUAL_MACHINES)
  public ResponseEntity<byte[]> virtualMachines(HttpServletRequest request) {
    return review("virtualmachines", handlers.virtualMachines(), request);
  }

  @PostMapping(PODS)
  public ResponseEntity<byte[]> pods(HttpServletRequest request) {
    return review("pods", handlers.pods(), request);
  }

  private ResponseEntity<byte[]> review(
      String endpoint, AdmissionHandler handler, HttpServletRequest request) {
    long start = System.nanoTime();
    AdmissionHandler.Result result;
    try {
      result = handler.handle(readBody(request));
    } catch (BadReviewException e) {
      result = AdmissionHandler.rejected(e);
    }
    long nanos = System.nanoTime() - start;
    record(endpoint, result, nanos);
    return ResponseEntity.status(result.httpStatus())
        .contentType(MediaType.APPLICATION_JSON)
        .body(result.body());
  }

  /** Reads at most the configured size, so an oversized body never fills the heap. */
  private byte[] readBody(HttpServletRequest request) throws BadReviewException {
    String contentType = request.getContentType();
    if (contentType == null
        || !contentType.toLowerCase(Locale.ROOT).startsWith(MediaType.APPLICATION_JSON_VALUE)) {
      throw new BadReviewException(
          415,
          "UnsupportedMediaType",
          "Content-Type must be application/json, got "
              + (contentType == null ? "(none)" : BadReviewException.shorten(contentType, 64)));
    }
    long declared = request.getContentLengthLong();
    if (declared > maxRequestBytes) {
      throw tooLarge(declared);
    }
    // Tomcat's connection timeout bounds each read, not the whole body: a client trickling a
    // byte every few seconds would hold this thread for as long as it likes. The deadline bounds
    // the whole body (RELIABILITY.md, finding 3).
    long deadline = System.nanoTime() + bodyTimeout.toNanos();
    // Grows with what arrives beyond 64 KB: a declared length alone must not reserve much memory.
    // Below that, the declared length sizes the buffer (the API server always sends one), so a
    // review costs one copy of its body, not 80 KB of buffers.
    int initial = declared > 0 && declared <= 64 * 1024 ? (int) declared : 8 * 1024;
    ByteArrayOutputStream body = new ByteArrayOutputStream(initial);
    byte[] chunk = new byte[Math.min(initial, 16 * 1024)];
    try (InputStream in = request.getInputStream()) {
      int n;
      while ((n = in.read(chunk)) >= 0) {
        body.write(chunk, 0, n);
        if (body.size() > maxRequestBytes) {
          throw tooLarge(-1);
        }
        if (System.nanoTime() - deadline > 0 && (declared < 0 || body.size() < declared)) {
          request.setAttribute(AbandonedBodyValve.ATTRIBUTE, Boolean.TRUE);
          throw new BadReviewException(
              408,
              "Timeout",
              "request body not received within "
                  + bodyTimeout.toMillis()
                  + " ms ("
                  + body.size()
                  + " bytes arrived)");
        }
      }
      return body.toByteArray();
    } catch (IOException e) {
      // e.g. the read timed out: whatever is left of the body is not worth waiting for either
      request.setAttribute(AbandonedBodyValve.ATTRIBUTE, Boolean.TRUE);
      throw BadReviewException.badRequest("request body could not be read: " + e.getMessage());
    }
  }

  private BadReviewException tooLarge(long declared) {
    return new BadReviewException(
        413,
        "RequestEntityTooLarge",
        "request body is larger than the limit of "
            + maxRequestBytes
            + " bytes"
            + (declared > 0 ? " (Content-Length " + declared + ")" : ""));
  }

  /** One timer per endpoint and decision, looked up without building a meter id per review. */
  private Timer timer(String endpoint, String decision) {
    return timers.computeIfAbsent(
        endpoint + '\n' + decision,
        k ->
            Timer.builder("vmpower.webhook.requests")
                .description("Admission reviews answered, by endpoint and decision")
                .tag("endpoint", endpoint)
                .tag("decision", decision)
                .register(meters));
  }

  private void record(String endpoint, AdmissionHandler.Result result, long nanos) {
    var s = result.summary();
    timer(endpoint, s.decision()).record(nanos, java.util.concurrent.TimeUnit.NANOSECONDS);
    var event =
        (result.httpStatus() == 200 ? log.atInfo() : log.atWarn())
            .addKeyValue("endpoint", endpoint)
            .addKeyValue("status", result.httpStatus())
            .addKeyValue("decision", s.decision())
            .addKeyValue("durationMs", Math.round(nanos / 10_000.0) / 100.0);
    if (!s.uid().isEmpty()) {
      event =
          event
              .addKeyValue("uid", s.uid())
              .addKeyValue("kind", s.kind())
              .addKeyValue("operation", s.operation())
              .addKeyValue("namespace", s.namespace())
              .addKeyValue("name", s.name())
              .addKeyValue("dryRun", s.dryRun())
              .addKeyValue("patchOperations", s.patchOperations());
    }
    if (!s.warnings().isEmpty()) {
      event = event.addKeyValue("warnings", String.join("; ", s.warnings()));
    }
    if (!s.message().isEmpty()) {
      event = event.addKeyValue("detail", s.message());
    }
    event.log("admission review");
  }
}
