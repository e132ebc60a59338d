package io.vmpower.e2e;

import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.ConfigBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.NetworkInterface;
import java.net.ServerSocket;
import java.net.SocketException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * etcd and kube-apiserver as plain processes, secured like a real control plane: TLS everywhere,
 * client certificates and service-account tokens for authentication, {@code Node,RBAC}
 * authorization, the default admission chain (with the admission webhooks), the aggregation layer
 * with its front-proxy client certificate. There is no controller-manager, scheduler or kubelet:
 * the tests (and the KubeVirt stand-in) write what those would write.
 */
final class TestCluster implements AutoCloseable {
  static final String SA_ISSUER = "https://kubernetes.default.svc.cluster.local";

  private final Path dir;
  private final String hostIp;
  private final Pki pki;
  private final Pki frontProxyPki;
  private final List<ManagedProcess> processes = new ArrayList<>();
  private final int apiPort;
  private final Pki.Issued admin;
  private final Path adminKubeconfig;
  private final KubernetesClient client;
  private final Path kubectl;
  private final List<String> apiserverCommand;
  private final Path auditLog;

  TestCluster(Path binaries, Path dir, String hostIp) {
    this.dir = dir;
    this.hostIp = hostIp;
    this.kubectl = binaries.resolve("kubectl");
    try {
      Path pkiDir = dir.resolve("pki");
      pki = new Pki(pkiDir, "vmpower-e2e-ca");
      frontProxyPki = new Pki(pkiDir.resolve("front-proxy"), "vmpower-e2e-front-proxy-ca");
      Pki.Issued serving =
          pki.server(
              "apiserver",
              List.of(
                  "localhost",
                  "kubernetes",
                  "kubernetes.default",
                  "kubernetes.default.svc",
                  "kubernetes.default.svc.cluster.local"),
              List.of("127.0.0.1", hostIp, "10.96.0.1"));
      admin = pki.client("admin", "e2e-admin", "system:masters");
      Pki.Issued proxyClient = frontProxyPki.client("front-proxy-client", "front-proxy-client");
      Path saKey = pki.serviceAccountKey("service-accounts");
      auditLog = dir.resolve("logs").resolve("audit.log");
      Files.createDirectories(auditLog.getParent());
      Path auditPolicy = dir.resolve("audit-policy.yaml");
      Files.writeString(auditPolicy, AuditLog.POLICY);

      int etcdClient = freePort();
      int etcdPeer = freePort();
      Path etcdData = dir.resolve("etcd");
      Files.createDirectories(etcdData);
      Files.setPosixFilePermissions(etcdData, PosixFilePermissions.fromString("rwx------"));
      ManagedProcess etcd =
          ManagedProcess.start(
              "etcd",
              List.of(
                  binaries.resolve("etcd").toString(),
                  "--name=e2e",
                  "--data-dir=" + etcdData,
                  "--listen-client-urls=http://127.0.0.1:" + etcdClient,
                  "--advertise-client-urls=http://127.0.0.1:" + etcdClient,
                  "--listen-peer-urls=http://127.0.0.1:" + etcdPeer,
                  "--initial-advertise-peer-urls=http://127.0.0.1:" + etcdPeer,
                  "--initial-cluster=e2e=http://127.0.0.1:" + etcdPeer,
                  // a throw-away cluster on a shared disk: durability buys nothing here
                  "--unsafe-no-fsync=true",
                  "--log-level=warn"),
              Map.of(),
              dir.resolve("logs"));
      processes.add(etcd);

      apiPort = freePort();
      apiserverCommand =
          List.of(
              binaries.resolve("kube-apiserver").toString(),
              "--etcd-servers=http://127.0.0.1:" + etcdClient,
              "--bind-address=127.0.0.1",
              "--secure-port=" + apiPort,
              // the kubernetes Service's endpoint; loopback addresses are not allowed there
              "--advertise-address=" + hostIp,
              "--cert-dir=" + dir.resolve("apiserver-certs"),
              "--tls-cert-file=" + serving.certFile(),
              "--tls-private-key-file=" + serving.keyFile(),
              "--client-ca-file=" + pki.ca().certFile(),
              "--service-account-issuer=" + SA_ISSUER,
              "--api-audiences=" + SA_ISSUER,
              "--service-account-key-file=" + saKey,
              "--service-account-signing-key-file=" + saKey,
              "--service-cluster-ip-range=10.96.0.0/16",
              "--authorization-mode=Node,RBAC",
              "--enable-admission-plugins=NodeRestriction",
              // the aggregation layer (KubeVirt's subresources.kubevirt.io)
              "--requestheader-client-ca-file=" + frontProxyPki.ca().certFile(),
              "--requestheader-allowed-names=front-proxy-client",
              "--requestheader-username-headers=X-Remote-User",
              "--requestheader-group-headers=X-Remote-Group",
              "--requestheader-extra-headers-prefix=X-Remote-Extra-",
              "--proxy-client-cert-file=" + proxyClient.certFile(),
              "--proxy-client-key-file=" + proxyClient.keyFile(),
              // Webhooks and APIServices are reached through their Service's EndpointSlices,
              // not its ClusterIP: there is no kube-proxy.
              "--enable-aggregator-routing=true",
              // who called KubeVirt's subresources and wrote VMs, with the answer they got
              "--audit-policy-file=" + auditPolicy,
              "--audit-log-path=" + auditLog,
              "--audit-log-mode=blocking",
              "--profiling=false");
      ManagedProcess apiserver =
          ManagedProcess.start("kube-apiserver", apiserverCommand, Map.of(), dir.resolve("logs"));
      processes.add(apiserver);

      adminKubeconfig = writeKubeconfig("admin", admin);
      client = new KubernetesClientBuilder().withConfig(adminConfig()).build();
      awaitReady(apiserver, etcd);
    } catch (IOException e) {
      close();
      throw new UncheckedIOException(e);
    } catch (RuntimeException e) {
      close();
      throw e;
    }
  }

