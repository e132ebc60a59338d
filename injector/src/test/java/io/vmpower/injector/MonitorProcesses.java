package io.vmpower.injector;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.json.JsonMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/** Test helpers shared by the fake-virsh tests and the real-libvirt tests. */
final class MonitorProcesses {
  private MonitorProcesses() {}

  static final JsonMapper JSON = JsonMapper.builder().build();
  static final Pattern ISO_MILLIS =
      Pattern.compile("\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}\\.\\d{3}Z");

  /** Module directory (surefire and failsafe run there). */
  static Path moduleDir() {
    Path here = Path.of("").toAbsolutePath();
    return Files.isDirectory(here.resolve("src/test/libvirt")) ? here : here.resolve("injector");
  }

  static Path libvirtHelpers() {
    return moduleDir().resolve("src/test/libvirt");
  }

  /** Pids of live processes whose command line contains {@code marker}, this JVM excluded. */
  static List<Long> processesMentioning(String marker) {
    List<Long> found = new ArrayList<>();
    long self = ProcessHandle.current().pid();
    try (Stream<Path> procs = Files.list(Path.of("/proc"))) {
      for (Path p : (Iterable<Path>) procs::iterator) {
        String name = p.getFileName().toString();
        if (!name.chars().allMatch(Character::isDigit) || Long.parseLong(name) == self) {
          continue;
        }
        try {
          byte[] raw = Files.readAllBytes(p.resolve("cmdline"));
          String cmd = new String(raw, StandardCharsets.UTF_8).replace('\0', ' ');
          if (cmd.contains(marker)) {
            found.add(Long.parseLong(name));
          }
        } catch (IOException e) {
          // the process ended while we looked
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return found;
  }

  /**
   * Like {@link #processesMentioning(String)}, limited to processes whose environment contains
   * {@code envNeedle}: the children of one monitor run, not those of another build on the machine.
   */
  static List<Long> processesMentioning(String marker, String envNeedle) {
    List<Long> found = new ArrayList<>();
    for (long pid : processesMentioning(marker)) {
      try {
        byte[] env = Files.readAllBytes(Path.of("/proc/" + pid + "/environ"));
        if (new String(env, StandardCharsets.UTF_8).contains(envNeedle)) {
          found.add(pid);
        }
      } catch (IOException e) {
        // the process ended while we looked
      }
    }
    return found;
  }

  /**
   * Waits up to {@code grace} for processes mentioning {@code marker} with {@code envNeedle} in
   * their environment to disappear.
   */
  static List<Long> lingering(String marker, String envNeedle, Duration grace)
      throws InterruptedException {
    long end = System.nanoTime() + grace.toNanos();
    List<Long> left = processesMentioning(marker, envNeedle);
    while (!left.isEmpty() && System.nanoTime() < end) {
      Thread.sleep(20);
      left = processesMentioning(marker, envNeedle);
    }
    return left;
  }

  /** Waits up to {@code grace} for processes mentioning {@code marker} to disappear. */
  static List<Long> lingering(String marker, Duration grace) throws InterruptedException {
    long end = System.nanoTime() + grace.toNanos();
    List<Long> left = processesMentioning(marker);
    while (!left.isEmpty() && System.nanoTime() < end) {
      Thread.sleep(20);
      left = processesMentioning(marker);
    }
    return left;
  }

  static String describe(List<Long> pids) {
    StringBuilder sb = new StringBuilder();
    for (long pid : pids) {
      try {
        sb.append(pid)
            .append(": ")
            .append(
                new String(Files.readAllBytes(Path.of("/proc/" + pid + "/cmdline")), UTF8)
                    .replace('\0', ' '))
            .append('\n');
      } catch (IOException e) {
        sb.append(pid).append(": (gone)\n");
      }
    }
    return sb.toString();
  }

  private static final java.nio.charset.Charset UTF8 = StandardCharsets.UTF_8;

  /** Parses every stderr line as a monitor log record and checks the fixed fields. */
  static List<JsonNode> logRecords(String stderr, String domain) {
    List<JsonNode> records = new ArrayList<>();
    for (String line : stderr.split("\n")) {
      if (line.isEmpty()) {
        continue;
      }
      JsonNode node;
      try {
        node = JSON.readTree(line);
      } catch (IOException e) {
        throw new AssertionError("stderr line is not JSON: " + line, e);
      }
      assertThat(node.isObject()).as(line).isTrue();
      assertThat(node.path("ts").asText()).as(line).matches(ISO_MILLIS);
      assertThat(node.path("level").asText()).as(line).isIn("info", "error");
      assertThat(node.path("component").asText()).as(line).isEqualTo("vmpower-domain-monitor");
      assertThat(node.path("domain").isTextual()).as(line).isTrue();
      if (domain != null) {
        assertThat(node.path("domain").asText()).as(line).isEqualTo(domain);
      }
      assertThat(node.path("msg").asText()).as(line).isNotBlank();
      records.add(node);
    }
    return records;
  }

  /**
   * The termination log as compact events, checking the fixed fields of every line: {@code SHUTDOWN
   * +guest-reset} (guest-initiated), {@code SHUTDOWN -host-signal}, {@code WATCHDOG reset}, {@code
   * GUEST_PANICKED pause}.
   */
  static List<String> recordedEvents(String terminationLog) throws IOException {
    List<String> out = new ArrayList<>();
    for (String line : terminationLog.lines().toList()) {
      JsonNode n = JSON.readTree(line);
      assertThat(n.path("source").asText()).as(line).isEqualTo("vmpower");
      assertThat(n.path("timestamp").asText()).as(line).matches(ISO_MILLIS);
      String event = n.path("event").asText();
      if (event.equals("SHUTDOWN")) {
        assertThat(n.path("guest").isBoolean()).as(line).isTrue();
        out.add(event + (n.path("guest").asBoolean() ? " +" : " -") + n.path("reason").asText());
      } else {
        assertThat(event).as(line).isIn("WATCHDOG", "GUEST_PANICKED");
        out.add(event + " " + n.path("action").asText());
      }
    }
    return out;
  }

  static List<String> messages(List<JsonNode> records, String level) {
    return records.stream()
        .filter(r -> r.path("level").asText().equals(level))
        .map(r -> r.path("msg").asText())
        .toList();
  }
}
