package io.vmpower.bench.mutation;

import io.vmpower.admission.AdmissionHandler;
import io.vmpower.admission.Webhooks;
import io.vmpower.api.ResourceType;
import io.vmpower.bench.ReviewBodies;
import io.vmpower.bench.ReviewBodies.Size;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

/**
 * One AdmissionReview through the same code path as the HTTPS endpoints, without HTTP: parse the
 * body, mutate, diff into a JSON patch, serialize the answer.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
public class MutationBenchmark {
  @Param({"SMALL", "LARGE"})
  public Size size;

  private AdmissionHandler vms;
  private AdmissionHandler pods;
  private byte[] vmCreate;
  private byte[] vmUpdate;
  private byte[] podCreate;

  @Setup
  public void setUp() {
    Webhooks webhooks = Webhooks.create(7 * 1024 * 1024);
    vms = webhooks.of(ResourceType.VIRTUAL_MACHINE).handler();
    pods = webhooks.of(ResourceType.POD).handler();
    vmCreate = ReviewBodies.vmCreate(size, "4a9b2c3d-0000-4000-8000-000000000001");
    vmUpdate = ReviewBodies.vmUpdate(size, "4a9b2c3d-0000-4000-8000-000000000002");
    podCreate = ReviewBodies.podCreate(size, "4a9b2c3d-0000-4000-8000-000000000003");
    // A benchmark of the wrong answer is worthless: the reviews must be answered as in production.
    expect(vms.handle(vmCreate), "mutated");
    expect(vms.handle(vmUpdate), "unchanged");
    expect(pods.handle(podCreate), "mutated");
  }

  private static void expect(AdmissionHandler.Result result, String decision) {
    if (result.httpStatus() != 200 || !result.summary().decision().equals(decision)) {
      throw new IllegalStateException(
          "expected " + decision + ", got " + result.httpStatus() + " " + result.summary());
    }
  }

  /** VM CREATE with a policy and spec.running: a patch of 5 operations (4 before issue 15). */
  @Benchmark
  public AdmissionHandler.Result vmCreate() {
    return vms.handle(vmCreate);
  }

  /** VM UPDATE that keeps its policy (object and oldObject): no patch. */
  @Benchmark
  public AdmissionHandler.Result vmUpdate() {
    return vms.handle(vmUpdate);
  }

  /** virt-launcher pod CREATE: the domain monitor injected (a patch carrying the script). */
  @Benchmark
  public AdmissionHandler.Result podCreate() {
    return pods.handle(podCreate);
  }
}
