package io.vmpower.bench.controller;

import com.sun.management.OperatingSystemMXBean;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.vmpower.api.Keys;
import io.vmpower.bench.Machine;
import io.vmpower.bench.Percentiles;
import io.vmpower.controller.ControllerSettings;
import io.vmpower.controller.PowerController;
import io.vmpower.controller.testing.FakeKubeVirt;
import io.vmpower.controller.testing.MockCluster;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryMXBean;
import java.lang.management.ThreadInfo;
import java.lang.management.ThreadMXBean;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

/**
 * The power controller with production settings against fabric8's mock API server holding N managed
 * VMs, each with a running VMI and virt-launcher pod (3N objects in the controller's caches).
 * Measures the initial sync, the heap the controller retains, the CPU it uses while nothing
 * happens, and the time from a VMI becoming final (guest reboot) to the start request reaching
 * virt-api.
 */
public final class ControllerScaleBenchmark {
  private static final String NS = MockCluster.ENABLED_NS;
  private static final String[] POLICIES = {
    "Manual", "AlwaysOnUnlessStoppedManually", "Manual", "AlwaysOnUnlessStoppedManually", "AlwaysOn"
  };

  /** How many VMs, how many reboots, how long to watch idle. */
  public record Settings(int vms, int reboots, double idleSeconds) {
    public static Settings smoke() {
      return new Settings(300, 20, 2);
    }

    public static Settings full() {
      return new Settings(10_000, 300, 30);
    }
  }

