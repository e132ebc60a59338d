package io.vmpower.controller;

import com.fasterxml.jackson.databind.JsonNode;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.OwnerReference;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.vmpower.admission.ClusterView;
import io.vmpower.admission.InLine;
import io.vmpower.admission.VmMutator;
import io.vmpower.api.Keys;
import io.vmpower.api.KubeVirtAccounts;
import io.vmpower.api.NamespaceDefault;
import io.vmpower.api.ResourceType;
import io.vmpower.controller.VmSnapshot.LauncherPod;
import io.vmpower.controller.VmSnapshot.Vm;
import io.vmpower.controller.VmSnapshot.Vmi;
import java.time.Clock;
import java.util.List;
import java.util.Optional;
import java.util.function.Function;
import java.util.function.Predicate;

/**
 * Builds the {@link VmSnapshot} of one VM: from the informer caches, and from the API server where
 * the decision asks for a fresh read ({@link Step.ReadFresh}).
 */
final class Gatherer {

  /**
   * Read access to the informer caches.
   *
   * @param namespaceDefault the {@code vmpower.io/default-run-policy} annotation of an enabled
   *     namespace, null when it has none
   */
  record Caches(
      Function<String, GenericKubernetesResource> vm,
      Function<String, GenericKubernetesResource> vmi,
      Function<String, List<Pod>> podsOfVmi,
      Predicate<String> namespaceEnabled,
      Function<String, String> namespaceDefault) {}

  private final KubernetesClient client;
  private final Caches caches;
  private final TerminationWaits waits;
  private final Clock clock;

  /** The VM webhook's rules, with the namespace defaults of the caches. */
  private final VmMutator webhookRules;

  Gatherer(KubernetesClient client, Caches caches, TerminationWaits waits, Clock clock) {
    this.client = client;
    this.caches = caches;
    this.waits = waits;
    this.clock = clock;
    this.webhookRules =
        VmMutator.forStoredVms(
            new ClusterView() {
              @Override
              public NamespaceDefault namespaceDefault(String namespace) {
                return NamespaceDefault.of(caches.namespaceDefault().apply(namespace));
              }

              @Override
              public boolean restoreStopsVm(String namespace, String name) {
                return false; // the controller's own writes are never KubeVirt's
              }
            },
            KubeVirtAccounts.DEFAULT);
  }

  /** What the caches show for the VM {@code namespace/name}. */
  VmSnapshot gather(String key) {
    String namespace = key.substring(0, key.indexOf('/'));
    GenericKubernetesResource vm = caches.vm().apply(key);
    GenericKubernetesResource vmi = caches.vmi().apply(key);
    if (vmi != null && vm != null && !ownedBy(vmi, vm)) {
      vmi = null; // a VMI of the same name that another VM (or nobody) created
    }
    String vmiUid = vmi == null ? null : vmi.getMetadata().getUid();
    boolean enabled = caches.namespaceEnabled().test(namespace);
    return new VmSnapshot(
        key,
        enabled,
        vm == null ? null : Vm.of(vm, enabled ? alignment(vm) : new InLine.Consistent()),
        vmi == null ? null : Vmi.of(vmi),
        vmi == null ? List.of() : pods(caches.podsOfVmi().apply(vmiUid)),
        false,
        Optional.empty(),
        Optional.empty(),
        vmi == null ? Optional.empty() : waits.since(vmiUid),
        clock.instant());
  }

  /** What the VM webhook's rules make of the VM as stored ({@link InLine}). */
  private InLine.Result alignment(GenericKubernetesResource vm) {
    if (KubeVirt.deleting(vm)) {
      return new InLine.Consistent();
    }
    JsonNode tree = client.getKubernetesSerialization().convertValue(vm, JsonNode.class);
    return InLine.check(
        webhookRules, vm.getMetadata().getNamespace(), vm.getMetadata().getName(), tree);
  }

  /** The snapshot with what the API server (not the cache) shows for {@code what}. */
  VmSnapshot readFresh(VmSnapshot s, Step.ReadFresh.Source what) {
    String namespace = s.vm().namespace();
    return switch (what) {
      case VMI -> {
        GenericKubernetesResource vmi =
            client
                .genericKubernetesResources(KubeVirt.VMI)
                .inNamespace(namespace)
                .withName(s.vm().name())
                .get();
        yield s.withFreshVmi(vmi == null ? null : Vmi.of(vmi));
      }
      case PODS ->
          s.withFreshPods(
              pods(
                  client
                      .pods()
                      .inNamespace(namespace)
                      .withLabel(Keys.KUBEVIRT_APP, Keys.KUBEVIRT_APP_LAUNCHER)
                      .list()
                      .getItems()
                      .stream()
                      .filter(p -> ownedBy(p, s.vmi().uid()))
                      .toList()));
    };
  }

  private static List<LauncherPod> pods(List<Pod> pods) {
    return pods.stream().map(LauncherPod::of).toList();
  }

  private static boolean ownedBy(Pod pod, String vmiUid) {
    return KubeVirt.owner(pod, ResourceType.VIRTUAL_MACHINE_INSTANCE)
        .map(OwnerReference::getUid)
        .filter(vmiUid::equals)
        .isPresent();
  }

  /** A VMI without a VM owner reference counts as the VM's (created by hand, for example). */
  private static boolean ownedBy(GenericKubernetesResource vmi, GenericKubernetesResource vm) {
    return KubeVirt.owner(vmi, ResourceType.VIRTUAL_MACHINE)
        .map(OwnerReference::getUid)
        .map(uid -> uid.equals(vm.getMetadata().getUid()))
        .orElse(true);
  }
}
