package io.vmpower.e2e;

import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.apps.DaemonSet;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.authentication.TokenRequestBuilder;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.ConfigBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;

/**
 * KubeVirt's control plane, installed as virt-operator installs it and run as processes:
 *
 * <ul>
 *   <li>{@code kubevirt-install} (ours, built from virt-operator's own code, e2e/kubevirt-install)
 *       prints the kubevirts CRD, the install strategy with its certificates filled in and its CA
 *       bundle put in place, and the KubeVirt CR with the status virt-operator writes;
 *   <li>everything but the Deployments and the virt-handler DaemonSet is applied; {@code virt-api}
 *       and {@code virt-controller} run as processes with their Deployment's arguments and
 *       environment, their certificates as files, and a token of their own ServiceAccount (not
 *       admin); virt-api is reached through its Service's EndpointSlice, like vmpower;
 *   <li>virt-operator itself does not run (its reconcile loop waits for Deployments and a DaemonSet
 *       to become ready, which needs a kubelet): its webhook and Service are left out.
 * </ul>
 */
final class KubeVirtControlPlane implements AutoCloseable {
  static final String NAMESPACE = "kubevirt";
  static final String KUBEVIRT_CR = "kubevirt";
  static final String SUBRESOURCE_API = "v1.subresources.kubevirt.io";

  /**
   * The feature gates the scenarios need all along (Snapshot: beta in 1.8, still off by default).
   */
  static final List<String> FEATURE_GATES = List.of("Snapshot");

  private static final Pattern DOCUMENT_SEPARATOR = Pattern.compile("(?m)^---\\s*$");
  private static final KubernetesSerialization SERIALIZATION = new KubernetesSerialization();

  private final Path binaries;
  private final TestCluster cluster;
  private final KubernetesClient client;
  private final Path dir;
  private final List<HasMetadata> objects;

  /** The running components by name; replaced when the supervisor restarts one. */
  private final Map<String, ManagedProcess> processes = new ConcurrentHashMap<>();

  private final Map<String, Component> components = new LinkedHashMap<>();
  private final ScheduledExecutorService supervisor =
      Executors.newSingleThreadScheduledExecutor(r -> new Thread(r, "kubevirt-supervisor"));
  private volatile boolean closing;

  /** How a component is started, so that it can be started again. */
  private record Component(String name, List<String> command, Map<String, String> env) {}

  private final Map<String, KubernetesClient> serviceAccountClients = new HashMap<>();
  private final String version;
  private int virtApiPort;

  KubeVirtControlPlane(Path binaries, TestCluster cluster, Path work) {
    this.binaries = binaries;
    this.cluster = cluster;
    this.client = cluster.client();
    this.dir = work.resolve("kubevirt");
    try {
      Files.createDirectories(dir);
      Path cr = dir.resolve("kubevirt-cr.yaml");
      Files.writeString(cr, kubevirtCr());
      Path manifests = dir.resolve("install.yaml");
      run(binaries.resolve("kubevirt-install"), manifests, "-kubevirt", cr.toString());
      objects = parse(Files.readString(manifests));
      version = kubevirt().<String>get("status", "observedKubeVirtVersion");
      install();
      startVirtApi();
      startVirtController();
      supervisor.scheduleWithFixedDelay(this::restartExited, 1, 1, TimeUnit.SECONDS);
      awaitReady();
      // what virt-operator creates last, once virt-api validates it
      Map<String, Integer> applied = new LinkedHashMap<>();
      objects.stream()
          .filter(o -> o.getKind().startsWith("VirtualMachineCluster"))
          .forEach(o -> apply(o, applied));
      if (!applied.isEmpty()) {
        Suite.say("KubeVirt common instancetypes: %s", applied);
      }
    } catch (IOException e) {
      close();
      throw new UncheckedIOException(e);
    } catch (RuntimeException e) {
      close();
      throw e;
    }
  }

  /**
   * The KubeVirt CR: the feature gates in {@link #FEATURE_GATES} (a scenario may add more for a
   * while), the certificate lifetimes virt-operator uses by default, and without the ~120 common
   * instancetypes and preferences (KubeVirt's own opt-out; nothing here uses them, and each create
   * is a virt-api review).
   */
  private static String kubevirtCr() {
    return "apiVersion: kubevirt.io/v1\nkind: KubeVirt\nmetadata:\n  name: "
        + KUBEVIRT_CR
        + "\n  namespace: "
        + NAMESPACE
        + "\nspec:\n  imagePullPolicy: IfNotPresent\n  configuration:\n"
        + "    commonInstancetypesDeployment:\n      enabled: false\n"
        + "    developerConfiguration:\n      featureGates: "
        + SERIALIZATION.asJson(FEATURE_GATES)
        + "\n";
  }

