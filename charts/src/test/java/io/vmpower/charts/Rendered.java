package io.vmpower.charts;

import static org.assertj.core.api.Assertions.assertThat;

import com.marcnuri.helm.Helm;
import com.marcnuri.helm.TemplateCommand;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.KubernetesResource;
import io.fabric8.kubernetes.api.model.admissionregistration.v1.MutatingWebhook;
import io.fabric8.kubernetes.api.model.admissionregistration.v1.MutatingWebhookConfiguration;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * The chart rendered in-process by Helm's own Go code (helm-java), split into documents and each
 * parsed into fabric8's typed model. Kinds fabric8 has no model for (cert-manager,
 * prometheus-operator) must be listed explicitly, so a typo in a core kind or apiVersion cannot
 * slip through as a generic object.
 */
final class Rendered {
  static final Path CHART = Path.of("vmpower").toAbsolutePath();
  static final String RELEASE = "vmpower";
  static final String NAMESPACE = "vmpower-system";

  /** A Kubernetes version inside the chart's kubeVersion range. */
  static final String KUBE_VERSION = "1.31.0";

  private static final Set<String> CUSTOM_KINDS =
      Set.of(
          "monitoring.coreos.com/v1/ServiceMonitor",
          "monitoring.coreos.com/v1/PrometheusRule",
          "cert-manager.io/v1/Certificate",
          "cert-manager.io/v1/Issuer");
  private static final Pattern DOCUMENT_SEPARATOR = Pattern.compile("(?m)^---\\s*$");
  private static final KubernetesSerialization SERIALIZATION = new KubernetesSerialization();

  final String yaml;
  final List<HasMetadata> objects;
  final String namespace;

  private Rendered(String yaml, List<HasMetadata> objects, String namespace) {
    this.yaml = yaml;
    this.objects = objects;
    this.namespace = namespace;
  }

  static Rendered render(Map<String, Object> values) {
    return render(RELEASE, NAMESPACE, values);
  }

  static Rendered render(String release, String namespace, Map<String, Object> values) {
    TemplateCommand template =
        new Helm(CHART)
            .template()
            .withName(release)
            .withNamespace(namespace)
            .withKubeVersion(KUBE_VERSION);
    values.forEach(template::set);
    String yaml = template.call();
    return new Rendered(yaml, parse(yaml), namespace);
  }

