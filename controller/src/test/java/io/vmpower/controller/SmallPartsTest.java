package io.vmpower.controller;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.vmpower.controller.VirtApi.StartResult;
import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.Test;

/** The queue, virt-api answer classification and the record format. */
class SmallPartsTest {

  @Test
  void virtApiAnswersThatMeanDone() {
    assertThat(VirtApi.classify(202, "")).isEqualTo(StartResult.STARTED);
    assertThat(
            VirtApi.classify(
                409,
                status(
                    "Operation cannot be fulfilled on virtualmachine.kubevirt.io \"vm\": VM is already running")))
        .isEqualTo(StartResult.ALREADY_RUNNING);
    assertThat(
            VirtApi.classify(
                500,
                status(
                    "Internal error occurred: unable to complete request: stop/start already underway")))
        .isEqualTo(StartResult.ALREADY_UNDERWAY);
    assertThat(
            VirtApi.classify(
                409,
                status(
                    "Operation cannot be fulfilled on virtualmachine.kubevirt.io \"vm\": Always does not support manual start requests")))
        .isEqualTo(StartResult.NOT_MANUAL);
    assertThat(VirtApi.classify(404, status("virtualmachine.kubevirt.io \"vm\" not found")))
        .isEqualTo(StartResult.VM_GONE);
  }

  @Test
  void otherAnswersAreRetried() {
    assertThatThrownBy(() -> VirtApi.classify(500, status("etcdserver: request timed out")))
        .isInstanceOf(VirtApi.StartFailedException.class)
        .hasMessageContaining("500")
        .hasMessageContaining("etcdserver");
    // The API server's own 404: subresources.kubevirt.io is not served (virt-api missing).
    assertThatThrownBy(
            () -> VirtApi.classify(404, status("the server could not find the requested resource")))
        .isInstanceOf(VirtApi.StartFailedException.class)
        .hasMessageContaining("subresources.kubevirt.io");
    // virt-api's own JSON-patch test failed: a concurrent state change, look again.
    assertThatThrownBy(
            () -> VirtApi.classify(409, status("jsonpatch test operation does not apply")))
        .isInstanceOf(VirtApi.StartFailedException.class);
  }

  @Test
  void recordRoundTripsAndIgnoresGarbage() {
    PowerEventRecord r =
        PowerEventRecord.starting("uid-1", "guest-reset", Instant.parse("2026-11-01T10:00:00Z"));
    PowerEventRecord back = PowerEventRecord.parse(r.toJson()).orElseThrow();
    assertThat(back).isEqualTo(r);
    assertThat(back.isDone()).isFalse();
    assertThat(back.completed(Instant.EPOCH).isDone()).isTrue();
    assertThat(back.isFor("uid-1")).isTrue();
    assertThat(back.isFor("uid-2")).isFalse();
    assertThat(PowerEventRecord.parse("not json")).isEmpty();
    assertThat(PowerEventRecord.parse("{\"reason\":\"x\"}")).isEmpty();
    assertThat(PowerEventRecord.parse(null)).isEmpty();
  }

  @Test
  void queueHandsAKeyToOneWorkerAndRequeuesChangesMadeMeanwhile() throws Exception {
    try (WorkQueue q = new WorkQueue(Duration.ofMillis(10), Duration.ofMillis(80))) {
      q.add("ns/a");
      q.add("ns/a");
      q.add("ns/b");
      assertThat(q.depth()).isEqualTo(2);
      String first = q.take().orElseThrow();
      assertThat(first).isEqualTo("ns/a");
      q.add("ns/a"); // changed while being processed: not handed out twice at once
      assertThat(q.take().orElseThrow()).isEqualTo("ns/b");
      assertThat(q.depth()).isZero();
      q.done("ns/a");
      assertThat(q.take().orElseThrow()).isEqualTo("ns/a");
    }
  }

  @Test
  void backoffDoublesUpToTheCap() {
    try (WorkQueue q = new WorkQueue(Duration.ofMillis(10), Duration.ofMillis(80))) {
      assertThat(q.backoff(1)).isEqualTo(Duration.ofMillis(10));
      assertThat(q.backoff(2)).isEqualTo(Duration.ofMillis(20));
      assertThat(q.backoff(4)).isEqualTo(Duration.ofMillis(80));
      assertThat(q.backoff(5)).isEqualTo(Duration.ofMillis(80));
      assertThat(q.backoff(100)).isEqualTo(Duration.ofMillis(80));
    }
  }

  @Test
  void rateLimitedKeysComeBackAfterTheirDelay() throws Exception {
    try (WorkQueue q = new WorkQueue(Duration.ofMillis(50), Duration.ofSeconds(1))) {
      long t0 = System.nanoTime();
      assertThat(q.addRateLimited("ns/a")).isEqualTo(Duration.ofMillis(50));
      assertThat(q.take().orElseThrow()).isEqualTo("ns/a");
      assertThat(Duration.ofNanos(System.nanoTime() - t0))
          .isGreaterThanOrEqualTo(Duration.ofMillis(45));
      q.done("ns/a");
      assertThat(q.addRateLimited("ns/a")).isEqualTo(Duration.ofMillis(100));
      q.forget("ns/a");
      assertThat(q.addRateLimited("ns/a")).isEqualTo(Duration.ofMillis(50));
    }
  }

  private static String status(String message) {
    var node = com.fasterxml.jackson.databind.json.JsonMapper.builder().build().createObjectNode();
    node.put("kind", "Status").put("status", "Failure").put("message", message);
    return node.toString();
  }
}
