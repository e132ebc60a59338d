package io.vmpower.injector;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Every bash script in the repository passes shellcheck with no findings. */
class ShellcheckTest {
  private static final Pattern BASH_SHEBANG =
      Pattern.compile("^#!\\s*(/usr/bin/env\\s+bash|/bin/bash|/usr/bin/bash)\\b");

  @BeforeAll
  static void packages() throws Exception {
    EnsurePackages.packagesOnly();
  }

  record Result(int exit, String output) {}

  static Result run(Path dir, List<String> command) throws IOException, InterruptedException {
    Process p =
        new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true).start();
    p.getOutputStream().close();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor(2, TimeUnit.MINUTES)).as(String.join(" ", command)).isTrue();
    return new Result(p.exitValue(), out);
  }

  static Path repoRoot() throws Exception {
    Result r = run(MonitorProcesses.moduleDir(), List.of("git", "rev-parse", "--show-toplevel"));
    assertThat(r.exit()).as(r.output()).isZero();
    return Path.of(r.output().strip());
  }

  /** Tracked (and new, not ignored) {@code *.sh} files and extension-less bash scripts. */
  static List<String> bashScripts(Path root) throws Exception {
    Result r =
        run(root, List.of("git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"));
    assertThat(r.exit()).as(r.output()).isZero();
    List<String> scripts = new ArrayList<>();
    for (String name : r.output().split("\0")) {
      Path file = root.resolve(name);
      if (name.isEmpty() || !Files.isRegularFile(file)) {
        continue;
      }
      String base = file.getFileName().toString();
      if (base.endsWith(".sh")) {
        scripts.add(name);
      } else if (!base.contains(".") && startsWithBashShebang(file)) {
        scripts.add(name);
      }
    }
    return scripts;
  }

  static boolean startsWithBashShebang(Path file) throws IOException {
    byte[] head = new byte[64];
    int n;
    try (var in = Files.newInputStream(file)) {
      n = in.readNBytes(head, 0, head.length);
    }
    return BASH_SHEBANG.matcher(new String(head, 0, n, StandardCharsets.ISO_8859_1)).find();
  }

  @Test
  void allBashScriptsAreShellcheckClean() throws Exception {
    Path root = repoRoot();
    List<String> scripts = bashScripts(root);
    assertThat(scripts)
        .contains(
            ".ci/run",
            "injector/src/main/resources/io/vmpower/injector/domain-monitor.sh",
            "injector/src/test/libvirt/ensure-packages.sh",
            "injector/src/test/libvirt/fake-virsh");
    List<String> cmd = new ArrayList<>(List.of("shellcheck", "--format=gcc", "--"));
    cmd.addAll(scripts);
    Result r = run(root, cmd);
    assertThat(r.output()).as("shellcheck findings").isEmpty();
    assertThat(r.exit()).isZero();
  }

  @Test
  void shellcheckReallyReportsFindings(@org.junit.jupiter.api.io.TempDir Path tmp)
      throws Exception {
    Path bad = tmp.resolve("bad.sh");
    Files.writeString(bad, "#!/usr/bin/env bash\nrm -rf $1/*\n");
    Result r = run(tmp, List.of("shellcheck", "--format=gcc", "--", bad.toString()));
    assertThat(r.exit()).isNotZero();
    assertThat(r.output()).contains("SC2086");
  }
}
