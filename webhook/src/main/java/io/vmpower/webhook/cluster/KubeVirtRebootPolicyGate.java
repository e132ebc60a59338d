package io.vmpower.webhook.cluster;

import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import io.vmpower.admission.RebootPolicyGate;
import io.vmpower.api.ResourceType;
import io.vmpower.controller.ResourceContexts;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * KubeVirt's {@code RebootPolicy} gate as the cluster's KubeVirt CR says, kept from an informer
 * (refreshed on every change of the CR), so that a VM review reads it from memory ({@link
 * RebootPolicyGate#open(List)} decides). Closed until the first list is in, and whenever no CR can
 * be read: the field is then never set.
 */
public final class KubeVirtRebootPolicyGate implements RebootPolicyGate, AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(KubeVirtRebootPolicyGate.class);

  private final AtomicBoolean open = new AtomicBoolean();
  private final SharedIndexInformer<GenericKubernetesResource> informer;

  private KubeVirtRebootPolicyGate(KubernetesClient client) {
    informer =
        client
            .genericKubernetesResources(ResourceContexts.of(ResourceType.KUBEVIRT))
            .inAnyNamespace()
            .runnableInformer(0);
    informer.addEventHandler(
        new ResourceEventHandler<>() {
          @Override
          public void onAdd(GenericKubernetesResource obj) {
            refresh();
          }

          @Override
          public void onUpdate(GenericKubernetesResource oldObj, GenericKubernetesResource newObj) {
            refresh();
          }

          @Override
          public void onDelete(GenericKubernetesResource obj, boolean unknown) {
            refresh();
          }
        });
    // A cluster without KubeVirt's CRD (or without the right to list it) keeps retrying quietly.
    informer.exceptionHandler((first, t) -> true);
  }

  /** Starts watching the KubeVirt CRs; does not block. */
  public static KubeVirtRebootPolicyGate start(KubernetesClient client) {
    KubeVirtRebootPolicyGate gate = new KubeVirtRebootPolicyGate(client);
    gate.informer.start();
    return gate;
  }

  @Override
  public boolean open() {
    return open.get();
  }

  private void refresh() {
    List<KubeVirtCr> crs =
        informer.getStore().list().stream().map(KubeVirtRebootPolicyGate::cr).toList();
    boolean now = RebootPolicyGate.open(crs);
    if (open.getAndSet(now) != now) {
      log.info(
          "KubeVirt's RebootPolicy feature gate is {}: managed VMs {} rebootPolicy: Terminate",
          now ? "on" : "off",
          now ? "get" : "do not get");
    }
  }

  static KubeVirtCr cr(GenericKubernetesResource kv) {
    return new KubeVirtCr(
        text(kv.get("status", "observedKubeVirtVersion")),
        text(kv.get("status", "targetKubeVirtVersion")),
        strings(kv.get("spec", "configuration", "developerConfiguration", "featureGates")),
        strings(kv.get("spec", "configuration", "developerConfiguration", "disabledFeatureGates")));
  }

  private static String text(Object o) {
    return o instanceof String s ? s : null;
  }

  private static List<String> strings(Object o) {
    List<String> out = new ArrayList<>();
    if (o instanceof Collection<?> c) {
      c.forEach(e -> out.add(String.valueOf(e)));
    }
    return out;
  }

  @Override
  public void close() {
    informer.stop();
  }
}
