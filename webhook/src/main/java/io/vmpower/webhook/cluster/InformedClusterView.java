package io.vmpower.webhook.cluster;

import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.Namespace;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import io.vmpower.admission.ClusterView;
import io.vmpower.api.Keys;
import io.vmpower.api.NamespaceDefault;
import io.vmpower.api.ResourceType;
import io.vmpower.controller.ResourceContexts;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The VM webhook's view of the cluster, from two informers: the enabled namespaces (their default
 * run policy) and KubeVirt's VirtualMachineRestores. A review reads only these caches, so its cost
 * does not depend on the API server.
 *
 * <p>Until the namespaces have been listed once, {@link #namespaceDefault} answers {@link
 * NamespaceDefault#NOT_LOADED} and the replica reports not ready ({@link #namespacesLoaded()} is in
 * the readiness group), so the API server calls only replicas that know the defaults. A namespace
 * labelled a moment ago may not be in the cache yet: its first VMs are then stored without the
 * default, and the controller brings them in line (README, "Default policy per namespace").
 */
public final class InformedClusterView implements ClusterView, AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(InformedClusterView.class);
  private static final String TARGET_INDEX = "target";
  private static final String STOP_TARGET = "StopTarget";

  private final SharedIndexInformer<Namespace> namespaces;
  private final SharedIndexInformer<GenericKubernetesResource> restores;
  private final AtomicBoolean restoresFailing = new AtomicBoolean();
  private volatile boolean closed;

  /** Starts both informers; returns at once. */
  public InformedClusterView(KubernetesClient client) {
    namespaces = client.namespaces().withLabel(Keys.ENABLED, "true").runnableInformer(0);
    namespaces.exceptionHandler((first, t) -> !closed);
    restores =
        client
            .genericKubernetesResources(ResourceContexts.of(ResourceType.VIRTUAL_MACHINE_RESTORE))
            .inAnyNamespace()
            .runnableInformer(0);
    restores.addIndexers(Map.of(TARGET_INDEX, InformedClusterView::targetKeys));
    // Without KubeVirt's snapshot API (or RBAC for it) no restore is known: KubeVirt's stops of
    // a restore target are then refused like anyone's; said once, retried quietly.
    restores.exceptionHandler(
        (first, t) -> {
          if (!restoresFailing.getAndSet(true)) {
            log.atWarn()
                .addKeyValue("error", String.valueOf(t.getMessage()))
                .log(
                    "cannot watch VirtualMachineRestores; KubeVirt's stops for restores are"
                        + " refused until it can");
          }
          return !closed;
        });
    namespaces.start();
    restores.start();
  }

  /** True once the enabled namespaces have been listed. */
  public boolean namespacesLoaded() {
    return namespaces.hasSynced();
  }

  @Override
  public NamespaceDefault namespaceDefault(String namespace) {
    if (!namespaces.hasSynced()) {
      return NamespaceDefault.NOT_LOADED;
    }
    Namespace ns = namespaces.getStore().getByKey(namespace);
    if (ns == null || ns.getMetadata().getAnnotations() == null) {
      return NamespaceDefault.NONE;
    }
    return NamespaceDefault.of(ns.getMetadata().getAnnotations().get(Keys.DEFAULT_RUN_POLICY));
  }

  @Override
  public boolean restoreStopsVm(String namespace, String name) {
    return restores.getIndexer().byIndex(TARGET_INDEX, namespace + "/" + name).stream()
        .anyMatch(InformedClusterView::stopsItsTargetStill);
  }

  /** StopTarget, not complete, not being deleted (pkg/storage/snapshot/restore.go). */
  private static boolean stopsItsTargetStill(GenericKubernetesResource restore) {
    String deleting = restore.getMetadata().getDeletionTimestamp();
    return STOP_TARGET.equals(restore.get("spec", "targetReadinessPolicy"))
        && !Boolean.TRUE.equals(restore.get("status", "complete"))
        && (deleting == null || deleting.isEmpty());
  }

  private static List<String> targetKeys(GenericKubernetesResource restore) {
    Object kind = restore.get("spec", "target", "kind");
    Object name = restore.get("spec", "target", "name");
    if (!ResourceType.VIRTUAL_MACHINE.kind().equals(kind) || !(name instanceof String n)) {
      return List.of();
    }
    return List.of(restore.getMetadata().getNamespace() + "/" + n);
  }

  @Override
  public void close() {
    closed = true;
    namespaces.stop();
    restores.stop();
  }
}