  private static List<HasMetadata> parse(String yaml) {
    List<HasMetadata> list = new ArrayList<>();
    for (String document : DOCUMENT_SEPARATOR.split(yaml)) {
      if (!document.isBlank()) {
        list.add((HasMetadata) SERIALIZATION.unmarshal(document));
      }
    }
    return list;
  }

  String version() {
    return version;
  }

  private GenericKubernetesResource kubevirt() {
    return (GenericKubernetesResource)
        objects.stream().filter(o -> "KubeVirt".equals(o.getKind())).findFirst().orElseThrow();
  }

  private <T extends HasMetadata> List<T> all(Class<T> kind) {
    return objects.stream().filter(kind::isInstance).map(kind::cast).toList();
  }

  private <T extends HasMetadata> T one(Class<T> kind, String name) {
    return all(kind).stream()
        .filter(o -> name.equals(o.getMetadata().getName()))
        .findFirst()
        .orElseThrow(() -> new IllegalStateException("kubevirt-install printed no " + name));
  }

  /** Everything virt-operator would create, in its order; the workloads run as processes. */
  private void install() {
    Map<String, Integer> applied = new LinkedHashMap<>();
    List<HasMetadata> crds =
        objects.stream().filter(o -> "CustomResourceDefinition".equals(o.getKind())).toList();
    for (HasMetadata crd : crds) {
      apply(crd, applied);
    }
    for (HasMetadata crd : crds) {
      awaitEstablished(crd.getMetadata().getName());
    }
    for (HasMetadata o : objects) {
      if (o instanceof Deployment
          || o instanceof DaemonSet
          || "CustomResourceDefinition".equals(o.getKind())
          || "KubeVirt".equals(o.getKind())
          || o.getKind().startsWith("VirtualMachineCluster")) {
        continue;
      }
      apply(o, applied);
    }
    Suite.say("KubeVirt %s installed: %s", version, applied);
    // The CR, then the status virt-operator writes once all components are ready.
    GenericKubernetesResource cr = kubevirt();
    Object status = cr.getAdditionalProperties().remove("status");
    client.resource(cr).fieldManager("vmpower-e2e").forceConflicts().serverSideApply();
    GenericKubernetesResource stored =
        client
            .genericKubernetesResources(KubeVirtKinds.KUBEVIRT)
            .inNamespace(NAMESPACE)
            .withName(KUBEVIRT_CR)
            .get();
    @SuppressWarnings("unchecked")
    Map<String, Object> statusMap = new LinkedHashMap<>((Map<String, Object>) status);
    statusMap.put("observedGeneration", stored.getMetadata().getGeneration());
    stored.getAdditionalProperties().put("status", statusMap);
    client
        .genericKubernetesResources(KubeVirtKinds.KUBEVIRT)
        .inNamespace(NAMESPACE)
        .resource(stored)
        .updateStatus();
    Suite.say(
        "KubeVirt CR %s/%s: phase Deployed (as virt-operator reports it)", NAMESPACE, KUBEVIRT_CR);
  }

  private void apply(HasMetadata o, Map<String, Integer> applied) {
    client.resource(o).fieldManager("vmpower-e2e").forceConflicts().serverSideApply();
    applied.merge(o.getKind(), 1, Integer::sum);
  }

  private void awaitEstablished(String crd) {
    Suite.await(
        "CRD " + crd + " established",
        Duration.ofSeconds(60),
        () ->
            client
                .apiextensions()
                .v1()
                .customResourceDefinitions()
                .withName(crd)
                .get()
                .getStatus()
                .getConditions()
                .stream()
                .anyMatch(c -> "Established".equals(c.getType()) && "True".equals(c.getStatus())));
  }

  /** A certificate Secret as the files its Deployment would mount. */
  private Path certificates(String secret) throws IOException {
    Secret s = one(Secret.class, secret);
    Path d = dir.resolve("certificates").resolve(secret);
    Files.createDirectories(d);
    for (String key : List.of("tls.crt", "tls.key")) {
      Files.write(d.resolve(key), Base64.getDecoder().decode(s.getData().get(key)));
    }
    return d;
  }