  private void awaitReady(ManagedProcess apiserver, ManagedProcess etcd) {
    Instant deadline = Instant.now().plus(Duration.ofSeconds(120));
    String last = "";
    while (Instant.now().isBefore(deadline)) {
      etcd.assertAlive();
      apiserver.assertAlive();
      try {
        String readyz = client.raw("/readyz");
        if ("ok".equals(readyz == null ? null : readyz.strip())) {
          // RBAC's bootstrap roles are written by a post-start hook; readyz waits for it.
          Suite.say("kube-apiserver ready at %s", url());
          return;
        }
        last = String.valueOf(readyz);
      } catch (RuntimeException e) {
        last = e.getMessage();
      }
      sleep(500);
    }
    throw new IllegalStateException(
        "kube-apiserver not ready within 120 s (" + last + "); log:\n" + apiserver.logTail(6000));
  }

  String url() {
    return "https://127.0.0.1:" + apiPort;
  }

  String hostIp() {
    return hostIp;
  }

  Path dir() {
    return dir;
  }

  KubernetesClient client() {
    return client;
  }

  Path adminKubeconfig() {
    return adminKubeconfig;
  }

  Pki pki() {
    return pki;
  }

  Pki frontProxyPki() {
    return frontProxyPki;
  }

  Path kubectlBinary() {
    return kubectl;
  }

  AuditLog audit() {
    return new AuditLog(auditLog);
  }

  Config adminConfig() {
    return new ConfigBuilder(Config.empty())
        .withMasterUrl(url())
        .withCaCertData(base64(pki.ca().certPem()))
        .withClientCertData(base64(admin.certPem()))
        .withClientKeyData(base64(Pki.pem(admin.keys().getPrivate())))
        .withRequestTimeout(30_000)
        .build();
  }

  /** A kubeconfig for a user with a client certificate. */
  Path writeKubeconfig(String name, Pki.Issued user) throws IOException {
    return writeKubeconfig(
        name,
        "    client-certificate-data: "
            + base64(user.certPem())
            + "\n    client-key-data: "
            + base64(Pki.pem(user.keys().getPrivate()))
            + "\n");
  }

  /** A kubeconfig for a bearer token (a service account's). */
  Path writeTokenKubeconfig(String name, String token) throws IOException {
    return writeKubeconfig(name, "    token: " + token + "\n");
  }

  private Path writeKubeconfig(String name, String userBlock) throws IOException {
    String text =
        "apiVersion: v1\nkind: Config\nclusters:\n- name: e2e\n  cluster:\n    server: "
            + url()
            + "\n    certificate-authority-data: "
            + base64(pki.ca().certPem())
            + "\nusers:\n- name: "
            + name
            + "\n  user:\n"
            + userBlock
            + "contexts:\n- name: "
            + name
            + "\n  context:\n    cluster: e2e\n    user: "
            + name
            + "\ncurrent-context: "
            + name
            + "\n";
    Path file = dir.resolve("kubeconfig-" + name);
    Files.writeString(file, text, StandardCharsets.UTF_8);
    Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-------"));
    return file;
  }

  /** The result of one kubectl (or virtctl) run. */
  record Kubectl(int exit, String stdout, String stderr) {
    @Override
    public String toString() {
      return "exit " + exit + "\nstdout:\n" + stdout + "\nstderr:\n" + stderr;
    }
  }