  /** Values given as a YAML document, for lists and maps that --set syntax makes awkward. */
  static Rendered renderWithValuesFile(String valuesYaml) {
    try {
      Path file = Files.createTempFile("vmpower-values", ".yaml");
      try {
        Files.writeString(file, valuesYaml);
        String yaml =
            new Helm(CHART)
                .template()
                .withName(RELEASE)
                .withNamespace(NAMESPACE)
                .withKubeVersion(KUBE_VERSION)
                .withValuesFile(file)
                .call();
        return new Rendered(yaml, parse(yaml), NAMESPACE);
      } finally {
        Files.deleteIfExists(file);
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static List<HasMetadata> parse(String yaml) {
    List<HasMetadata> objects = new ArrayList<>();
    for (String document : DOCUMENT_SEPARATOR.split(yaml)) {
      boolean empty =
          document
              .lines()
              .map(String::strip)
              .allMatch(line -> line.isEmpty() || line.startsWith("#"));
      if (empty) {
        continue;
      }
      Object parsed = SERIALIZATION.unmarshal(document);
      assertThat(parsed).as("document:%n%s", document).isInstanceOf(HasMetadata.class);
      HasMetadata object = (HasMetadata) parsed;
      if (object instanceof GenericKubernetesResource) {
        assertThat(CUSTOM_KINDS)
            .as("kind without a fabric8 model (typo in apiVersion/kind?)")
            .contains(object.getApiVersion() + "/" + object.getKind());
      } else {
        assertNoUnknownFields(object, object.getKind());
      }
      objects.add(object);
    }
    return objects;
  }

  /**
   * fabric8 keeps fields it does not know in additionalProperties instead of failing; any such
   * field in a typed object is a misspelt or misplaced key the API server would reject or drop.
   */
  private static void assertNoUnknownFields(Object node, String path) {
    walk(node, path, new IdentityHashMap<>());
  }

  private static void walk(Object node, String path, Map<Object, Boolean> seen) {
    if (node == null || seen.put(node, Boolean.TRUE) != null) {
      return;
    }
    if (node instanceof Collection<?> collection) {
      int i = 0;
      for (Object item : collection) {
        walk(item, path + "[" + i++ + "]", seen);
      }
      return;
    }
    if (node instanceof Map<?, ?> map) {
      map.forEach((k, v) -> walk(v, path + "." + k, seen));
      return;
    }
    if (!(node instanceof KubernetesResource)) {
      return;
    }
    for (Method method : node.getClass().getMethods()) {
      if (method.getParameterCount() != 0
          || Modifier.isStatic(method.getModifiers())
          || !method.getName().startsWith("get")
          || method.getDeclaringClass() == Object.class) {
        continue;
      }
      Object value;
      try {
        value = method.invoke(node);
      } catch (IllegalAccessException | InvocationTargetException e) {
        continue;
      }
      if (method.getName().equals("getAdditionalProperties")) {
        assertThat((Map<?, ?>) value).as("unknown fields at %s", path).isNullOrEmpty();
      } else {
        walk(value, path + "." + method.getName().substring(3), seen);
      }
    }
  }

  /** The rendered YAML without comment lines. */
  List<String> contentLines() {
    return yaml.lines().filter(l -> !l.strip().startsWith("#")).collect(Collectors.toList());
  }

  <T extends HasMetadata> List<T> all(Class<T> type) {
    return objects.stream().filter(type::isInstance).map(type::cast).collect(Collectors.toList());
  }

  <T extends HasMetadata> T one(Class<T> type) {
    List<T> found = all(type);
    assertThat(found).as("rendered %s objects", type.getSimpleName()).hasSize(1);
    return found.get(0);
  }

  <T extends HasMetadata> Optional<T> optional(Class<T> type) {
    List<T> found = all(type);
    assertThat(found).as("rendered %s objects", type.getSimpleName()).hasSizeLessThanOrEqualTo(1);
    return found.stream().findFirst();
  }

  List<GenericKubernetesResource> custom(String apiVersion, String kind) {
    return all(GenericKubernetesResource.class).stream()
        .filter(o -> apiVersion.equals(o.getApiVersion()) && kind.equals(o.getKind()))
        .collect(Collectors.toList());
  }

  /** kind/name of every object, for asserting the exact set. */
  List<String> kindsAndNames() {
    return objects.stream()
        .map(o -> o.getKind() + "/" + o.getMetadata().getName())
        .sorted()
        .collect(Collectors.toList());
  }

  MutatingWebhook webhook(String name) {
    return one(MutatingWebhookConfiguration.class).getWebhooks().stream()
        .filter(w -> name.equals(w.getName()))
        .findFirst()
        .orElseThrow(() -> new AssertionError("no webhook " + name));
  }

  Container container() {
    List<Container> containers =
        one(Deployment.class).getSpec().getTemplate().getSpec().getContainers();
    assertThat(containers).hasSize(1);
    return containers.get(0);
  }

  /** Plain env values by name; values from the downward API as "fieldRef:<path>". */
  Map<String, String> env() {
    Map<String, String> env = new LinkedHashMap<>();
    for (EnvVar var : container().getEnv()) {
      String value =
          var.getValueFrom() != null && var.getValueFrom().getFieldRef() != null
              ? "fieldRef:" + var.getValueFrom().getFieldRef().getFieldPath()
              : var.getValue();
      assertThat(env.put(var.getName(), value)).as("duplicate env %s", var.getName()).isNull();
    }
    return env;
  }
}