  private void startVirtApi() throws IOException {
    Deployment deployment = one(Deployment.class, "virt-api");
    Service service = one(Service.class, "virt-api");
    virtApiPort = TestCluster.freePort();
    Path serving = certificates("kubevirt-virt-api-certs");
    Path handlerClient = certificates("kubevirt-virt-handler-certs");
    List<String> args =
        withOverrides(
            container(deployment).getArgs(),
            Map.of(
                "--port",
                String.valueOf(virtApiPort),
                "--tls-cert-file",
                serving.resolve("tls.crt").toString(),
                "--tls-key-file",
                serving.resolve("tls.key").toString(),
                "--handler-cert-file",
                handlerClient.resolve("tls.crt").toString(),
                "--handler-key-file",
                handlerClient.resolve("tls.key").toString()));
    start("virt-api", deployment, args);
    // The API server calls virt-api (webhooks, APIServices) through this Service.
    new EndpointSlices(client)
        .ready(
            NAMESPACE,
            service.getMetadata().getName(),
            "virt-api-e2e",
            cluster.hostIp(),
            service.getSpec().getPorts().get(0).getName(),
            virtApiPort);
  }

  private void startVirtController() throws IOException {
    Deployment deployment = one(Deployment.class, "virt-controller");
    Path metrics = certificates("kubevirt-controller-certs");
    List<String> args =
        withOverrides(
            container(deployment).getArgs(),
            Map.of(
                "--port",
                String.valueOf(TestCluster.freePort()),
                "--prom-cert-file",
                metrics.resolve("tls.crt").toString(),
                "--prom-key-file",
                metrics.resolve("tls.key").toString()));
    start("virt-controller", deployment, args);
  }

  private static Container container(Deployment deployment) {
    return deployment.getSpec().getTemplate().getSpec().getContainers().get(0);
  }

  /** The Deployment's arguments with the given flags set (replaced where present). */
  static List<String> withOverrides(List<String> args, Map<String, String> overrides) {
    List<String> result = new ArrayList<>();
    for (int i = 0; i < args.size(); i++) {
      String a = args.get(i);
      if (overrides.containsKey(a) && i + 1 < args.size()) {
        i++; // drop "--flag value"; set below
      } else if (!overrides.containsKey(a.contains("=") ? a.substring(0, a.indexOf('=')) : a)) {
        result.add(a);
      }
    }
    overrides.forEach(
        (flag, value) -> {
          result.add(flag);
          result.add(value);
        });
    return result;
  }

  /** Starts a component as its Deployment's ServiceAccount, with its container environment. */
  private void start(String name, Deployment deployment, List<String> args) throws IOException {
    String serviceAccount = deployment.getSpec().getTemplate().getSpec().getServiceAccountName();
    Path kubeconfig = cluster.writeTokenKubeconfig(name, token(serviceAccount));
    List<String> command = new ArrayList<>();
    command.add(binaries.resolve(name).toString());
    command.addAll(args);
    command.add("--kubeconfig=" + kubeconfig);
    Map<String, String> env = new HashMap<>();
    for (EnvVar e : container(deployment).getEnv()) {
      if (e.getValueFrom() == null) {
        env.put(e.getName(), e.getValue() == null ? "" : e.getValue());
      } else if (e.getValueFrom().getFieldRef() != null) {
        // the downward API, as the kubelet fills it in for a pod of this Deployment
        String field = e.getValueFrom().getFieldRef().getFieldPath();
        env.put(
            e.getName(),
            switch (field) {
              case "metadata.name" -> name + "-e2e";
              case "metadata.namespace" -> NAMESPACE;
              case "spec.nodeName" -> Kubelet.NODE_A;
              default -> throw new IllegalStateException(name + ": cannot fill in " + field);
            });
      }
    }
    env.put("KUBECONFIG", kubeconfig.toString());
    Component component = new Component(name, command, env);
    components.put(name, component);
    processes.put(name, ManagedProcess.start(name, command, env, dir.resolve("logs")));
    Suite.say("%s runs as ServiceAccount %s/%s", name, NAMESPACE, serviceAccount);
  }

  /**
   * The kubelet's restartPolicy Always: virt-controller exits when it loses its Lease (e.g. the API
   * server was away for longer than the renew deadline) and expects to be started again.
   */
  private void restartExited() {
    for (Component c : components.values()) {
      ManagedProcess p = processes.get(c.name());
      if (closing || p == null || p.alive()) {
        continue;
      }
      Suite.say("%s exited; started again, as the kubelet would", c.name());
      processes.put(
          c.name(), ManagedProcess.start(c.name(), c.command(), c.env(), dir.resolve("logs")));
    }
  }

  /** A token of a KubeVirt ServiceAccount, as its pod would have it mounted. */
  String token(String serviceAccount) {
    return client
        .serviceAccounts()
        .inNamespace(NAMESPACE)
        .withName(serviceAccount)
        .tokenRequest(
            new TokenRequestBuilder()
                .withNewSpec()
                .withExpirationSeconds(4 * 3600L)
                .endSpec()
                .build())
        .getStatus()
        .getToken();
  }