  /** Runs our kubectl as admin; {@code stdin} may be null. */
  Kubectl kubectl(String stdin, String... args) {
    return run(kubectl, stdin, args);
  }

  /** Runs a client program (kubectl, virtctl) as admin; {@code stdin} may be null. */
  Kubectl run(Path program, String stdin, String... args) {
    List<String> command = new ArrayList<>();
    command.add(program.toString());
    command.add("--kubeconfig=" + adminKubeconfig);
    Collections.addAll(command, args);
    try {
      Path out = Files.createTempFile(dir, "run", ".out");
      Path err = Files.createTempFile(dir, "run", ".err");
      ProcessBuilder builder =
          new ProcessBuilder(command).redirectOutput(out.toFile()).redirectError(err.toFile());
      builder.environment().remove("KUBECONFIG");
      Process p = builder.start();
      if (stdin != null) {
        p.getOutputStream().write(stdin.getBytes(StandardCharsets.UTF_8));
      }
      p.getOutputStream().close();
      if (!p.waitFor(60, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        throw new IllegalStateException(
            program.getFileName() + " did not finish in 60 s: " + command);
      }
      Kubectl result =
          new Kubectl(
              p.exitValue(),
              Files.readString(out, StandardCharsets.UTF_8),
              Files.readString(err, StandardCharsets.UTF_8));
      Files.delete(out);
      Files.delete(err);
      Suite.say(
          "%s %s -> exit %d%s",
          program.getFileName(),
          String.join(" ", args),
          result.exit(),
          result.exit() == 0 ? "" : ": " + result.stderr().strip().lines().findFirst().orElse(""));
      return result;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  /**
   * Stops kube-apiserver and starts it again on the same port and etcd: every watch and connection
   * of the clients breaks, and they have to recover on their own.
   */
  void restartApiServer() {
    ManagedProcess old = processes.remove(processes.size() - 1);
    ManagedProcess etcd = processes.get(0);
    old.close();
    ManagedProcess apiserver =
        ManagedProcess.start("kube-apiserver-2", apiserverCommand, Map.of(), dir.resolve("logs"));
    processes.add(apiserver);
    awaitReady(apiserver, etcd);
  }

  @Override
  public void close() {
    if (client != null) {
      client.close();
    }
    // API server first, then its storage
    for (int i = processes.size() - 1; i >= 0; i--) {
      processes.get(i).close();
    }
  }

  static String base64(String text) {
    return Base64.getEncoder().encodeToString(text.getBytes(StandardCharsets.UTF_8));
  }

  static int freePort() {
    try (ServerSocket socket = new ServerSocket(0)) {
      socket.setReuseAddress(true);
      return socket.getLocalPort();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /**
   * An IPv4 address of this machine that is not loopback or link-local: the API server refuses
   * those in EndpointSlices ("may not be in the loopback range"), and webhooks and APIServices are
   * reached through EndpointSlices. Override with {@code -Dvmpower.e2e.host-ip=...} (e.g. the
   * address of a dummy interface). Skips 198.18.0.0/15: the node suite's bridge (e2e/node) has its
   * address there and comes and goes with that suite, also while this one runs.
   */
  static String findHostIp() {
    String configured = System.getProperty("vmpower.e2e.host-ip", "");
    if (!configured.isBlank()) {
      return configured;
    }
    try {
      for (NetworkInterface nic : Collections.list(NetworkInterface.getNetworkInterfaces())) {
        if (!nic.isUp() || nic.isLoopback()) {
          continue;
        }
        for (InetAddress address : Collections.list(nic.getInetAddresses())) {
          if (address instanceof Inet4Address
              && !address.isLoopbackAddress()
              && !address.isLinkLocalAddress()
              && !address.isAnyLocalAddress()
              && !isNodeSuiteAddress(address)) {
            return address.getHostAddress();
          }
        }
      }
    } catch (SocketException e) {
      throw new UncheckedIOException(e);
    }
    throw new IllegalStateException(
        "no non-loopback IPv4 address on this machine; the API server accepts no loopback"
            + " address in an EndpointSlice. Add one (e.g. `ip link add vmpower0 type dummy &&"
            + " ip addr add 10.254.0.1/32 dev vmpower0 && ip link set vmpower0 up`) and pass"
            + " -Dvmpower.e2e.host-ip=10.254.0.1");
  }

  private static boolean isNodeSuiteAddress(InetAddress address) {
    byte[] b = address.getAddress();
    return (b[0] & 0xff) == 198 && (b[1] & 0xfe) == 18;
  }

  static void sleep(long millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }
}
