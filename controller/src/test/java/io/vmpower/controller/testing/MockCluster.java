package io.vmpower.controller.testing;

import io.fabric8.kubernetes.api.model.Event;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.ConfigBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.fabric8.kubernetes.client.dsl.base.CustomResourceDefinitionContext;
import io.fabric8.kubernetes.client.server.mock.KubernetesCrudDispatcher;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.fabric8.mockwebserver.Context;
import io.fabric8.mockwebserver.MockWebServer;
import io.fabric8.mockwebserver.http.RecordedRequest;
import io.vmpower.api.Keys;
import io.vmpower.api.ResourceType;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.function.Predicate;

/**
 * fabric8's Kubernetes mock server in CRUD mode, with KubeVirt's CRDs registered, the {@link
 * FakeKubeVirt} stand-in answering the start subresource, and scripted faults.
 *
 * <p>Every client gets its own User-Agent, so faults can target one controller instance (a
 * partitioned leader) and leave the test's own client alone.
 */
public final class MockCluster implements AutoCloseable {
  public static final String ENABLED_NS = "vms";
  public static final String OTHER_NS = "elsewhere";
  public static final String RELEASE_NS = "vmpower-system";

  /** KubeVirt's CRDs as the mock server registers them. */
  static final CustomResourceDefinitionContext VM = crd(ResourceType.VIRTUAL_MACHINE, true);

  static final CustomResourceDefinitionContext VMI =
      crd(ResourceType.VIRTUAL_MACHINE_INSTANCE, false);

  // The mock server logs every request through java.util.logging; keep test output lean.
  private static final java.util.logging.Logger MOCK_LOG =
      java.util.logging.Logger.getLogger("io.fabric8.mockwebserver");

  static {
    MOCK_LOG.setLevel(java.util.logging.Level.WARNING);
  }

  private final KubernetesMockServer server;
  private final ScriptedDispatcher dispatcher;
  private final KubernetesClient admin;
  private final FakeKubeVirt kubevirt;
  private final List<KubernetesClient> clients = new ArrayList<>();
  private final int requestTimeoutMillis;

  public MockCluster() {
    this(false);
  }

  /**
   * For many objects: the store indexed by name ({@link IndexedCrudDispatcher}), so that a request
   * for one object does not scan all of them.
   */
  public static MockCluster indexed() {
    return new MockCluster(true);
  }

  private MockCluster(boolean indexed) {
    // With many objects a list still scans them all: give clients time for that.
    this.requestTimeoutMillis = indexed ? 30_000 : 1_000;
    List<CustomResourceDefinitionContext> crds = List.of(VM, VMI);
    KubernetesCrudDispatcher crud =
        indexed ? new IndexedCrudDispatcher(crds) : new KubernetesCrudDispatcher(crds);
    dispatcher = new ScriptedDispatcher(crud);
    server =
        new KubernetesMockServer(
            new Context(), new MockWebServer(), new HashMap<>(), dispatcher, false);
    server.init();
    // The test's own client may wait longer: on a loaded machine a fresh JVM's first requests
    // can take more than a controller client's second (faults target the controllers only).
    admin = client("test-admin", 10_000);
    kubevirt = new FakeKubeVirt(dispatcher, admin);
    for (String ns : List.of(ENABLED_NS, OTHER_NS, RELEASE_NS)) {
      var builder = new NamespaceBuilder().withNewMetadata().withName(ns).endMetadata();
      if (ns.equals(ENABLED_NS)) {
        builder.editMetadata().addToLabels(Keys.ENABLED, "true").endMetadata();
      }
      admin.namespaces().resource(builder.build()).create();
    }
  }

  private static CustomResourceDefinitionContext crd(ResourceType type, boolean status) {
    return new CustomResourceDefinitionContext.Builder()
        .withGroup(type.group())
        .withVersion(type.version())
        .withPlural(type.plural())
        .withKind(type.kind())
        .withScope("Namespaced")
        .withStatusSubresource(status)
        .build();
  }

  /**
   * A client of its own (User-Agent {@code name}), short timeouts (1 s; 30 s for {@link
   * #indexed()}), no client-side retries.
   */
  public KubernetesClient client(String name) {
    return client(name, requestTimeoutMillis);
  }

  private KubernetesClient client(String name, int requestTimeoutMillis) {
    Config config =
        new ConfigBuilder(Config.empty())
            .withMasterUrl(server.url("/"))
            .withNamespace("default")
            .withUserAgent(name)
            .withRequestTimeout(requestTimeoutMillis)
            .withConnectionTimeout(1_000)
            .withRequestRetryBackoffLimit(0)
            .withWatchReconnectInterval(100)
            .withWatchReconnectLimit(-1)
            .build();
    KubernetesClient client = new KubernetesClientBuilder().withConfig(config).build();
    synchronized (clients) {
      clients.add(client);
    }
    return client;
  }

  public KubernetesClient admin() {
    return admin;
  }

  public FakeKubeVirt kubevirt() {
    return kubevirt;
  }

  public ScriptedDispatcher faults() {
    return dispatcher;
  }

  /** Matches requests sent by the client with this User-Agent. */
  public static Predicate<RecordedRequest> from(String userAgent) {
    return r -> userAgent.equals(r.getHeader("User-Agent"));
  }

  public static Predicate<RecordedRequest> request(String method, String pathPart) {
    return r -> method.equals(r.getMethod()) && r.getPath().contains(pathPart);
  }

  public GenericKubernetesResource vm(String ns, String name) {
    return kubevirt.vm(ns, name);
  }

  /** Events on the VM, oldest first. */
  public List<Event> events(String ns, String vm) {
    return admin.v1().events().inNamespace(ns).list().getItems().stream()
        .filter(e -> vm.equals(e.getInvolvedObject().getName()))
        .filter(e -> "VirtualMachine".equals(e.getInvolvedObject().getKind()))
        .toList();
  }

  public List<String> eventReasons(String ns, String vm) {
    return events(ns, vm).stream().map(Event::getReason).toList();
  }

  @Override
  public void close() {
    kubevirt.close();
    synchronized (clients) {
      clients.forEach(KubernetesClient::close);
    }
    try {
      server.destroy();
    } catch (IllegalStateException e) {
      // Closing waits a bounded time for open connections (watches being torn down); on a loaded
      // machine once more is enough.
      try {
        Thread.sleep(1_000);
      } catch (InterruptedException interrupted) {
        Thread.currentThread().interrupt();
      }
      server.destroy();
    }
  }
}
