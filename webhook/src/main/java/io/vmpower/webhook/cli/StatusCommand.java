package io.vmpower.webhook.cli;

import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.Namespace;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.ConfigBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.vmpower.api.Keys;
import io.vmpower.api.ResourceType;
import io.vmpower.controller.ResourceContexts;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code vmpower status}: one line per managed VM of the cluster, in the spirit of {@code istioctl
 * proxy-status}. Reads VMs, VMIs and virt-launcher pods with the user's kubeconfig, as kubectl
 * does; writes nothing.
 */
@Command(
    name = "status",
    mixinStandardHelpOptions = true,
    description = {
      "One line per VM vmpower manages: policy, runStrategy, VMI phase, the controller's last power",
      "event and when, restarts, state. Uses the kubeconfig as kubectl does (KUBECONFIG, ~/.kube/config,",
      "or the pod's ServiceAccount). Exit code 0 when all is well, "
          + StatusCommand.ATTENTION
          + " when a VM gave up restarting or a launcher",
      "runs without the domain monitor, "
          + StatusCommand.USAGE
          + " for a usage error, "
          + StatusCommand.UNREADABLE
          + " when the cluster could not be read."
    })
public final class StatusCommand implements Callable<Integer> {
  static final int ATTENTION = 1;
  static final int USAGE = 2;
  static final int UNREADABLE = 3;

  private static final String[] HEADER = {
    "NAMESPACE", "NAME", "POLICY", "RUNSTRATEGY", "PHASE", "LAST-EVENT", "WHEN", "RESTARTS", "STATE"
  };

  @Spec CommandSpec spec;

  @Option(
      names = {"-n", "--namespace"},
      description = "Only this namespace (default: all namespaces).")
  String namespace;

  @Option(
      names = {"-l", "--selector"},
      description = "Label selector for the VMs, e.g. vmpower.io/run-policy=AlwaysOn.")
  String selector;

  @Option(
      names = {"-o", "--output"},
      description = "table (default) or json.",
      defaultValue = "table")
  String output;

  @Option(names = "--kubeconfig", description = "Path of the kubeconfig file to use.")
  Path kubeconfig;

  @Option(names = "--context", description = "The kubeconfig context to use.")
  String context;

  Clock clock = Clock.systemUTC();

  @Override
  public Integer call() {
    PrintWriter out = spec.commandLine().getOut();
    PrintWriter err = spec.commandLine().getErr();
    if (!output.equals("table") && !output.equals("json")) {
      err.println("error: --output must be table or json, got " + output);
      return USAGE;
    }
    List<FleetStatus.Row> rows;
    try (KubernetesClient client = client()) {
      rows = read(client);
    } catch (IOException | KubernetesClientException | IllegalArgumentException e) {
      err.println("error: could not read the cluster: " + firstLine(e));
      return UNREADABLE;
    }
    if (output.equals("json")) {
      out.println(json(rows));
    } else if (rows.isEmpty()) {
      err.println(
          "No managed VMs"
              + (namespace == null ? "" : " in namespace " + namespace)
              + (selector == null ? "" : " matching " + selector)
              + ".");
    } else {
      table(out, rows);
    }
    out.flush();
    return rows.stream().anyMatch(FleetStatus.Row::needsAttention) ? ATTENTION : 0;
  }

  private KubernetesClient client() throws IOException {
    Config config =
        kubeconfig == null
            ? Config.autoConfigure(context)
            : Config.fromKubeconfig(context, Files.readString(kubeconfig), kubeconfig.toString());
    return new KubernetesClientBuilder()
        .withConfig(
            new ConfigBuilder(config)
                .withRequestTimeout(15_000)
                .withConnectionTimeout(10_000)
                .withRequestRetryBackoffLimit(1)
                .build())
        .build();
  }

  private List<FleetStatus.Row> read(KubernetesClient client) {
    var vms = client.genericKubernetesResources(ResourceContexts.of(ResourceType.VIRTUAL_MACHINE));
    var vmis =
        client.genericKubernetesResources(
            ResourceContexts.of(ResourceType.VIRTUAL_MACHINE_INSTANCE));
    var pods = client.pods();
    List<GenericKubernetesResource> vmList;
    List<GenericKubernetesResource> vmiList;
    List<Pod> podList;
    if (namespace == null) {
      vmList =
          (selector == null
                  ? vms.inAnyNamespace()
                  : vms.inAnyNamespace().withLabelSelector(selector))
              .list()
              .getItems();
      vmiList = vmis.inAnyNamespace().list().getItems();
      podList =
          pods.inAnyNamespace()
              .withLabel(Keys.KUBEVIRT_APP, Keys.KUBEVIRT_APP_LAUNCHER)
              .list()
              .getItems();
    } else {
      var inNs = vms.inNamespace(namespace);
      vmList = (selector == null ? inNs : inNs.withLabelSelector(selector)).list().getItems();
      vmiList = vmis.inNamespace(namespace).list().getItems();
      podList =
          pods.inNamespace(namespace)
              .withLabel(Keys.KUBEVIRT_APP, Keys.KUBEVIRT_APP_LAUNCHER)
              .list()
              .getItems();
    }
    Map<String, Optional<Boolean>> enabled = new HashMap<>();
    return FleetStatus.rows(
        vmList,
        vmiList,
        podList,
        ns -> enabled.computeIfAbsent(ns, n -> namespaceEnabled(client, n)),
        clock.instant());
  }