  /** A client that acts as one of KubeVirt's ServiceAccounts (e.g. kubevirt-handler). */
  synchronized KubernetesClient clientAs(String serviceAccount) {
    return serviceAccountClients.computeIfAbsent(
        serviceAccount,
        sa -> {
          Config admin = cluster.adminConfig();
          Config config =
              new ConfigBuilder(Config.empty())
                  .withMasterUrl(admin.getMasterUrl())
                  .withCaCertData(admin.getCaCertData())
                  .withOauthToken(token(sa))
                  .withRequestTimeout(30_000)
                  .build();
          return new KubernetesClientBuilder().withConfig(config).build();
        });
  }

  /** virt-api's aggregated API answers and virt-controller holds its Lease. */
  private void awaitReady() {
    Suite.await(
        "APIService v1.subresources.kubevirt.io Available",
        Duration.ofSeconds(120),
        () -> {
          GenericKubernetesResource s =
              client
                  .genericKubernetesResources(KubeVirtKinds.API_SERVICE)
                  .withName("v1.subresources.kubevirt.io")
                  .get();
          Object conditions = s.get("status", "conditions");
          return conditions instanceof List<?> l
              && l.stream()
                  .anyMatch(
                      c ->
                          c instanceof Map<?, ?> m
                              && "Available".equals(m.get("type"))
                              && "True".equals(m.get("status")));
        });
    Suite.await(
        "virt-controller holds its Lease",
        Duration.ofSeconds(120),
        () -> {
          var lease = client.leases().inNamespace(NAMESPACE).withName("virt-controller").get();
          return lease != null && lease.getSpec().getHolderIdentity() != null;
        });
    Suite.say("KubeVirt %s: virt-api on :%d, virt-controller leading", version, virtApiPort);
  }

  /** KubeVirt's aggregated API goes away (virt-api being reinstalled, or not installed yet). */
  void unregisterSubresourceApi() {
    client.genericKubernetesResources(KubeVirtKinds.API_SERVICE).withName(SUBRESOURCE_API).delete();
    Suite.say("APIService %s deleted", SUBRESOURCE_API);
  }

  /** The APIService back, as virt-operator would put it back. */
  void registerSubresourceApi() {
    HasMetadata apiService =
        objects.stream()
            .filter(o -> "APIService".equals(o.getKind()))
            .filter(o -> SUBRESOURCE_API.equals(o.getMetadata().getName()))
            .findFirst()
            .orElseThrow();
    client.resource(apiService).fieldManager("vmpower-e2e").forceConflicts().serverSideApply();
    Suite.say("APIService %s applied again", SUBRESOURCE_API);
  }

  /** Sets the KubeVirt CR's feature gates (virt-api and virt-controller watch the CR). */
  void featureGates(List<String> gates) {
    client
        .genericKubernetesResources(KubeVirtKinds.KUBEVIRT)
        .inNamespace(NAMESPACE)
        .withName(KUBEVIRT_CR)
        .patch(
            PatchContext.of(PatchType.JSON_MERGE),
            "{\"spec\":{\"configuration\":{\"developerConfiguration\":{\"featureGates\":"
                + SERIALIZATION.asJson(gates)
                + "}}}}");
    Suite.say("KubeVirt CR feature gates: %s", gates);
  }

  /** virtctl as the admin user. */
  TestCluster.Kubectl virtctl(String... args) {
    return cluster.run(binaries.resolve("virtctl"), null, args);
  }

  /** Runs a program with stdout to a file; fails with its stderr when it does not exit 0. */
  private static void run(Path program, Path stdout, String... args) {
    List<String> command = new ArrayList<>();
    command.add(program.toString());
    command.addAll(List.of(args));
    try {
      Path err = Files.createTempFile(stdout.getParent(), program.getFileName().toString(), ".err");
      Process p =
          new ProcessBuilder(command)
              .redirectOutput(stdout.toFile())
              .redirectError(err.toFile())
              .start();
      if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
        p.destroyForcibly();
        throw new IllegalStateException(
            command + " failed:\n" + Files.readString(err, StandardCharsets.UTF_8));
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  @Override
  public void close() {
    closing = true;
    supervisor.shutdownNow();
    serviceAccountClients.values().forEach(KubernetesClient::close);
    List<String> names = new ArrayList<>(processes.keySet());
    Collections.reverse(names);
    names.forEach(n -> processes.get(n).close());
  }
}
