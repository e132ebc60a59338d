package io.vmpower.webhook.http;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.vmpower.admission.AdmissionHandler;
import io.vmpower.admission.BadReviewException;
import io.vmpower.admission.Webhook;
import io.vmpower.admission.Webhooks;
import jakarta.servlet.http.HttpServletRequest;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.lang.reflect.Method;
import java.time.Duration;
import java.util.Locale;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.annotation.Qualifier;
import org.springframework.boot.autoconfigure.condition.ConditionalOnProperty;
import org.springframework.http.MediaType;
import org.springframework.http.ResponseEntity;
import org.springframework.stereotype.Component;
import org.springframework.web.bind.annotation.RequestMethod;
import org.springframework.web.servlet.mvc.method.RequestMappingInfo;
import org.springframework.web.servlet.mvc.method.annotation.RequestMappingHandlerMapping;

/**
 * The admission endpoints: {@code POST <path>} for every entry of {@link Webhooks}, registered with
 * Spring MVC as an annotated {@code @PostMapping} would be (same 404/405 answers). Spring only
 * moves bytes here: AdmissionReviews are read and written by {@link AdmissionHandler} with plain
 * Jackson 2, independent of Spring's Jackson 3.
 */
@Component
@ConditionalOnProperty(
    name = "vmpower.webhook.enabled",
    havingValue = "true",
    matchIfMissing = true)
public class AdmissionEndpoints {
  private static final Logger log = LoggerFactory.getLogger(AdmissionEndpoints.class);
  private static final Method REVIEW;

  static {
    try {
      REVIEW = Endpoint.class.getMethod("review", HttpServletRequest.class);
    } catch (NoSuchMethodException e) {
      throw new ExceptionInInitializerError(e);
    }
  }

  private final MeterRegistry meters;
  private final int maxRequestBytes;
  private final Duration bodyTimeout;
  private final ConcurrentMap<String, Timer> timers = new ConcurrentHashMap<>();
  private final ConcurrentMap<String, Counter> denials = new ConcurrentHashMap<>();

  public AdmissionEndpoints(
      Webhooks webhooks,
      MeterRegistry meters,
      WebhookSettings settings,
      @Qualifier("requestMappingHandlerMapping") RequestMappingHandlerMapping mappings) {
    this.meters = meters;
    this.maxRequestBytes = settings.maxRequestBytes();
    this.bodyTimeout = settings.requestBodyTimeout();
    for (Webhook webhook : webhooks.all()) {
      mappings.registerMapping(
          RequestMappingInfo.paths(webhook.path())
              .methods(RequestMethod.POST)
              .options(mappings.getBuilderConfiguration())
              .build(),
          new Endpoint(webhook),
          REVIEW);
    }
  }

  /** The handler of one webhook's path. */
  public final class Endpoint {
    private final Webhook webhook;

    Endpoint(Webhook webhook) {
      this.webhook = webhook;
    }

    public ResponseEntity<byte[]> review(HttpServletRequest request) {
      long start = System.nanoTime();
      AdmissionHandler.Result result;
      try {
        result = webhook.handler().handle(readBody(request));
      } catch (BadReviewException e) {
        result = AdmissionHandler.rejected(e);
      }
      long nanos = System.nanoTime() - start;
      record(webhook.name(), result, nanos);
      return ResponseEntity.status(result.httpStatus())
          .contentType(MediaType.APPLICATION_JSON)
          .body(result.body());
    }
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

  /** Denials by endpoint and cause ({@code power-change}, {@code invalid-policy}, …). */
  private Counter denials(String endpoint, String cause) {
    return denials.computeIfAbsent(
        endpoint + '\n' + cause,
        k ->
            Counter.builder("vmpower.webhook.denials")
                .description("Admission reviews denied, by endpoint and cause")
                .tag("endpoint", endpoint)
                .tag("cause", cause)
                .register(meters));
  }

  private void record(String endpoint, AdmissionHandler.Result result, long nanos) {
    var s = result.summary();
    timer(endpoint, s.decision()).record(nanos, TimeUnit.NANOSECONDS);
    if (!s.denialCause().isEmpty()) {
      denials(endpoint, s.denialCause()).increment();
    }
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
    if (!s.denialCause().isEmpty()) {
      event = event.addKeyValue("cause", s.denialCause());
    }
    event.log("admission review");
  }
}
