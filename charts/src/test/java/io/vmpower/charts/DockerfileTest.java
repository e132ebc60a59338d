package io.vmpower.charts;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.apps.Deployment;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * What the chart relies on from the image (no Docker engine here to build it): a numeric non-root
 * user matching the pod's runAsUser, and the entrypoint of the runtime contract.
 */
class DockerfileTest {
  private static final Path ROOT = Path.of("..").toAbsolutePath().normalize();

  private static List<String> instructions() throws IOException {
    // Join continuation lines, drop comments and blank lines.
    String text = Files.readString(ROOT.resolve("Dockerfile")).replaceAll("\\\\\\n", " ");
    return text.lines()
        .map(String::strip)
        .filter(l -> !l.isEmpty() && !l.startsWith("#"))
        .collect(Collectors.toList());
  }

  private static List<String> finalStage() throws IOException {
    List<String> all = instructions();
    int last = 0;
    for (int i = 0; i < all.size(); i++) {
      if (all.get(i).toUpperCase().startsWith("FROM ")) {
        last = i;
      }
    }
    return all.subList(last, all.size());
  }

  @Test
  void isMultiStage() throws IOException {
    assertThat(instructions()).filteredOn(l -> l.toUpperCase().startsWith("FROM ")).hasSize(2);
  }

  @Test
  void finalStageRunsAsTheNumericNonRootUserThePodRunsAs() throws IOException {
    List<String> users =
        finalStage().stream().filter(l -> l.toUpperCase().startsWith("USER ")).toList();
    assertThat(users).hasSize(1);
    Matcher user = Pattern.compile("USER (\\d+):(\\d+)").matcher(users.get(0));
    // The kubelet can only verify runAsNonRoot for a numeric user.
    assertThat(user.matches()).as(users.get(0)).isTrue();

    Deployment deployment = Rendered.render(Map.of()).one(Deployment.class);
    var podContext = deployment.getSpec().getTemplate().getSpec().getSecurityContext();
    assertThat(Long.parseLong(user.group(1))).isPositive().isEqualTo(podContext.getRunAsUser());
    assertThat(Long.parseLong(user.group(2))).isEqualTo(podContext.getRunAsGroup());
  }

  @Test
  void entrypointIsTheRuntimeContract() throws IOException {
    assertThat(finalStage())
        .filteredOn(l -> l.toUpperCase().startsWith("ENTRYPOINT"))
        .containsExactly("ENTRYPOINT [\"java\", \"-jar\", \"/app/vmpower.jar\"]");
    // Built with the wrapper from this checkout, as the README says.
    assertThat(instructions())
        .anyMatch(l -> l.contains("./mvnw") && l.contains("-pl webhook -am package"))
        .anyMatch(l -> l.contains("-Djarmode=tools") && l.contains("extract --layers"));
  }

  @Test
  void buildContextLeavesOutBuildOutputAndGitButKeepsEveryModulePom() throws IOException {
    List<String> ignored =
        Files.readString(ROOT.resolve(".dockerignore"))
            .lines()
            .map(String::strip)
            .filter(l -> !l.isEmpty() && !l.startsWith("#"))
            .toList();
    assertThat(ignored).contains(".git", "**/target/");
    // Maven needs every module listed in the parent POM, even those not built.
    String parent = Files.readString(ROOT.resolve("pom.xml"));
    Matcher module = Pattern.compile("<module>([^<]+)</module>").matcher(parent);
    while (module.find()) {
      String pom = module.group(1) + "/pom.xml";
      assertThat(Files.exists(ROOT.resolve(pom))).as(pom).isTrue();
      assertThat(ignored)
          .as("%s must stay in the build context", pom)
          .noneMatch(
              p -> p.equals(module.group(1)) || p.equals(module.group(1) + "/") || p.equals(pom));
    }
  }
}
