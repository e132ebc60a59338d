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
 * user matching the pod's runAsUser, the entrypoint of the runtime contract, and a class data
 * sharing archive the runtime JVM can use.
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

  /** The instructions from the FROM line of the stage named {@code name} to the next FROM. */
  private static List<String> stage(String name) throws IOException {
    List<String> all = instructions();
    int start = -1;
    for (int i = 0; i < all.size(); i++) {
      if (all.get(i).toUpperCase().startsWith("FROM ")) {
        if (start >= 0) {
          return all.subList(start, i);
        }
        if (all.get(i).endsWith(" AS " + name)) {
          start = i;
        }
      }
    }
    assertThat(start).as("stage " + name).isNotNegative();
    return all.subList(start, all.size());
  }

  @Test
  void isMultiStage() throws IOException {
    assertThat(instructions())
        .filteredOn(l -> l.toUpperCase().startsWith("FROM "))
        .containsExactly(
            "FROM ${BUILD_IMAGE} AS build",
            "FROM ${RUNTIME_IMAGE} AS cds",
            "FROM ${RUNTIME_IMAGE}");
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
        .containsExactly(
            "ENTRYPOINT [\"java\", \"-XX:SharedArchiveFile=/app/vmpower.jsa\", \"-jar\","
                + " \"/app/vmpower.jar\"]");
    // Built with the wrapper from this checkout, as the README says.
    assertThat(stage("build"))
        .anyMatch(l -> l.contains("./mvnw") && l.contains("-pl webhook -am package"));
  }

  /**
   * The archive only serves the JVM that made it and the jar files at the paths it recorded: the
   * training runs on the runtime image's JDK with the files at /app, through the script the
   * benchmark measures, and the final stage checks that its JVM accepts the archive.
   */
  @Test
  void classDataSharingArchiveIsMadeWithTheRuntimeJdkForTheRuntimePaths() throws IOException {
    String script = "webhook/src/main/docker/prepare-cds.sh";
    assertThat(Files.readString(ROOT.resolve(script))).contains("extract --layers");
    assertThat(stage("cds"))
        .anyMatch(l -> l.contains("/src/" + script))
        .anyMatch(
            l ->
                l.startsWith("RUN [")
                    && l.contains("\"/build/prepare-cds.sh\", \"/build/vmpower.jar\", \"/app\""));
    assertThat(finalStage())
        .contains("COPY --from=cds --chown=0:0 /app/vmpower.jsa /app/")
        .anyMatch(
            l ->
                l.startsWith("RUN [\"java\", \"-Xshare:on\"")
                    && l.contains("\"-XX:SharedArchiveFile=/app/vmpower.jsa\"")
                    && l.contains("\"-jar\", \"/app/vmpower.jar\""));
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
