package io.vmpower.e2e;

import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.ServiceAccountBuilder;
import io.fabric8.kubernetes.api.model.admissionregistration.v1.MutatingWebhookConfiguration;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.authentication.TokenRequestBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalTime;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * The e2e environment, built once per test run and torn down at its end (and by shutdown hooks if
 * the JVM is killed): binaries, etcd and kube-apiserver, KubeVirt's control plane (virt-api and
 * virt-controller, installed as virt-operator installs them), the stand-ins for what runs on nodes
 * (the kubelet and virt-handler), vmpower installed as the chart installs it, and two application
 * instances running as the chart's ServiceAccount. Every test class uses it through
 * {@code @ExtendWith(Suite.class)} and {@link #env()}.
 */
public final class Suite implements BeforeAllCallback {
  static final String RELEASE_NAMESPACE = "vmpower-system";
  static final String RELEASE = "vmpower";

  /** Namespaces the tests use: one enabled for vmpower, one not. */
  static final String ENABLED_NS = "team-a";

  static final String PLAIN_NS = "team-b";

  private static final Instant START = Instant.now();
  private static Environment environment;

  /** Set when building the environment failed: later classes fail at once with the same cause. */
  private static RuntimeException setupFailure;

  @Override
  public void beforeAll(ExtensionContext context) {
    if (setupFailure != null) {
      throw new IllegalStateException("the e2e environment could not be built", setupFailure);
    }
    try {
      getOrCreate(context);
    } catch (RuntimeException | Error e) {
      setupFailure = e instanceof RuntimeException r ? r : new IllegalStateException(e);
      throw e;
    }
  }

  private static void getOrCreate(ExtensionContext context) {
    context
        .getRoot()
        .getStore(ExtensionContext.Namespace.create(Suite.class))
        .computeIfAbsent(
            Environment.class,
            k -> {
              environment = new Environment();
              return environment;
            },
            Environment.class);
  }

  static Environment env() {
    return Objects.requireNonNull(environment, "use @ExtendWith(Suite.class)");
  }

  /** One line on stdout, so a CI log shows what the suite did and when. */
  static void say(String format, Object... args) {
    long ms = Duration.between(START, Instant.now()).toMillis();
    System.out.printf(
        "[e2e %s +%5.1fs] %s%n",
        LocalTime.now().truncatedTo(ChronoUnit.SECONDS), ms / 1000.0, String.format(format, args));
    System.out.flush();
  }

  /** Everything that runs during the suite; {@link #close()} stops all of it. */
  static final class Environment implements AutoCloseable {
    final Path work;
    final Path binaries;
    final TestCluster cluster;
    final KubernetesClient client;
    final KubeVirtControlPlane kubevirt;
    final Kubelet kubelet;
    final VirtHandler virtHandler;
    final EndpointSlices endpoints;
    final Path appKubeconfig;
    final Path jar;
    final Chart chart;
    final Map<String, VmPowerApp> apps = new LinkedHashMap<>();

    /** Logs of every instance ever started (reviews are logged one JSON line each). */
    private final List<Path> appLogs = new java.util.concurrent.CopyOnWriteArrayList<>();

    private final List<AutoCloseable> closeables = new ArrayList<>();

    Environment() {
      try {
        work =
            Path.of(System.getProperty("vmpower.e2e.work", "target/e2e"))
                .toAbsolutePath()
                .resolve("run-" + System.currentTimeMillis());
        Files.createDirectories(work);
        jar =
            Path.of(
                Objects.requireNonNull(System.getProperty("vmpower.e2e.jar"), "vmpower.e2e.jar"));
        if (!Files.isRegularFile(jar)) {
          throw new IllegalStateException(
              jar + " missing: build it with ./mvnw -pl webhook -am package");
        }
        binaries = build("vmpower.e2e.build-script");
        Path kubevirtBinaries = build("vmpower.e2e.kubevirt-build-script");
        String hostIp = TestCluster.findHostIp();
        say("host address for EndpointSlices: %s; work directory %s", hostIp, work);
        cluster = new TestCluster(binaries, work, hostIp);
        closeables.add(cluster);
        client = cluster.client();
        endpoints = new EndpointSlices(client);
        say("server version %s", client.getKubernetesVersion().getGitVersion());

        namespace(RELEASE_NAMESPACE, Map.of());
        namespace(KubeVirtControlPlane.NAMESPACE, Map.of());
        namespace(ENABLED_NS, Map.of("vmpower.io/enabled", "true"));
        namespace(PLAIN_NS, Map.of());

        kubevirt = new KubeVirtControlPlane(kubevirtBinaries, cluster, work);
        closeables.add(kubevirt);
        kubelet = new Kubelet(client);
        closeables.add(kubelet);
        virtHandler =
            new VirtHandler(client, kubevirt.clientAs(VirtHandler.SERVICE_ACCOUNT), kubelet);
        closeables.add(virtHandler);

        chart =
            Chart.render(
                chartDir(),
                RELEASE,
                RELEASE_NAMESPACE,
                client.getKubernetesVersion().getGitVersion());
        // Helm's install order: the webhook configuration comes after the Deployment, so the
        // pods may well start before it exists.
        for (HasMetadata o : chart.objects()) {
          if (!(o instanceof Deployment) && !(o instanceof MutatingWebhookConfiguration)) {
            apply(o);
          }
        }
        appKubeconfig = serviceAccountKubeconfig();
        List<VmPowerApp> started = launchApps("a", "b");
        apply(chart.webhookConfiguration());
        awaitReadyAndAddEndpoints(started);
      } catch (IOException e) {
        close();
        throw new UncheckedIOException(e);
      } catch (RuntimeException | Error e) {
        close();
        throw e;
      }
    }

    /**
     * Runs a build script (e2e/build-binaries.sh, e2e/build-kubevirt.sh; they return at once when
     * their programs are cached) and returns the directory it printed.
     */
    private Path build(String property) throws IOException {
      Path script = Path.of(Objects.requireNonNull(System.getProperty(property), property));
      say("binaries: %s", script);
      Instant started = Instant.now();
      Path log = work.resolve(script.getFileName() + ".log");
      Process p =
          new ProcessBuilder("bash", script.toString())
              .redirectError(log.toFile())
              .redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile()))
              .start();
      String out;
      try (InputStream in = p.getInputStream()) {
        out = new String(in.readAllBytes(), StandardCharsets.UTF_8).strip();
      }
      try {
        // The first build compiles Kubernetes or KubeVirt: minutes on two cores.
        if (!p.waitFor(75, TimeUnit.MINUTES)) {
          p.destroyForcibly();
          throw new IllegalStateException(script + " did not finish in 75 min; see " + log);
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        p.destroyForcibly();
        throw new IllegalStateException(e);
      }
      if (p.exitValue() != 0) {
        throw new IllegalStateException(
            script + " failed with exit " + p.exitValue() + ":\n" + Files.readString(log));
      }
      Path dir = Path.of(out.lines().reduce((a, b) -> b).orElse(""));
      say(
          "binaries in %s, ready after %d s",
          dir, Duration.between(started, Instant.now()).toSeconds());
      return dir;
    }

    /** Server-side apply of a multi-document YAML text, as the suite's field manager. */
    List<HasMetadata> apply(String yaml) {
      List<HasMetadata> applied =
          client
              .load(new ByteArrayInputStream(yaml.getBytes(StandardCharsets.UTF_8)))
              .fieldManager("vmpower-e2e")
              .forceConflicts()
              .serverSideApply();
      applied.forEach(
          o ->
              say(
                  "applied %s %s%s",
                  o.getKind(),
                  o.getMetadata().getNamespace() == null
                      ? ""
                      : o.getMetadata().getNamespace() + "/",
                  o.getMetadata().getName()));
      return applied;
    }

    /** Server-side apply of one rendered object, in the release namespace if it is namespaced. */
    void apply(HasMetadata object) {
      if (object instanceof io.fabric8.kubernetes.api.model.Namespaced
          && object.getMetadata().getNamespace() == null) {
        object.getMetadata().setNamespace(RELEASE_NAMESPACE);
      }
      client.resource(object).fieldManager("vmpower-e2e").forceConflicts().serverSideApply();
      say(
          "applied %s %s%s (chart)",
          object.getKind(),
          object.getMetadata().getNamespace() == null
              ? ""
              : object.getMetadata().getNamespace() + "/",
          object.getMetadata().getName());
    }

    private static Path chartDir() {
      return Path.of(
          Objects.requireNonNull(System.getProperty("vmpower.e2e.chart"), "vmpower.e2e.chart"));
    }

    /** A namespace and its default ServiceAccount (no controller-manager creates it here). */
    void namespace(String name, Map<String, String> labels) {
      client
          .namespaces()
          .resource(
              new NamespaceBuilder()
                  .withNewMetadata()
                  .withName(name)
                  .withLabels(labels)
                  .endMetadata()
                  .build())
          .create();
      client
          .serviceAccounts()
          .inNamespace(name)
          .resource(
              new ServiceAccountBuilder()
                  .withNewMetadata()
                  .withName("default")
                  .endMetadata()
                  .build())
          .create();
      say("namespace %s %s", name, labels);
    }

    /** A kubeconfig with a token of the chart's ServiceAccount: the application is not admin. */
    private Path serviceAccountKubeconfig() throws IOException {
      var token =
          client
              .serviceAccounts()
              .inNamespace(RELEASE_NAMESPACE)
              .withName(chart.serviceAccount())
              .tokenRequest(
                  new TokenRequestBuilder()
                      .withNewSpec()
                      .withExpirationSeconds(4 * 3600L)
                      .endSpec()
                      .build());
      say("token for ServiceAccount %s/%s", RELEASE_NAMESPACE, chart.serviceAccount());
      return cluster.writeTokenKubeconfig("vmpower-sa", token.getStatus().getToken());
    }

    /**
     * Only what the tests need on top of the chart's settings: short timings. A serving certificate
     * of 3 minutes is renewed every ~20 s (2/3 of its lifetime, counted from a notBefore 5 minutes
     * back), so the whole suite runs across rotations.
     */
    List<String> appArgs() {
      return List.of(
          "--vmpower.tls.serving-validity=3m",
          "--vmpower.tls.check-interval=2s",
          "--vmpower.tls.reload-interval=1s",
          "--vmpower.controller.lease-duration=8s",
          "--vmpower.controller.renew-deadline=5s",
          "--vmpower.controller.retry-period=1s",
          "--vmpower.controller.pod-termination-wait=10s",
          // StopReasonsE2E's give-up within a minute; every other VM restarts at most once.
          "--vmpower.controller.restart-backoff-base=1s",
          "--vmpower.controller.restart-backoff-max=2s",
          "--vmpower.controller.restart-limit=2");
    }

    /**
     * The container's environment from the rendered Deployment (the settings the chart passes),
     * with what the kubelet would fill in (downward API), and a kubeconfig with the
     * ServiceAccount's token instead of the mounted one.
     */
    Map<String, String> appEnvironment(String identity) {
      Map<String, String> env = chart.environment(VmPowerApp.podName(identity), RELEASE_NAMESPACE);
      // a path of the container's; here any scratch directory
      env.put("VMPOWER_TLS_DIR", work.resolve("scratch-" + identity).toString());
      env.put("KUBECONFIG", appKubeconfig.toString());
      return env;
    }

    /** Starts instances, waits until each is ready, then adds its endpoint (readiness-gated). */
    void startApps(String... identities) {
      awaitReadyAndAddEndpoints(launchApps(identities));
    }

    private List<VmPowerApp> launchApps(String... identities) {
      List<VmPowerApp> started = new ArrayList<>();
      for (String id : identities) {
        VmPowerApp app =
            VmPowerApp.start(jar, id, appEnvironment(id), appArgs(), work.resolve("logs"));
        apps.put(id, app);
        appLogs.add(app.process().log());
        started.add(app);
      }
      return started;
    }

    private void awaitReadyAndAddEndpoints(List<VmPowerApp> started) {
      for (VmPowerApp app : started) {
        app.awaitReady(Duration.ofSeconds(90));
        endpoints.ready(
            RELEASE_NAMESPACE,
            chart.serviceName(),
            chart.serviceName() + "-" + app.identity(),
            cluster.hostIp(),
            "https",
            app.port());
      }
    }

    /** Stops an instance and removes its endpoint, as the EndpointSlice controller would. */
    void stopApp(String identity) {
      VmPowerApp app = apps.remove(identity);
      if (app == null) {
        return;
      }
      endpoints.remove(RELEASE_NAMESPACE, chart.serviceName() + "-" + identity);
      app.close();
    }

    List<VmPowerApp> runningApps() {
      return List.copyOf(apps.values());
    }

    /**
     * The review log lines of all instances for one object: proof that the API server did (or did
     * not) call the webhook for it, independent of other traffic.
     */
    List<String> reviews(String namespace, String name) {
      List<String> lines = new ArrayList<>();
      for (Path log : appLogs) {
        try {
          for (String line : Files.readAllLines(log, StandardCharsets.UTF_8)) {
            if (line.contains("\"endpoint\":")
                && line.contains("\"namespace\":\"" + namespace + "\"")
                && line.contains("\"name\":\"" + name + "\"")) {
              lines.add(line);
            }
          }
        } catch (IOException e) {
          throw new UncheckedIOException(e);
        }
      }
      return lines;
    }

    GenericKubernetesResource vm(String ns, String name) {
      return client
          .genericKubernetesResources(KubeVirtKinds.VM)
          .inNamespace(ns)
          .withName(name)
          .get();
    }

    GenericKubernetesResource vmi(String ns, String name) {
      return client
          .genericKubernetesResources(KubeVirtKinds.VMI)
          .inNamespace(ns)
          .withName(name)
          .get();
    }

    /** The virt-launcher pods virt-controller created for a VMI, oldest first. */
    List<Pod> launcherPods(GenericKubernetesResource vmi) {
      return client
          .pods()
          .inNamespace(vmi.getMetadata().getNamespace())
          .withLabel("kubevirt.io/created-by", vmi.getMetadata().getUid())
          .list()
          .getItems()
          .stream()
          .sorted(Comparator.comparing((Pod p) -> p.getMetadata().getCreationTimestamp()))
          .toList();
    }

    /** Sum of a counter over all running instances. */
    double metric(String name, String... labels) {
      return apps.values().stream().mapToDouble(a -> a.metric(name, labels)).sum();
    }

    @Override
    public void close() {
      for (String id : List.copyOf(apps.keySet())) {
        VmPowerApp app = apps.remove(id);
        app.close();
      }
      for (int i = closeables.size() - 1; i >= 0; i--) {
        try {
          closeables.get(i).close();
        } catch (Exception e) {
          say("closing %s failed: %s", closeables.get(i), e);
        }
      }
      say("environment stopped; logs in %s", work == null ? "?" : work.resolve("logs"));
    }
  }

  interface Check {
    boolean ok() throws Exception;
  }

  static void await(String what, Duration timeout, Check check) {
    Instant deadline = Instant.now().plus(timeout);
    Exception last = null;
    while (Instant.now().isBefore(deadline)) {
      try {
        if (check.ok()) {
          return;
        }
      } catch (Exception e) {
        last = e;
      }
      TestCluster.sleep(250);
    }
    throw new IllegalStateException("timed out after " + timeout + " waiting for " + what, last);
  }
}