  private final Settings settings;
  private final Path out;
  private final StringBuilder report = new StringBuilder();
  private final Map<String, String> pods = new java.util.concurrent.ConcurrentHashMap<>();
  private final MemoryMXBean memory = ManagementFactory.getMemoryMXBean();
  private final OperatingSystemMXBean os =
      (OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();

  public ControllerScaleBenchmark(Settings settings, Path out) {
    this.settings = settings;
    this.out = out;
  }

  public String run() throws Exception {
    Files.createDirectories(out);
    line("## Power controller at scale (mock API server)");
    line("");
    line(Machine.describe());
    line("load average before: " + Machine.loadAverage());
    line(
        "benchmark JVM: -Xmx"
            + Runtime.getRuntime().maxMemory() / 1024 / 1024
            + "m; the mock API server, the KubeVirt stand-in and the controller share it");
    try (MockCluster cluster = MockCluster.indexed()) {
      FakeKubeVirt kubevirt = cluster.kubevirt();
      long t0 = System.nanoTime();
      populate(kubevirt);
      line(
          String.format(
              "preloaded %d VMs with a running VMI and launcher pod each (%d objects) into the mock"
                  + " server's store in %.1f s",
              settings.vms(), 3 * settings.vms(), (System.nanoTime() - t0) / 1e9));
      mockGetNanos(kubevirt);
      long heapBefore = liveHeap();

      SimpleMeterRegistry meters = new SimpleMeterRegistry();
      ControllerSettings production =
          ControllerSettings.builder()
              .leaseNamespace(MockCluster.RELEASE_NS)
              .identity("bench-controller")
              .build();
      line(
          "controller settings: production defaults (workers "
              + production.workers()
              + ", resync "
              + production.resyncPeriod()
              + ", lease "
              + production.leaseDuration()
              + "/"
              + production.renewDeadline()
              + "/"
              + production.retryPeriod()
              + ")");
      long cpu0 = os.getProcessCpuTime();
      long start = System.nanoTime();
      try (PowerController controller =
          new PowerController(cluster.client("controller"), production, meters)) {
        controller.start();
        while (reconciles(meters) < settings.vms() || queueDepth(meters) > 0) {
          Thread.sleep(20);
          if (System.nanoTime() - start > TimeUnit.MINUTES.toNanos(10)) {
            throw new IllegalStateException("initial sync did not finish in 10 minutes");
          }
        }
        line(
            String.format(
                "start to caches synced and every VM reconciled once: %.1f s, %.1f CPU-s (whole"
                    + " JVM, mock server included)",
                (System.nanoTime() - start) / 1e9, (os.getProcessCpuTime() - cpu0) / 1e9));
        long heapAfter = liveHeap();
        line(
            String.format(
                "heap: live after GC %d MiB with the controller running vs %d MiB before it"
                    + " started: **the controller retains %d MiB** (%.1f KiB per VM with its VMI"
                    + " and pod)",
                heapAfter >> 20,
                heapBefore >> 20,
                (heapAfter - heapBefore) >> 20,
                (heapAfter - heapBefore) / 1024.0 / settings.vms()));

        idle(cluster, meters);
        reboots(cluster, kubevirt);
        line(
            String.format(
                "heap after the reboots: live %d MiB (controller's share %d MiB); committed %d"
                    + " MiB",
                liveHeap() >> 20,
                (liveHeap() - heapBefore) >> 20,
                memory.getHeapMemoryUsage().getCommitted() >> 20));
      }
    }
    line("load average after: " + Machine.loadAverage());
    String text = report.toString();
    Files.writeString(out.resolve("controller.md"), text);
    return text;
  }

  private void populate(FakeKubeVirt kubevirt) throws Exception {
    ExecutorService pool = Executors.newFixedThreadPool(4);
    try {
      List<Future<?>> done = new ArrayList<>();
      for (int i = 0; i < settings.vms(); i++) {
        String name = name(i);
        String policy = POLICIES[i % POLICIES.length];
        done.add(
            pool.submit(
                () -> {
                  pods.put(name, kubevirt.preload(NS, name, policy));
                }));
      }
      for (Future<?> f : done) {
        f.get();
      }
    } finally {
      pool.shutdown();
    }
  }

  /** The mock server's own answer time for a GET by name at this size: the floor under latency. */
  private long mockGetNanos(FakeKubeVirt kubevirt) {
    Percentiles.Recorder r = new Percentiles.Recorder();
    for (int i = 0; i < 50; i++) {
      long t = System.nanoTime();
      kubevirt.vmiOrNull(NS, name(i * 7 % settings.vms()));
      r.record(System.nanoTime() - t);
    }
    Percentiles p = Percentiles.Recorder.merge(List.of(r));
    line(
        "mock API server, GET one VMI by name with "
            + 3 * settings.vms()
            + " objects stored: p50 "
            + Percentiles.ms(p.at(50))
            + " ms (store indexed by name for this benchmark; lists still scan every object)");
    return p.at(50);
  }

  private void idle(MockCluster cluster, SimpleMeterRegistry meters) throws InterruptedException {
    Thread.sleep(3000); // let the collections forced by the heap measurement settle
    double before = reconciles(meters);
    int writes = cluster.faults().writes().size();
    ThreadMXBean threads = ManagementFactory.getThreadMXBean();
    Map<Long, Long> threadCpu = new HashMap<>();
    for (long id : threads.getAllThreadIds()) {
      threadCpu.put(id, threads.getThreadCpuTime(id));
    }
    long cpu = os.getProcessCpuTime();
    long t = System.nanoTime();
    Thread.sleep((long) (settings.idleSeconds() * 1000));
    double seconds = (System.nanoTime() - t) / 1e9;
    double used = (os.getProcessCpuTime() - cpu) / 1e9;
    // Which threads used it: names without their numbers, summed.
    Map<String, Long> byName = new TreeMap<>();
    for (ThreadInfo info : threads.getThreadInfo(threads.getAllThreadIds())) {
      if (info == null) {
        continue;
      }
      long now = threads.getThreadCpuTime(info.getThreadId());
      long delta = now - threadCpu.getOrDefault(info.getThreadId(), 0L);
      if (delta > 0) {
        byName.merge(info.getThreadName().replaceAll("[-#]?\\d+", ""), delta, Long::sum);
      }
    }
    String top =
        byName.entrySet().stream()
            .sorted((a, b) -> Long.compare(b.getValue(), a.getValue()))
            .limit(4)
            .map(e -> String.format("%s %.0f ms", e.getKey(), e.getValue() / 1e6))
            .collect(Collectors.joining(", "));
    line(
        String.format(
            "idle for %.0f s: CPU %.2f%% of one core (whole JVM: controller, lease renewals, mock"
                + " server; JVM threads such as GC and JIT included), %.0f reconciles, %d write"
                + " requests (lease renewals); busiest Java threads: %s",
            seconds,
            100 * used / seconds,
            reconciles(meters) - before,
            cluster.faults().writes().size() - writes,
            top.isEmpty() ? "none" : top));
  }

  /**
   * Guest reboots on Manual / AlwaysOnUnlessStoppedManually VMs, one at a time (the next once the
   * VM runs again), so that each one's time can be split between the mock server and the
   * controller: the pod's compute container terminates with guest-reset, then the VMI goes
   * Succeeded. Latency runs from just before the VMI phase is written to the start request arriving
   * at virt-api; "mock" is the time the mock server spent handling stored state in between (the VMI
   * update, the controller's claim PATCH and fresh GET).
   */
  private void reboots(MockCluster cluster, FakeKubeVirt kubevirt) throws Exception {
    int n = settings.reboots();
    Percentiles.Recorder total = new Percentiles.Recorder();
    Percentiles.Recorder mock = new Percentiles.Recorder();
    Percentiles.Recorder own = new Percentiles.Recorder();
    int missing = 0;
    long began = System.nanoTime();
    for (int i = 0, vm = 0; i < n; vm++) {
      if ("AlwaysOn".equals(POLICIES[vm % POLICIES.length])) {
        continue;
      }
      i++;
      String name = name(vm);
      var vmi = kubevirt.vmi(NS, name);
      var pod = cluster.admin().pods().inNamespace(NS).withName(pods.get(name)).get();
      kubevirt.terminatePod(pod, FakeKubeVirt.RESET_MESSAGE);
      long mock0 = cluster.faults().crudNanos();
      long t0 = System.nanoTime();
      kubevirt.setVmiPhase(NS, name, "Succeeded");
      long[] start;
      long deadline = t0 + TimeUnit.SECONDS.toNanos(30);
      while ((start = kubevirt.lastStartRequest(NS, name))[0] < t0
          && System.nanoTime() < deadline) {
        Thread.sleep(1);
      }
      if (start[0] < t0) {
        missing++;
        continue;
      }
      total.record(start[0] - t0);
      mock.record(start[1] - mock0);
      own.record(start[0] - t0 - (start[1] - mock0));
      // Quiesce: the VM runs again (new VMI and pod) and its record is completed.
      String oldUid = vmi.getMetadata().getUid();
      while (System.nanoTime() < deadline) {
        var current = kubevirt.vmiOrNull(NS, name);
        var annotations = kubevirt.vm(NS, name).getMetadata().getAnnotations();
        String record =
            annotations == null ? "" : annotations.getOrDefault(Keys.LAST_POWER_EVENT, "");
        if (current != null
            && !oldUid.equals(current.getMetadata().getUid())
            && record.contains(oldUid)
            && record.contains("\"state\":\"Done\"")) {
          break;
        }
        Thread.sleep(20);
      }
    }
    Percentiles p = Percentiles.Recorder.merge(List.of(total));
    Percentiles m = Percentiles.Recorder.merge(List.of(mock));
    Percentiles o = Percentiles.Recorder.merge(List.of(own));
    line(
        String.format(
            "VMI final → start request at virt-api, %d guest reboots one at a time (%.0f s):"
                + " **p50 %s ms, p99 %s ms**, max %s ms%s; of which the mock server's own"
                + " handling p50 %s / p99 %s ms; the rest (controller, client, event delivery)"
                + " p50 %s / p99 %s ms",
            p.count(),
            (System.nanoTime() - began) / 1e9,
            Percentiles.ms(p.at(50)),
            Percentiles.ms(p.at(99)),
            Percentiles.ms(p.max()),
            missing == 0 ? "" : ", " + missing + " never started",
            Percentiles.ms(m.at(50)),
            Percentiles.ms(m.at(99)),
            Percentiles.ms(o.at(50)),
            Percentiles.ms(o.at(99))));
  }

  private static String name(int i) {
    return String.format("vm-%05d", i);
  }

  private static double reconciles(SimpleMeterRegistry meters) {
    return meters.find("vmpower.controller.reconcile").timers().stream()
        .mapToDouble(Timer::count)
        .sum();
  }

  private static double queueDepth(SimpleMeterRegistry meters) {
    Gauge g = meters.find("vmpower.controller.queue.depth").gauge();
    return g == null ? 0 : g.value();
  }

  /** Heap in use after a full collection: what is retained, not what is waiting to be collected. */
  private long liveHeap() throws InterruptedException {
    for (int i = 0; i < 3; i++) {
      System.gc();
      Thread.sleep(100);
    }
    return memory.getHeapMemoryUsage().getUsed();
  }

  private void line(String s) {
    System.out.println(s);
    report.append(s).append('\n');
  }
}
