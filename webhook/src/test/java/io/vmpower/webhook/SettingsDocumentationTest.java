package io.vmpower.webhook;

import static org.assertj.core.api.Assertions.assertThat;

import io.vmpower.controller.ControllerSettings;
import io.vmpower.webhook.cluster.ClusterSettings;
import io.vmpower.webhook.http.WebhookSettings;
import io.vmpower.webhook.powercontroller.PowerControllerConfiguration;
import io.vmpower.webhook.tls.TlsSettings;
import java.io.IOException;
import java.lang.reflect.RecordComponent;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.springframework.boot.autoconfigure.condition.ConditionalOnProperty;
import org.springframework.boot.context.properties.bind.Bindable;
import org.springframework.boot.context.properties.bind.Binder;
import org.springframework.boot.context.properties.source.MapConfigurationPropertySource;

/**
 * Each {@code vmpower.*} default is written once, in its settings class; the READMEs' settings
 * tables repeat them for readers, and this holds them to the code: every documented default, bound
 * as a user's setting would be, equals what the application uses when the setting is absent.
 */
class SettingsDocumentationTest {
  private static final Map<String, Class<?>> SETTINGS =
      Map.of(
          "vmpower.tls", TlsSettings.class,
          "vmpower.webhook", WebhookSettings.class,
          "vmpower.cluster", ClusterSettings.class,
          "vmpower.controller", ControllerSettings.class);

  private static final Pattern TICKED = Pattern.compile("`([^`]*)`");

  /** A default as a README documents it; {@code value} null for "none". */
  record Documented(String file, String property, String value) {}

  @Test
  void everyDocumentedDefaultIsTheOneTheCodeUses() throws Exception {
    List<Documented> documented = new ArrayList<>();
    documented.addAll(documented(Path.of("../README.md")));
    documented.addAll(documented(Path.of("../controller/README.md")));
    int checked = 0;
    for (Documented d : documented) {
      if (d.value() != null && d.value().startsWith("$")) {
        continue; // from the pod's environment (downward API), not a written default
      }
      if (d.property().equals("vmpower.controller.enabled")) {
        ConditionalOnProperty condition =
            java.util.Arrays.stream(PowerControllerConfiguration.class.getDeclaredMethods())
                .filter(m -> m.getName().equals("powerController"))
                .findFirst()
                .orElseThrow()
                .getAnnotation(ConditionalOnProperty.class);
        assertThat(condition.matchIfMissing()).as(d.toString()).isEqualTo(parse(d.value()));
        checked++;
        continue;
      }
      String prefix = d.property().substring(0, d.property().indexOf('.', "vmpower.".length()));
      Class<?> type = SETTINGS.get(prefix);
      assertThat(type).as("settings class of %s", d).isNotNull();
      String name = d.property().substring(prefix.length() + 1);
      Object builtIn = component(bind(prefix, type, Map.of()), name);
      Object asDocumented =
          d.value() == null
              ? null
              : component(bind(prefix, type, Map.of(d.property(), d.value())), name);
      assertThat(asDocumented).as(d.toString()).isEqualTo(builtIn);
      checked++;
    }
    assertThat(checked).isGreaterThanOrEqualTo(25);
  }

  /**
   * The rows of the settings tables (header {@code | property | default |}): one property, or
   * several comma-separated (later ones relative to the first's prefix), and their defaults.
   */
  private static List<Documented> documented(Path file) throws IOException {
    List<Documented> out = new ArrayList<>();
    boolean settingsTable = false;
    for (String line : Files.readAllLines(file)) {
      if (!line.startsWith("|")) {
        settingsTable = false;
        continue;
      }
      if (line.startsWith("| property | default |")) {
        settingsTable = true;
        continue;
      }
      if (!settingsTable || !line.startsWith("| `vmpower.")) {
        continue;
      }
      String[] cells = line.split(" \\| ");
      List<String> properties = ticked(cells[0]);
      List<String> values = ticked(cells[1]);
      String base = properties.get(0).substring(0, properties.get(0).lastIndexOf('.') + 1);
      for (int i = 0; i < properties.size(); i++) {
        String property =
            properties.get(i).contains(".") ? properties.get(i) : base + properties.get(i);
        String value = cells[1].trim().equals("—") ? null : values.get(i);
        out.add(new Documented(file.toString(), property, value));
      }
    }
    return out;
  }

  private static List<String> ticked(String cell) {
    List<String> out = new ArrayList<>();
    Matcher m = TICKED.matcher(cell);
    while (m.find()) {
      out.add(m.group(1));
    }
    return out;
  }

  private static Object bind(String prefix, Class<?> type, Map<String, String> properties) {
    return new Binder(new MapConfigurationPropertySource(properties))
        .bindOrCreate(prefix, Bindable.of(type));
  }

  private static Object component(Object settings, String kebab) throws Exception {
    String camel =
        Pattern.compile("-([a-z])").matcher(kebab).replaceAll(r -> r.group(1).toUpperCase());
    for (RecordComponent c : settings.getClass().getRecordComponents()) {
      if (c.getName().equals(camel)) {
        return c.getAccessor().invoke(settings);
      }
    }
    throw new AssertionError(settings.getClass().getSimpleName() + " has no setting " + kebab);
  }

  private static boolean parse(String value) {
    return Boolean.parseBoolean(value);
  }
}
