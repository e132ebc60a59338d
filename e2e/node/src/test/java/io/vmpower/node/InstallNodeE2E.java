package io.vmpower.node;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.apps.DaemonSet;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * What the suite installed, as a user would find it: KubeVirt deployed by virt-operator from the
 * KubeVirt CR, and vmpower's Deployment from the chart running the image made from the Dockerfile's
 * parts, whose runtime configuration is the Dockerfile's.
 */
@ExtendWith(Node.class)
@Order(1)
class InstallNodeE2E {
  @Test
  void kubevirtIsDeployedByVirtOperator() {
    Node.Env env = Node.env();
    String phase =
        env.kubectl(
            "get",
            "kv",
            "kubevirt",
            "-n",
            Node.KUBEVIRT_NAMESPACE,
            "-o",
            "jsonpath={.status.phase}");
    assertThat(phase).isEqualTo("Deployed");
    for (String name : List.of("virt-api", "virt-controller", "virt-operator")) {
      Deployment d =
          env.client.apps().deployments().inNamespace(Node.KUBEVIRT_NAMESPACE).withName(name).get();
      assertThat(d.getStatus().getReadyReplicas()).as(name).isPositive();
      assertThat(d.getSpec().getTemplate().getSpec().getContainers().get(0).getImage())
          .startsWith("vmpower.local/kubevirt/" + name + ":");
    }
    DaemonSet handler =
        env.client
            .apps()
            .daemonSets()
            .inNamespace(Node.KUBEVIRT_NAMESPACE)
            .withName("virt-handler")
            .get();
    assertThat(handler.getStatus().getNumberReady()).isEqualTo(1);
  }

  @Test
  void vmpowerRunsFromItsChartAndImage() {
    Node.Env env = Node.env();
    Deployment d =
        env
            .client
            .apps()
            .deployments()
            .inNamespace(Node.RELEASE_NAMESPACE)
            .list()
            .getItems()
            .stream()
            .filter(x -> x.getMetadata().getName().contains(Node.RELEASE))
            .findFirst()
            .orElseThrow();
    assertThat(d.getStatus().getReadyReplicas()).isEqualTo(d.getSpec().getReplicas());
    assertThat(d.getSpec().getTemplate().getSpec().getContainers().get(0).getImage())
        .startsWith(Node.IMAGE_REPOSITORY + ":");
  }

  /** The image's runtime configuration is the Dockerfile's final stage, read independently. */
  @Test
  void imageRunsAsTheDockerfileSays() throws IOException {
    Map<String, String> dockerfile =
        finalStage(Path.of(System.getProperty("vmpower.node.dockerfile")));
    String config = imageConfig(Path.of(Node.env().imageArchive));
    assertThat(config)
        .contains("\"User\":\"" + dockerfile.get("USER") + "\"")
        .contains("\"WorkingDir\":\"" + dockerfile.get("WORKDIR") + "\"")
        .contains("\"Entrypoint\":" + dockerfile.get("ENTRYPOINT").replace(", ", ","));
    String env = dockerfile.get("ENV");
    assertThat(config)
        .contains(
            env.substring(0, env.indexOf('=') + 1) + unquote(env.substring(env.indexOf('=') + 1)));
    for (String port : dockerfile.get("EXPOSE").split("\\s+")) {
      assertThat(config).contains("\"" + port + "/tcp\"");
    }
  }

  private static String unquote(String s) {
    return s.startsWith("\"") && s.endsWith("\"") ? s.substring(1, s.length() - 1) : s;
  }

  private static Map<String, String> finalStage(Path dockerfile) throws IOException {
    String text = Files.readString(dockerfile).replaceAll("\\\\\\n", " ");
    List<String> lines = new ArrayList<>();
    for (String l : text.lines().map(String::strip).toList()) {
      if (l.startsWith("FROM ")) {
        lines.clear();
      }
      if (!l.isEmpty() && !l.startsWith("#")) {
        lines.add(l);
      }
    }
    Map<String, String> last = new LinkedHashMap<>();
    for (String l : lines) {
      int space = l.indexOf(' ');
      if (space > 0) {
        last.put(l.substring(0, space), l.substring(space + 1).strip());
      }
    }
    return last;
  }

  /** The config JSON inside a docker-archive (the file manifest.json names). */
  private static String imageConfig(Path archive) throws IOException {
    String manifest = tarEntry(archive, "manifest.json");
    Matcher m = Pattern.compile("\"Config\":\"([^\"]+)\"").matcher(manifest);
    assertThat(m.find()).as(manifest).isTrue();
    return tarEntry(archive, m.group(1));
  }

  private static String tarEntry(Path archive, String name) throws IOException {
    Process p = new ProcessBuilder("tar", "-xOf", archive.toString(), name).start();
    try (InputStream in = p.getInputStream()) {
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
  }
}
