package io.vmpower.controller.testing;

import io.fabric8.kubernetes.client.server.mock.KubernetesCrudDispatcher;
import io.fabric8.mockwebserver.dsl.HttpMethod;
import io.fabric8.mockwebserver.http.Buffer;
import io.fabric8.mockwebserver.http.Headers;
import io.fabric8.mockwebserver.http.MockResponse;
import io.fabric8.mockwebserver.http.RecordedRequest;
import io.fabric8.mockwebserver.http.Response;
import io.fabric8.mockwebserver.http.WebSocket;
import io.fabric8.mockwebserver.http.WebSocketListener;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The mock API server's request handling: fabric8's CRUD dispatcher for everything stored, the
 * KubeVirt stand-in for the start subresource, and scripted faults in front of both.
 *
 * <p>Runs on the mock server's event loop: nothing here may block or call the server over HTTP.
 */
public final class ScriptedDispatcher extends io.fabric8.mockwebserver.http.Dispatcher {
  static final Pattern START =
      Pattern.compile(
          "/apis/subresources\\.kubevirt\\.io/v1/namespaces/([^/]+)/virtualmachines/([^/?]+)/start");

  private final KubernetesCrudDispatcher crud;
  private final List<Fault> faults = new CopyOnWriteArrayList<>();
  private final Set<WebSocket> watches = ConcurrentHashMap.newKeySet();
  private final List<String> writes = new CopyOnWriteArrayList<>();
  private final java.util.concurrent.atomic.LongAdder crudNanos =
      new java.util.concurrent.atomic.LongAdder();
  private volatile Function<Matcher, MockResponse> startHandler = m -> status(404, "no KubeVirt");

  ScriptedDispatcher(KubernetesCrudDispatcher crud) {
    this.crud = crud;
  }

  void onStart(Function<Matcher, MockResponse> handler) {
    this.startHandler = handler;
  }

  /** A scripted fault: the next {@code times} matching requests get {@code response}. */
  public static final class Fault {
    final Predicate<RecordedRequest> matches;
    final AtomicInteger remaining;
    final boolean process;
    final Function<MockResponse, MockResponse> response;

    Fault(
        Predicate<RecordedRequest> matches,
        int times,
        boolean process,
        Function<MockResponse, MockResponse> response) {
      this.matches = matches;
      this.remaining = new AtomicInteger(times);
      this.process = process;
      this.response = response;
    }

    public int remaining() {
      return Math.max(0, remaining.get());
    }
  }

  /** Answers the next {@code times} matching requests with an error, without processing them. */
  public Fault fail(Predicate<RecordedRequest> matches, int times, int code, String message) {
    Fault f = new Fault(matches, times, false, ignored -> status(code, message));
    faults.add(f);
    return f;
  }

  /**
   * Processes the next {@code times} matching requests but answers only after {@code delay}: with a
   * client timeout shorter than that, the change happens and the caller sees a timeout.
   */
  public Fault delay(Predicate<RecordedRequest> matches, int times, Duration delay) {
    Fault f = new Fault(matches, times, true, processed -> processed.setBodyDelay(delay));
    faults.add(f);
    return f;
  }

  /** Closes every open watch, as a restarted API server or a broken connection would. */
  public int dropWatches() {
    int n = 0;
    for (WebSocket ws : List.copyOf(watches)) {
      ws.close(1000, "dropped by test");
      watches.remove(ws);
      n++;
    }
    return n;
  }

  /** Every non-GET request as "User-Agent METHOD path", for asserting who wrote what. */
  public List<String> writes() {
    return List.copyOf(writes);
  }

  @Override
  public MockResponse dispatch(RecordedRequest request) {
    if (!"GET".equals(request.getMethod())) {
      writes.add(
          request.getHeader("User-Agent") + " " + request.getMethod() + " " + request.getPath());
    }
    for (Fault f : faults) {
      if (f.matches.test(request) && f.remaining.getAndDecrement() > 0) {
        return f.response.apply(f.process ? handle(request) : null);
      }
    }
    return handle(request);
  }

  private MockResponse handle(RecordedRequest request) {
    Matcher start = START.matcher(request.getPath());
    if (start.matches() && "PUT".equals(request.getMethod())) {
      return startHandler.apply(start);
    }
    long started = System.nanoTime();
    MockResponse response = crud.dispatch(request);
    crudNanos.add(System.nanoTime() - started);
    WebSocketListener listener = response.getWebSocketListener();
    if (listener != null) {
      response.withWebSocketUpgrade(new Tracking(listener));
    }
    return response;
  }

  /** Puts an object into the store as a create would, without a request or watch events. */
  void store(String collectionPath, io.fabric8.kubernetes.api.model.HasMetadata object) {
    String json = io.fabric8.kubernetes.client.utils.Serialization.asJson(object);
    var extractor = crud.getAttributeExtractor();
    crud.getMap()
        .put(
            io.fabric8.mockwebserver.crud.AttributeSet.merge(
                extractor.fromPath(collectionPath), extractor.fromResource(json)),
            json);
  }

  /** In-process call to the stored state, for the KubeVirt stand-in (no HTTP, no event loop). */
  MockResponse call(HttpMethod method, String path, String contentType, String body) {
    Headers.Builder headers = Headers.builder();
    if (contentType != null) {
      headers.add("Content-Type", contentType);
    }
    Buffer buffer = new Buffer();
    if (body != null) {
      buffer.write(body.getBytes(StandardCharsets.UTF_8));
    }
    long started = System.nanoTime();
    try {
      return crud.dispatch(new RecordedRequest("HTTP/1.1", method, path, headers.build(), buffer));
    } finally {
      crudNanos.add(System.nanoTime() - started);
    }
  }

  /**
   * Time spent so far inside the stored-state (CRUD) handling of all requests, for benchmarks: the
   * mock server scans every stored object per request, which dominates at scale.
   */
  public long crudNanos() {
    return crudNanos.sum();
  }

  static MockResponse status(int code, String message) {
    String reason =
        switch (code) {
          case 404 -> "NotFound";
          case 409 -> "Conflict";
          case 410 -> "Expired";
          default -> "InternalError";
        };
    String body =
        io.fabric8.kubernetes.client.utils.Serialization.asJson(
            new io.fabric8.kubernetes.api.model.StatusBuilder()
                .withStatus("Failure")
                .withCode(code)
                .withReason(reason)
                .withMessage(message)
                .build());
    return new MockResponse()
        .setResponseCode(code)
        .setHeader("Content-Type", "application/json")
        .setBody(body);
  }

  /** Remembers open watch sockets so that a test can drop them. */
  private final class Tracking extends WebSocketListener {
    private final WebSocketListener delegate;

    Tracking(WebSocketListener delegate) {
      this.delegate = delegate;
    }

    @Override
    public void onBeforeAccept(WebSocket ws, Response r) {
      delegate.onBeforeAccept(ws, r);
    }

    @Override
    public void onOpen(WebSocket ws, Response r) {
      watches.add(ws);
      delegate.onOpen(ws, r);
    }

    @Override
    public void onMessage(WebSocket ws, String text) {
      delegate.onMessage(ws, text);
    }

    @Override
    public void onClosing(WebSocket ws, int code, String reason) {
      watches.remove(ws);
      delegate.onClosing(ws, code, reason);
    }

    @Override
    public void onClosed(WebSocket ws, int code, String reason) {
      watches.remove(ws);
      delegate.onClosed(ws, code, reason);
    }

    @Override
    public void onFailure(WebSocket ws, Throwable t, Response r) {
      watches.remove(ws);
      delegate.onFailure(ws, t, r);
    }
  }
}
