package io.vmpower.e2e;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsParameters;
import com.sun.net.httpserver.HttpsServer;
import io.fabric8.kubernetes.api.model.ContainerStatusBuilder;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.GenericKubernetesResourceBuilder;
import io.fabric8.kubernetes.api.model.OwnerReferenceBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import io.fabric8.kubernetes.client.dsl.base.ResourceDefinitionContext;
import io.vmpower.api.Keys;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.TrustManagerFactory;

/**
 * What KubeVirt would do, through the real API server, for the controller scenarios:
 *
 * <ul>
 *   <li><b>virt-api</b>'s {@code subresources.kubevirt.io/v1} aggregated API, registered as an
 *       APIService backed by this HTTPS server: the API server authenticates and authorizes the
 *       caller (RBAC on {@code virtualmachines/start}) and proxies with its front-proxy client
 *       certificate and the caller's name in {@code X-Remote-User}. {@code PUT .../start} answers
 *       like virt-api's StartVMRequestHandler (same codes and messages) and records a state change
 *       request in the VM's status;
 *   <li><b>virt-controller</b>: after an accepted start, deletes the final VMI and its pods and
 *       creates a new VMI and virt-launcher pod (the pod goes through the pod webhook);
 *   <li><b>virt-handler and the kubelet</b>: VMI phases and the compute container's termination
 *       message, written to the status subresources.
 * </ul>
 *
 * It is test code and simplifies: no scheduling, no domain; one VMI per VM named like the VM.
 */
final class KubeVirtStandIn implements AutoCloseable {
  static final String NAMESPACE = "kubevirt";
  static final String SERVICE = "virt-api";
  static final String GROUP = "subresources.kubevirt.io";

  static final ResourceDefinitionContext VM =
      new ResourceDefinitionContext.Builder()
          .withGroup("kubevirt.io")
          .withVersion("v1")
          .withKind("VirtualMachine")
          .withPlural("virtualmachines")
          .withNamespaced(true)
          .build();
  static final ResourceDefinitionContext VMI =
      new ResourceDefinitionContext.Builder()
          .withGroup("kubevirt.io")
          .withVersion("v1")
          .withKind("VirtualMachineInstance")
          .withPlural("virtualmachineinstances")
          .withNamespaced(true)
          .build();

  static final String RESET_MESSAGE =
      "{\"source\":\"vmpower\",\"event\":\"SHUTDOWN\",\"guest\":true,\"reason\":\"guest-reset\",\"timestamp\":\"2026-11-25T10:00:00.000Z\"}\n"
          + "{\"source\":\"vmpower\",\"event\":\"SHUTDOWN\",\"guest\":false,\"reason\":\"host-signal\",\"timestamp\":\"2026-11-25T10:00:00.002Z\"}\n";
  static final String SHUTDOWN_MESSAGE =
      "{\"source\":\"vmpower\",\"event\":\"SHUTDOWN\",\"guest\":true,\"reason\":\"guest-shutdown\",\"timestamp\":\"2026-11-25T10:00:00.000Z\"}\n";

  private static final Pattern START =
      Pattern.compile(
          "^/apis/subresources\\.kubevirt\\.io/v1/namespaces/([^/]+)/virtualmachines/([^/]+)/start$");

  /** One request that reached virt-api through the aggregation layer. */
  record StartRequest(String namespace, String name, String user, int code, String message) {}

  private final KubernetesClient client;
  private final HttpsServer server;
  private final ExecutorService handlers = Executors.newFixedThreadPool(2);
  private final ExecutorService virtController = Executors.newSingleThreadExecutor();
  private final Collection<StartRequest> startRequests = new ConcurrentLinkedQueue<>();
  private final Collection<String> proxyClients = new ConcurrentLinkedQueue<>();

