package io.vmpower.controller;

import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.Namespace;
import io.fabric8.kubernetes.api.model.OwnerReference;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import io.fabric8.kubernetes.client.informers.cache.Cache;
import io.vmpower.api.Keys;
import io.vmpower.api.ResourceType;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Everything that runs while this replica leads: informers, the work queue and its workers. A new
 * session starts from scratch (fresh caches, a full resync) each time leadership is gained, which
 * is also how nothing is lost across restarts: the state lives in the cluster, not here. What it
 * talks to besides the informers (virt-api, Events, the clock) is handed in.
 */
final class Session implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(Session.class);
  private static final String VMI_UID_INDEX = "vmiUid";

  private final KubernetesClient client;
  private final ControllerSettings settings;
  private final ControllerMetrics metrics;
  private final BooleanSupplier leader;
  private final VirtApi virtApi;
  private final Events events;
  private final Clock clock;
  private final WorkQueue queue;
  private final List<SharedIndexInformer<?>> informers = new ArrayList<>();
  private final List<Thread> threads = new ArrayList<>();
  private volatile boolean closed;

  private SharedIndexInformer<Namespace> namespaces;
  private SharedIndexInformer<GenericKubernetesResource> vms;
  private SharedIndexInformer<GenericKubernetesResource> vmis;
  private SharedIndexInformer<Pod> pods;

  Session(
      KubernetesClient client,
      ControllerSettings settings,
      ControllerMetrics metrics,
      BooleanSupplier leader,
      VirtApi virtApi,
      Events events,
      Clock clock) {
    this.client = client;
    this.settings = settings;
    this.metrics = metrics;
    this.leader = leader;
    this.virtApi = virtApi;
    this.events = events;
    this.clock = clock;
    this.queue = new WorkQueue(settings.backoffBase(), settings.backoffMax());
    metrics.queue(queue::depth);
  }

  /** Starts informers now and workers once all caches have synced; does not block. */
  synchronized void start() {
    long resync = settings.resyncPeriod().toMillis();
    namespaces = client.namespaces().withLabel(Keys.ENABLED, "true").runnableInformer(resync);
    vms = client.genericKubernetesResources(KubeVirt.VM).inAnyNamespace().runnableInformer(resync);
    vmis =
        client.genericKubernetesResources(KubeVirt.VMI).inAnyNamespace().runnableInformer(resync);
    pods =
        client
            .pods()
            .inAnyNamespace()
            .withLabel(Keys.KUBEVIRT_APP, Keys.KUBEVIRT_APP_LAUNCHER)
            .runnableInformer(resync);
    pods.addIndexers(
        Map.of(
            VMI_UID_INDEX,
            pod ->
                KubeVirt.owner(pod, ResourceType.VIRTUAL_MACHINE_INSTANCE)
                    .map(OwnerReference::getUid)
                    .map(List::of)
                    .orElse(List.of())));

    namespaces.addEventHandler(
        handler(ns -> vmKeysIn(ns.getMetadata().getName()).forEach(queue::add)));
    vms.addEventHandler(handler(vm -> queue.add(Cache.metaNamespaceKeyFunc(vm))));
    vmis.addEventHandler(
        handler(
            vmi ->
                KubeVirt.owner(vmi, ResourceType.VIRTUAL_MACHINE)
                    .map(OwnerReference::getName)
                    .ifPresent(vm -> queue.add(vmi.getMetadata().getNamespace() + "/" + vm))));
    pods.addEventHandler(
        handler(
            pod ->
                KubeVirt.owner(pod, ResourceType.VIRTUAL_MACHINE_INSTANCE)
                    .map(OwnerReference::getName)
                    .ifPresent(vmi -> queue.add(pod.getMetadata().getNamespace() + "/" + vmi))));

    List<CompletableFuture<Void>> started = new ArrayList<>();
    for (SharedIndexInformer<?> informer : List.of(namespaces, vms, vmis, pods)) {
      // Keep retrying whatever the error (a failing list at start, a dropped watch): the
      // informer relists and the handlers see every change as an update. Its start future
      // completes once the first list and watch succeeded, however many attempts that took.
      informer.exceptionHandler((first, t) -> !closed);
      informers.add(informer);
      started.add(informer.start().toCompletableFuture());
    }

    TerminationWaits waits = new TerminationWaits();
    Gatherer gatherer =
        new Gatherer(
            client,
            new Gatherer.Caches(
                key -> vms.getStore().getByKey(key),
                key -> vmis.getStore().getByKey(key),
                uid -> pods.getIndexer().byIndex(VMI_UID_INDEX, uid),
                ns -> namespaces.getStore().getByKey(ns) != null),
            waits,
            clock);
    Reconciler reconciler =
        new Reconciler(
            gatherer,
            new PowerDecision(settings.podTerminationWait(), settings.restartLimits()),
            new Actuator(client, gatherer, virtApi, events, metrics, leader, waits, clock));

    // Stopped informers complete their futures exceptionally: no workers after close().
    CompletableFuture.allOf(started.toArray(CompletableFuture[]::new))
        .thenRun(() -> startWorkers(reconciler));
  }

  private void startWorkers(Reconciler reconciler) {
    if (closed) {
      return;
    }
    log.info("caches synced; starting {} workers", settings.workers());
    // Level-triggered start: every VM is looked at once, whatever happened while no replica was
    // leading.
    vms.getStore().list().forEach(vm -> queue.add(Cache.metaNamespaceKeyFunc(vm)));
    for (int i = 0; i < settings.workers(); i++) {
      Thread worker = new Thread(() -> work(reconciler), "vmpower-worker-" + i);
      worker.setDaemon(true);
      synchronized (this) {
        if (closed) {
          return;
        }
        threads.add(worker);
      }
      worker.start();
    }
  }

  private void work(Reconciler reconciler) {
    while (!closed) {
      Optional<String> next;
      try {
        next = queue.take();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      }
      if (next.isEmpty()) {
        return;
      }
      String key = next.get();
      long started = System.nanoTime();
      String outcome = "ok";
      try {
        Optional<Duration> again = reconciler.reconcile(key);
        queue.forget(key);
        if (again.isPresent()) {
          outcome = "requeue";
          queue.addAfter(key, again.get());
        }
      } catch (Actuator.NotLeaderException e) {
        outcome = "not-leader";
      } catch (RuntimeException e) {
        outcome = "error";
        if (closed) {
          return;
        }
        metrics.error("reconcile");
        Duration delay = queue.addRateLimited(key);
        log.warn(
            "reconcile of VirtualMachine {} failed, retrying in {}: {}", key, delay, e.toString());
      } finally {
        queue.done(key);
        metrics.reconciled(Duration.ofNanos(System.nanoTime() - started), outcome);
      }
    }
  }

  private List<String> vmKeysIn(String namespace) {
    return vms == null
        ? List.of()
        : vms.getIndexer().byIndex(Cache.NAMESPACE_INDEX, namespace).stream()
            .map(Cache::metaNamespaceKeyFunc)
            .toList();
  }

  private static <T extends HasMetadata> ResourceEventHandler<T> handler(Consumer<T> enqueue) {
    return new ResourceEventHandler<>() {
      @Override
      public void onAdd(T obj) {
        enqueue.accept(obj);
      }

      @Override
      public void onUpdate(T oldObj, T newObj) {
        enqueue.accept(newObj);
      }

      @Override
      public void onDelete(T obj, boolean deletedFinalStateUnknown) {
        enqueue.accept(obj);
      }
    };
  }

  /** Stops at once: no new reconcile starts, workers are interrupted, informers stopped. */
  @Override
  public void close() {
    List<Thread> toStop;
    synchronized (this) {
      closed = true;
      toStop = List.copyOf(threads);
    }
    queue.close();
    toStop.forEach(Thread::interrupt);
    informers.forEach(SharedIndexInformer::stop);
    metrics.queue(() -> 0);
  }
}
