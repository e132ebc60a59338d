package io.vmpower.node;

import com.marcnuri.helm.Helm;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalTime;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * The node, built once per test run by the scripts next to this module (a user's steps, scripted)
 * and torn down at its end, also when a test fails or the JVM is killed: {@code up.sh} (containerd,
 * kubelet, control plane), {@code kubevirt-up.sh} (virt-operator and a KubeVirt CR), vmpower's
 * image (made from the Dockerfile's parts) imported into containerd, and {@code helm install} of
 * charts/vmpower. Test classes use it through {@code @ExtendWith(Node.class)} and {@link #env()}.
 */
public final class Node implements BeforeAllCallback {
  static final String RELEASE = "vmpower";
  static final String RELEASE_NAMESPACE = "vmpower-system";
  static final String KUBEVIRT_NAMESPACE = "kubevirt";
  static final String IMAGE_REPOSITORY = "vmpower.local/vmpower";
  static final String CONTAINERD = "/run/vmpower-node/containerd/containerd.sock";

  private static final Instant START = Instant.now();
  private static Env environment;
  private static RuntimeException setupFailure;

  @Override
  public void beforeAll(ExtensionContext context) {
    if (setupFailure != null) {
      throw new IllegalStateException("the node could not be built", setupFailure);
    }
    try {
      context
          .getRoot()
          .getStore(ExtensionContext.Namespace.create(Node.class))
          .computeIfAbsent(
              Env.class,
              k -> {
                environment = new Env();
                return environment;
              },
              Env.class);
    } catch (RuntimeException | Error e) {
      setupFailure = e instanceof RuntimeException r ? r : new IllegalStateException(e);
      throw e;
    }
  }

  static Env env() {
    return Objects.requireNonNull(environment, "use @ExtendWith(Node.class)");
  }

  /** One line on stdout, so a CI log shows what the suite did and when. */
  static void say(String format, Object... args) {
    long ms = Duration.between(START, Instant.now()).toMillis();
    System.out.printf(
        "[node-e2e %s +%6.1fs] %s%n",
        LocalTime.now().truncatedTo(ChronoUnit.SECONDS), ms / 1000.0, String.format(format, args));
    System.out.flush();
  }

  /** Everything the suite started; {@link #close()} removes all of it (e2e/node/down.sh). */
  static final class Env implements AutoCloseable {
    final Path scripts;
    final Path work;
    final Path kubeconfig;
    final Path kubectl;
    final Path virtctl;
    final String imageArchive;
    final KubernetesClient client;
    private final Thread hook;

    /**
     * {@code -Dvmpower.node.reuse=true}: a node already brought up by hand (up.sh, kubevirt-up.sh)
     * is used and left running; vmpower is (re)installed.
     */
    private final boolean reuse = Boolean.getBoolean("vmpower.node.reuse");

    Env() {
      scripts = Path.of(property("vmpower.node.scripts")).toAbsolutePath();
      work = Path.of(property("vmpower.node.work")).toAbsolutePath();
      try {
        Files.createDirectories(work);
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
      hook = new Thread(this::down, "node-down");
      if (!reuse) {
        Runtime.getRuntime().addShutdownHook(hook);
      }
      try {
        Instant started = Instant.now();
        kubeconfig =
            reuse
                ? Path.of("/run/vmpower-node/pki/admin.kubeconfig")
                : Path.of(lastLine(script("up.sh")));
        say("node up in %d s (kubeconfig %s)", secondsSince(started), kubeconfig);
        Path k8s = Path.of(lastLine(script("../build-binaries.sh", "kubectl")));
        kubectl = k8s.resolve("kubectl");
        String buildKubevirt =
            System.getenv().getOrDefault("VMPOWER_BUILD_KUBEVIRT", "../build-kubevirt.sh");
        virtctl = Path.of(lastLine(script(buildKubevirt, "virtctl"))).resolve("virtctl");
        started = Instant.now();
        if (!reuse) {
          script("kubevirt-up.sh");
        }
        say("KubeVirt installed by virt-operator in %d s", secondsSince(started));
        started = Instant.now();
        imageArchive = lastLine(script("images/vmpower-image.sh", property("vmpower.node.jar")));
        run(
            List.of(
                "ctr", "--address", CONTAINERD, "-n", "k8s.io", "images", "import", imageArchive));
        say("vmpower image %s built and imported in %d s", imageArchive, secondsSince(started));
        client =
            new KubernetesClientBuilder()
                .withConfig(
                    Config.fromKubeconfig(Files.readString(kubeconfig, StandardCharsets.UTF_8)))
                .build();
        started = Instant.now();
        if (reuse) {
          Helm.uninstall(RELEASE)
              .withNamespace(RELEASE_NAMESPACE)
              .withKubeConfig(kubeconfig)
              .ignoreNotFound()
              .call();
        }
        helmInstall();
        say("helm install %s in %d s", RELEASE, secondsSince(started));
      } catch (RuntimeException | Error e) {
        close();
        throw e;
      } catch (IOException e) {
        close();
        throw new UncheckedIOException(e);
      }
    }

    /** As a user installs the chart: the image built here, and pods that never pull. */
    void helmInstall() {
      new Helm(Path.of(property("vmpower.node.chart")))
          .install()
          .withName(RELEASE)
          .withNamespace(RELEASE_NAMESPACE)
          .createNamespace()
          .withKubeConfig(kubeconfig)
          .set("image.repository", IMAGE_REPOSITORY)
          .set("image.pullPolicy", "Never")
          .waitReady()
          .withTimeout(300)
          .call();
    }

    /** {@code kubectl ARGS...} with the admin kubeconfig; its stdout. */
    String kubectl(String... args) {
      List<String> command =
          new ArrayList<>(List.of(kubectl.toString(), "--kubeconfig", kubeconfig.toString()));
      command.addAll(List.of(args));
      return run(command);
    }

    /** {@code kubectl apply} of a manifest (through a file in the run's directory). */
    String kubectlApply(String manifest) {
      try {
        Path file = Files.createTempFile(work, "manifest-", ".yaml");
        Files.writeString(file, manifest, StandardCharsets.UTF_8);
        return kubectl("apply", "-f", file.toString());
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }

    /** {@code virtctl ARGS...} with the admin kubeconfig; its stdout. */
    String virtctl(String... args) {
      List<String> command =
          new ArrayList<>(List.of(virtctl.toString(), "--kubeconfig", kubeconfig.toString()));
      command.addAll(List.of(args));
      return run(command);
    }

    private String script(String name, String... args) {
      List<String> command = new ArrayList<>(List.of("bash", scripts.resolve(name).toString()));
      command.addAll(List.of(args));
      return run(command);
    }

    private void down() {
      if (reuse) {
        return;
      }
      try {
        run(
            List.of(
                "env",
                "VMPOWER_NODE_KEEP_LOGS=" + work.resolve("logs"),
                "bash",
                scripts.resolve("down.sh").toString()));
        say("node removed (e2e/node/down.sh), its logs in %s", work.resolve("logs"));
      } catch (RuntimeException e) {
        System.err.println("[node-e2e] down.sh failed: " + e.getMessage());
      }
    }

    @Override
    public void close() {
      if (client != null) {
        client.close();
      }
      down();
      try {
        Runtime.getRuntime().removeShutdownHook(hook);
      } catch (IllegalStateException shuttingDown) {
        // the hook runs or ran already
      }
    }
  }

  /** Runs a command; stderr goes to the suite's output (progress lines), stdout is returned. */
  static String run(List<String> command) {
    try {
      Process p =
          new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.INHERIT).start();
      p.getOutputStream().close();
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      if (!p.waitFor(60, TimeUnit.MINUTES)) {
        p.destroyForcibly();
        throw new IllegalStateException("timed out: " + String.join(" ", command));
      }
      if (p.exitValue() != 0) {
        throw new IllegalStateException(
            "exit " + p.exitValue() + ": " + String.join(" ", command) + "\n" + out);
      }
      return out;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  static void sleep(Duration duration) {
    try {
      Thread.sleep(duration.toMillis());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  private static String lastLine(String out) {
    List<String> lines = out.lines().filter(l -> !l.isBlank()).toList();
    if (lines.isEmpty()) {
      throw new IllegalStateException("no output");
    }
    return lines.get(lines.size() - 1).strip();
  }

  private static long secondsSince(Instant start) {
    return Duration.between(start, Instant.now()).toSeconds();
  }

  private static String property(String name) {
    return Objects.requireNonNull(System.getProperty(name), name);
  }
}
