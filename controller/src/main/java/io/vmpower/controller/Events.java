package io.vmpower.controller;

import io.fabric8.kubernetes.api.model.Event;
import io.fabric8.kubernetes.api.model.EventBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.vmpower.api.ResourceType;
import io.vmpower.controller.Outcome.EventReason;
import io.vmpower.controller.VmSnapshot.Vm;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Clock;
import java.util.HexFormat;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Kubernetes Events on VMs, shown by {@code kubectl describe vm}. An Event about one power event
 * gets a name derived from the VM and that event, so writing it twice (after a restart, or by two
 * leaders in a hand-over) yields one Event: the second create answers AlreadyExists.
 */
final class Events {
  static final String COMPONENT = "vmpower-controller";
  private static final Logger log = LoggerFactory.getLogger(Events.class);

  private final KubernetesClient client;
  private final String identity;
  private final ControllerMetrics metrics;
  private final Clock clock;

  Events(KubernetesClient client, String identity, ControllerMetrics metrics, Clock clock) {
    this.client = client;
    this.identity = identity;
    this.metrics = metrics;
    this.clock = clock;
  }

  /**
   * Records the Event for an action or decision; a failure propagates so that the key is retried
   * (the action itself is recorded as done only after its Event exists).
   */
  void require(Vm vm, String dedupKey, EventReason reason, String message) {
    if (!emit(vm, dedupKey, reason, message)) {
      throw new IllegalStateException("could not record event " + reason);
    }
  }

  /**
   * Records an Event; {@code dedupKey} identifies the occurrence (null: always a new Event).
   * Returns false (logged and counted) when it could not be written.
   */
  boolean emit(Vm vm, String dedupKey, EventReason reason, String message) {
    String ns = vm.namespace();
    String vmName = vm.name();
    String now = clock.instant().toString();
    EventBuilder event =
        new EventBuilder()
            .withNewMetadata()
            .withNamespace(ns)
            .endMetadata()
            .withNewInvolvedObject()
            .withApiVersion(ResourceType.VIRTUAL_MACHINE.apiVersion())
            .withKind(ResourceType.VIRTUAL_MACHINE.kind())
            .withNamespace(ns)
            .withName(vmName)
            .withUid(vm.uid())
            .endInvolvedObject()
            .withReason(reason.name())
            .withMessage(message)
            .withType(reason.type())
            .withNewSource()
            .withComponent(COMPONENT)
            .endSource()
            .withReportingComponent("vmpower.io/controller")
            .withReportingInstance(identity)
            .withFirstTimestamp(now)
            .withLastTimestamp(now)
            .withCount(1);
    if (dedupKey == null) {
      event.editMetadata().withGenerateName(prefix(vmName)).endMetadata();
    } else {
      event
          .editMetadata()
          .withName(prefix(vmName) + hash(vm.uid() + "/" + dedupKey + "/" + reason))
          .endMetadata();
    }
    Event built = event.build();
    try {
      client.v1().events().inNamespace(ns).resource(built).create();
      log.info(
          "event on VirtualMachine {}/{}: {} {}: {}", ns, vmName, reason.type(), reason, message);
      return true;
    } catch (KubernetesClientException e) {
      if (e.getCode() == 409) {
        return true; // this very Event exists: written before a restart or by the previous leader
      }
      metrics.error("event");
      log.warn(
          "could not record event {} on VirtualMachine {}/{}: {}",
          reason,
          ns,
          vmName,
          e.getMessage());
      return false;
    }
  }

  private static String prefix(String vmName) {
    String base = vmName.length() > 200 ? vmName.substring(0, 200) : vmName;
    return base + ".vmpower.";
  }

  private static String hash(String text) {
    try {
      byte[] d = MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8));
      return HexFormat.of().formatHex(d, 0, 8);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
