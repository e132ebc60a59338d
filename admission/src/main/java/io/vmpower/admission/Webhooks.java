package io.vmpower.admission;

import io.vmpower.api.ResourceType;
import io.vmpower.injector.PodMutator;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.Optional;

/**
 * vmpower's admission webhooks, the one list the server, the preview command and the benchmarks
 * take them from: adding a webhook is one entry in {@link #create(int)} (and one in the chart's
 * MutatingWebhookConfiguration, which a chart test compares with this list).
 */
public final class Webhooks {
  public static final String VIRTUAL_MACHINES = "/mutate-virtualmachines";
  public static final String PODS = "/mutate-pods";

  private final List<Webhook> all;

  private Webhooks(List<Webhook> all) {
    this.all = List.copyOf(all);
  }

  /** The webhooks, each reading reviews of up to {@code maxRequestBytes}. */
  public static Webhooks create(int maxRequestBytes) {
    return create(maxRequestBytes, RebootPolicyGate.CLOSED);
  }

  /**
   * The webhooks; managed VMs get the native reboot policy while {@code nativeRebootPolicy} is
   * open.
   */
  public static Webhooks create(int maxRequestBytes, RebootPolicyGate nativeRebootPolicy) {
    ReviewReader reader = new ReviewReader(maxRequestBytes);
    PodMutator pods = PodMutator.withBundledMonitor();
    return new Webhooks(
        List.of(
            new Webhook(
                VIRTUAL_MACHINES,
                new AdmissionHandler(
                    ResourceType.VIRTUAL_MACHINE,
                    new VmMutator(nativeRebootPolicy),
                    reader,
                    ReviewWriter.PLAIN)),
            new Webhook(
                PODS,
                new AdmissionHandler(
                    ResourceType.POD, pods, reader, new ReviewWriter(pods.recurringStrings())))));
  }

  public List<Webhook> all() {
    return all;
  }

  /** The webhook that reviews objects of {@code type}. */
  public Webhook of(ResourceType type) {
    return all.stream()
        .filter(w -> w.type().equals(type))
        .findFirst()
        .orElseThrow(() -> new NoSuchElementException("no webhook reviews " + type));
  }

  /** The webhook that reviews a manifest of this {@code apiVersion} and {@code kind}, if any. */
  public Optional<Webhook> forManifest(String apiVersion, String kind) {
    return all.stream().filter(w -> w.type().describes(apiVersion, kind)).findFirst();
  }
}