  /**
   * Whether the namespace carries {@code vmpower.io/enabled=true}; empty when the user may not read
   * namespaces (a namespace-scoped user still gets the rest).
   */
  private static Optional<Boolean> namespaceEnabled(KubernetesClient client, String namespace) {
    try {
      Namespace ns = client.namespaces().withName(namespace).get();
      return Optional.of(
          ns != null
              && ns.getMetadata().getLabels() != null
              && "true".equals(ns.getMetadata().getLabels().get(Keys.ENABLED)));
    } catch (KubernetesClientException e) {
      if (e.getCode() == 403) {
        return Optional.empty();
      }
      throw e;
    }
  }

  private void table(PrintWriter out, List<FleetStatus.Row> rows) {
    Instant now = clock.instant();
    List<String[]> lines = new ArrayList<>();
    lines.add(HEADER);
    for (FleetStatus.Row r : rows) {
      lines.add(
          new String[] {
            r.namespace(),
            r.name(),
            r.policy(),
            dash(r.runStrategy()),
            dash(r.phase()),
            r.lastEvent().map(e -> e.reason() + "/" + e.action()).orElse("-"),
            dash(r.lastEvent().map(e -> FleetStatus.age(e.time(), now)).orElse("")),
            Long.toString(r.restartsTotal()),
            String.join(",", r.states())
          });
    }
    int[] widths = new int[HEADER.length];
    for (String[] line : lines) {
      for (int i = 0; i < line.length; i++) {
        widths[i] = Math.max(widths[i], line[i].length());
      }
    }
    for (String[] line : lines) {
      StringBuilder text = new StringBuilder();
      for (int i = 0; i < line.length; i++) {
        text.append(line[i]);
        if (i < line.length - 1) {
          text.append(" ".repeat(widths[i] - line[i].length() + 3));
        }
      }
      out.println(text.toString().stripTrailing());
    }
  }

  private String json(List<FleetStatus.Row> rows) {
    JsonMapper mapper = JsonMapper.builder().build();
    ObjectNode root = mapper.createObjectNode();
    ArrayNode items = root.putArray("vms");
    for (FleetStatus.Row r : rows) {
      ObjectNode item = items.addObject();
      item.put("namespace", r.namespace());
      item.put("name", r.name());
      item.put("policy", r.policy());
      item.put("runStrategy", r.runStrategy());
      item.put("phase", r.phase());
      if (r.lastEvent().isPresent()) {
        var e = r.lastEvent().get();
        item.putObject("lastEvent")
            .put("vmiUid", e.vmiUid())
            .put("reason", e.reason())
            .put("action", e.action())
            .put("state", e.state())
            .put("time", e.time());
        ObjectNode lastEvent = (ObjectNode) item.get("lastEvent");
        if (e.loop().backoffUntil().isPresent()) {
          lastEvent.put("backoffUntil", e.loop().backoffUntil().get().toString());
        }
        if (e.loop().gaveUp().isPresent()) {
          lastEvent.put("gaveUp", e.loop().gaveUp().get().toString());
        }
      } else {
        item.putNull("lastEvent");
      }
      ObjectNode restarts = item.putObject("restarts");
      restarts.put("total", r.restartsTotal());
      r.restarts().forEach(restarts.putObject("byReason")::put);
      ObjectNode maintenance = item.putObject("maintenance").put("on", r.maintenance());
      if (!r.maintenanceReason().isEmpty()) {
        maintenance.put("reason", r.maintenanceReason());
      }
      if (!r.maintenanceSince().isEmpty()) {
        maintenance.put("since", r.maintenanceSince());
      }
      r.unmonitoredPods().forEach(item.putArray("podsWithoutMonitor")::add);
      r.states().forEach(item.putArray("states")::add);
    }
    root.put("attention", rows.stream().anyMatch(FleetStatus.Row::needsAttention));
    try {
      return mapper.writerWithDefaultPrettyPrinter().writeValueAsString(root);
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }

  private static String dash(String s) {
    return s == null || s.isEmpty() ? "-" : s;
  }

  private static String firstLine(Exception e) {
    String message = String.valueOf(e.getMessage());
    int newline = message.indexOf('\n');
    return newline < 0 ? message : message.substring(0, newline);
  }
}