  KubeVirtStandIn(KubernetesClient client, Pki pki, Pki frontProxyCa, String hostIp) {
    this.client = client;
    try {
      Pki.Issued serving =
          pki.server(
              "virt-api",
              List.of(
                  SERVICE + "." + NAMESPACE + ".svc",
                  SERVICE + "." + NAMESPACE + ".svc.cluster.local"),
              List.of());
      KeyStore keys = KeyStore.getInstance("PKCS12");
      keys.load(null, null);
      keys.setKeyEntry(
          "virt-api",
          serving.keys().getPrivate(),
          new char[0],
          new Certificate[] {serving.certificate()});
      KeyManagerFactory kmf =
          KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
      kmf.init(keys, new char[0]);
      // Like virt-api: only the aggregator (its front-proxy client certificate) may call.
      KeyStore trust = KeyStore.getInstance("PKCS12");
      trust.load(null, null);
      trust.setCertificateEntry("front-proxy-ca", frontProxyCa.ca().certificate());
      TrustManagerFactory tmf =
          TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
      tmf.init(trust);
      SSLContext ssl = SSLContext.getInstance("TLS");
      ssl.init(kmf.getKeyManagers(), tmf.getTrustManagers(), null);
      server = HttpsServer.create(new InetSocketAddress(hostIp, 0), 32);
      server.setHttpsConfigurator(
          new HttpsConfigurator(ssl) {
            @Override
            public void configure(HttpsParameters params) {
              SSLParameters p = ssl.getDefaultSSLParameters();
              p.setNeedClientAuth(true);
              params.setSSLParameters(p);
            }
          });
      server.createContext("/", this::handle);
      server.setExecutor(handlers);
      server.start();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (java.security.GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }

  int port() {
    return server.getAddress().getPort();
  }

  List<StartRequest> startRequests(String namespace, String name) {
    return startRequests.stream()
        .filter(r -> r.namespace().equals(namespace) && r.name().equals(name))
        .toList();
  }

  Collection<String> proxyClients() {
    return proxyClients;
  }

  // ---- virt-api ----------------------------------------------------------------------------

  private void handle(HttpExchange exchange) throws IOException {
    try (exchange) {
      try {
        proxyClients.add(
            ((java.security.cert.X509Certificate)
                    ((com.sun.net.httpserver.HttpsExchange) exchange)
                        .getSSLSession()
                        .getPeerCertificates()[0])
                .getSubjectX500Principal()
                .getName());
      } catch (SSLPeerUnverifiedException e) {
        respond(exchange, 401, status(401, "Unauthorized", "client certificate required"));
        return;
      }
      String path = exchange.getRequestURI().getPath();
      String method = exchange.getRequestMethod();
      if ("GET".equals(method) && path.equals("/apis/" + GROUP + "/v1")) {
        respond(
            exchange,
            200,
            "{\"kind\":\"APIResourceList\",\"apiVersion\":\"v1\",\"groupVersion\":\""
                + GROUP
                + "/v1\",\"resources\":[{\"name\":\"virtualmachines/start\",\"singularName\":\"\","
                + "\"namespaced\":true,\"kind\":\"VirtualMachine\",\"verbs\":[\"update\"]}]}");
        return;
      }
      if ("GET".equals(method) && path.equals("/apis/" + GROUP)) {
        respond(
            exchange,
            200,
            "{\"kind\":\"APIGroup\",\"apiVersion\":\"v1\",\"name\":\""
                + GROUP
                + "\",\"versions\":[{\"groupVersion\":\""
                + GROUP
                + "/v1\",\"version\":\"v1\"}],\"preferredVersion\":{\"groupVersion\":\""
                + GROUP
                + "/v1\",\"version\":\"v1\"}}");
        return;
      }
      Matcher m = START.matcher(path);
      if ("PUT".equals(method) && m.matches()) {
        exchange.getRequestBody().readAllBytes();
        String user = exchange.getRequestHeaders().getFirst("X-Remote-User");
        Answer answer = start(m.group(1), m.group(2));
        startRequests.add(
            new StartRequest(m.group(1), m.group(2), user, answer.code(), answer.message()));
        Suite.say(
            "virt-api stand-in: start %s/%s by %s -> %d %s",
            m.group(1), m.group(2), user, answer.code(), answer.message());
        respond(
            exchange,
            answer.code(),
            answer.code() < 300 ? "" : status(answer.code(), answer.reason(), answer.message()));
        return;
      }
      respond(
          exchange,
          404,
          status(404, "NotFound", "the server could not find the requested resource"));
    } catch (RuntimeException e) {
      Suite.say("virt-api stand-in failed: %s", e);
      respond(exchange, 500, status(500, "InternalError", String.valueOf(e.getMessage())));
    }
  }

  private record Answer(int code, String reason, String message) {}

  /** virt-api's StartVMRequestHandler for the run strategies vmpower uses. */
  private synchronized Answer start(String ns, String name) {
    GenericKubernetesResource vm = vm(ns, name);
    if (vm == null) {
      return new Answer(404, "NotFound", "virtualmachines.kubevirt.io \"" + name + "\" not found");
    }
    GenericKubernetesResource vmi = vmi(ns, name);
    String phase = vmi == null ? "" : String.valueOf(vmi.<Object>get("status", "phase"));
    boolean finalVmi = "Succeeded".equals(phase) || "Failed".equals(phase);
    String strategy = vm.get("spec", "runStrategy");
    if ("Halted".equals(strategy)) {
      // virt-api turns a start of a Halted VM into runStrategy Always; the VM webhook may deny it.
      try {
        client
            .genericKubernetesResources(VM)
            .inNamespace(ns)
            .withName(name)
            .patch(
                PatchContext.of(PatchType.JSON_MERGE), "{\"spec\":{\"runStrategy\":\"Always\"}}");
        return new Answer(202, "", "");
      } catch (KubernetesClientException e) {
        return new Answer(
            e.getCode(),
            "Invalid",
            e.getStatus() == null ? e.getMessage() : e.getStatus().getMessage());
      }
    }
    if (vmi != null && !finalVmi) {
      return new Answer(
          409,
          "Conflict",
          "Operation cannot be fulfilled on virtualmachine.kubevirt.io \""
              + name
              + "\": VM is already running");
    }
    if ("Always".equals(strategy) || "Once".equals(strategy)) {
      return new Answer(
          409,
          "Conflict",
          "Operation cannot be fulfilled on virtualmachine.kubevirt.io \""
              + name
              + "\": "
              + strategy
              + " does not support manual start requests");
    }
    Object pending = vm.get("status", "stateChangeRequests");
    if (pending instanceof List<?> l && !l.isEmpty()) {
      return new Answer(
          500,
          "InternalError",
          "Internal error occurred: unable to complete request: stop/start already underway");
    }
    String requests =
        finalVmi
            ? "[{\"action\":\"Stop\",\"uid\":\""
                + vmi.getMetadata().getUid()
                + "\"},{\"action\":\"Start\"}]"
            : "[{\"action\":\"Start\"}]";
    patchVmStatus(ns, name, "{\"status\":{\"stateChangeRequests\":" + requests + "}}");
    virtController.execute(() -> replace(ns, name));
    return new Answer(202, "", "");
  }

  /** virt-controller: honour the stop request (delete the final VMI), then start a new VMI. */
  private void replace(String ns, String name) {
    try {
      TestCluster.sleep(200);
      GenericKubernetesResource old = vmi(ns, name);
      if (old != null) {
        deletePods(ns, old);
        client.genericKubernetesResources(VMI).inNamespace(ns).withName(name).delete();
        awaitGone(ns, name);
      }
      run(ns, name);
      patchVmStatus(ns, name, "{\"status\":{\"stateChangeRequests\":null}}");
    } catch (RuntimeException e) {
      Suite.say("virt-controller stand-in: replacing %s/%s failed: %s", ns, name, e);
    }
  }

  private void awaitGone(String ns, String name) {
    for (int i = 0; i < 100 && vmi(ns, name) != null; i++) {
      TestCluster.sleep(50);
    }
  }

  // ---- virt-controller, virt-handler and the kubelet ---------------------------------------

  /** Starts the VM: a Running VMI and its virt-launcher pod (created through the pod webhook). */
  GenericKubernetesResource run(String ns, String name) {
    GenericKubernetesResource vm = vm(ns, name);
    Map<String, String> labels = templateLabels(vm);
    GenericKubernetesResource vmi =
        new GenericKubernetesResourceBuilder()
            .withApiVersion("kubevirt.io/v1")
            .withKind("VirtualMachineInstance")
            .withNewMetadata()
            .withNamespace(ns)
            .withName(name)
            .withLabels(labels)
            .withOwnerReferences(
                new OwnerReferenceBuilder()
                    .withApiVersion("kubevirt.io/v1")
                    .withKind("VirtualMachine")
                    .withName(name)
                    .withUid(vm.getMetadata().getUid())
                    .withController(true)
                    .withBlockOwnerDeletion(true)
                    .build())
            .endMetadata()
            .withAdditionalProperties(Map.of("spec", Map.of("domain", Map.of("devices", Map.of()))))
            .build();
    vmi = client.genericKubernetesResources(VMI).inNamespace(ns).resource(vmi).create();
    Pod pod = client.pods().inNamespace(ns).resource(launcherPod(vmi)).create();
    setPodRunning(pod);
    vmi.setAdditionalProperty("status", Map.of("phase", "Running"));
    return client.genericKubernetesResources(VMI).inNamespace(ns).resource(vmi).updateStatus();
  }

  /** The pod virt-controller creates for a VMI (KubeVirt ≤ 1.9 shape: everything in command). */
  static Pod launcherPod(GenericKubernetesResource vmi) {
    String ns = vmi.getMetadata().getNamespace();
    String name = vmi.getMetadata().getName();
    Map<String, String> labels =
        new HashMap<>(
            vmi.getMetadata().getLabels() == null ? Map.of() : vmi.getMetadata().getLabels());
    labels.put(Keys.KUBEVIRT_APP, Keys.KUBEVIRT_APP_LAUNCHER);
    labels.put("kubevirt.io/created-by", vmi.getMetadata().getUid());
    labels.put("vm.kubevirt.io/name", name);
    return new PodBuilder()
        .withNewMetadata()
        .withNamespace(ns)
        .withGenerateName("virt-launcher-" + name + "-")
        .withLabels(labels)
        .withAnnotations(Map.of("kubevirt.io/domain", name))
        .withOwnerReferences(
            new OwnerReferenceBuilder()
                .withApiVersion("kubevirt.io/v1")
                .withKind("VirtualMachineInstance")
                .withName(name)
                .withUid(vmi.getMetadata().getUid())
                .withController(true)
                .withBlockOwnerDeletion(true)
                .build())
        .endMetadata()
        .withNewSpec()
        .withAutomountServiceAccountToken(false)
        .addNewContainer()
        .withName(Keys.COMPUTE_CONTAINER)
        .withImage("quay.io/kubevirt/virt-launcher:v1.6.0")
        .withCommand(
            "/usr/bin/virt-launcher-monitor",
            "--qemu-timeout",
            "321s",
            "--name",
            name,
            "--uid",
            vmi.getMetadata().getUid(),
            "--namespace",
            ns,
            "--kubevirt-share-dir",
            "/var/run/kubevirt",
            "--ephemeral-disk-dir",
            "/var/run/kubevirt-ephemeral-disks",
            "--container-disk-dir",
            "/var/run/kubevirt/container-disks",
            "--grace-period-seconds",
            "45",
            "--hook-sidecars",
            "0",
            "--ovmf-path",
            "/usr/share/OVMF")
        .withTerminationMessagePolicy("File")
        .endContainer()
        .endSpec()
        .build();
  }

  void setPodRunning(Pod pod) {
    Pod running =
        new PodBuilder(pod)
            .withNewStatus()
            .withPhase("Running")
            .withContainerStatuses(
                new ContainerStatusBuilder()
                    .withName(Keys.COMPUTE_CONTAINER)
                    .withImage("quay.io/kubevirt/virt-launcher:v1.6.0")
                    .withImageID("")
                    .withReady(true)
                    .withRestartCount(0)
                    .withNewState()
                    .withNewRunning()
                    .withStartedAt("2026-11-25T10:00:00Z")
                    .endRunning()
                    .endState()
                    .build())
            .endStatus()
            .build();
    client.pods().inNamespace(pod.getMetadata().getNamespace()).resource(running).updateStatus();
  }

  /** The guest rebooted: QEMU exits, the monitor's message says guest-reset, the VMI Succeeded. */
  void guestReset(String ns, String name) {
    end(ns, name, RESET_MESSAGE, "Succeeded");
  }

  void guestShutdown(String ns, String name) {
    end(ns, name, SHUTDOWN_MESSAGE, "Succeeded");
  }

  /** The node went away: the pod is gone and virt-controller marks the VMI Failed. */
  void podLost(String ns, String name) {
    GenericKubernetesResource vmi = vmi(ns, name);
    deletePods(ns, vmi);
    setVmiPhase(ns, name, "Failed");
  }

  void end(String ns, String name, String message, String vmiPhase) {
    GenericKubernetesResource vmi = vmi(ns, name);
    for (Pod pod : pods(ns, vmi)) {
      Pod done =
          new PodBuilder(pod)
              .editStatus()
              .withPhase("Succeeded")
              .withContainerStatuses(
                  new ContainerStatusBuilder()
                      .withName(Keys.COMPUTE_CONTAINER)
                      .withImage("quay.io/kubevirt/virt-launcher:v1.6.0")
                      .withImageID("")
                      .withReady(false)
                      .withRestartCount(0)
                      .withNewState()
                      .withNewTerminated()
                      .withExitCode(0)
                      .withReason("Completed")
                      .withMessage(message)
                      .withStartedAt("2026-11-25T10:00:00Z")
                      .withFinishedAt("2026-11-25T10:05:00Z")
                      .endTerminated()
                      .endState()
                      .build())
              .endStatus()
              .build();
      client.pods().inNamespace(ns).resource(done).updateStatus();
    }
    setVmiPhase(ns, name, vmiPhase);
  }

  void setVmiPhase(String ns, String name, String phase) {
    client
        .genericKubernetesResources(VMI)
        .inNamespace(ns)
        .withName(name)
        .subresource("status")
        .patch(PatchContext.of(PatchType.JSON_MERGE), "{\"status\":{\"phase\":\"" + phase + "\"}}");
  }

  List<Pod> pods(String ns, GenericKubernetesResource vmi) {
    List<Pod> result = new ArrayList<>();
    for (Pod p :
        client
            .pods()
            .inNamespace(ns)
            .withLabel("kubevirt.io/created-by", vmi.getMetadata().getUid())
            .list()
            .getItems()) {
      result.add(p);
    }
    return result;
  }

  private void deletePods(String ns, GenericKubernetesResource vmi) {
    // No kubelet: a pod's deletion is final at once with a zero grace period.
    for (Pod p : pods(ns, vmi)) {
      client.pods().inNamespace(ns).resource(p).withGracePeriod(0).delete();
    }
  }

  GenericKubernetesResource vm(String ns, String name) {
    return client.genericKubernetesResources(VM).inNamespace(ns).withName(name).get();
  }

  GenericKubernetesResource vmi(String ns, String name) {
    return client.genericKubernetesResources(VMI).inNamespace(ns).withName(name).get();
  }

  private void patchVmStatus(String ns, String name, String patch) {
    client
        .genericKubernetesResources(VM)
        .inNamespace(ns)
        .withName(name)
        .subresource("status")
        .patch(PatchContext.of(PatchType.JSON_MERGE), patch);
  }

  @SuppressWarnings("unchecked")
  static Map<String, String> templateLabels(GenericKubernetesResource vm) {
    Object labels = vm.get("spec", "template", "metadata", "labels");
    return labels instanceof Map<?, ?> m ? new HashMap<>((Map<String, String>) m) : new HashMap<>();
  }

  private static String status(int code, String reason, String message) {
    return "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"status\":\"Failure\",\"message\":"
        + quote(message)
        + ",\"reason\":\""
        + reason
        + "\",\"code\":"
        + code
        + "}";
  }

  static String quote(String s) {
    StringBuilder b = new StringBuilder("\"");
    for (char c : s.toCharArray()) {
      switch (c) {
        case '"' -> b.append("\\\"");
        case '\\' -> b.append("\\\\");
        case '\n' -> b.append("\\n");
        default -> {
          if (c < 0x20) {
            b.append(String.format("\\u%04x", (int) c));
          } else {
            b.append(c);
          }
        }
      }
    }
    return b.append('"').toString();
  }

  private static void respond(HttpExchange exchange, int code, String body) throws IOException {
    byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
    exchange.getResponseHeaders().set("Content-Type", "application/json");
    exchange.sendResponseHeaders(code, bytes.length == 0 ? -1 : bytes.length);
    if (bytes.length > 0) {
      exchange.getResponseBody().write(bytes);
    }
  }

  @Override
  public void close() {
    server.stop(0);
    handlers.shutdownNow();
    virtController.shutdownNow();
  }
}
