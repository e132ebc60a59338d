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
 * Kubernetes Events on VMs, shown by {@code kubectl describe vm} (and on namespaces). An Event
 * about one power event gets a name derived from the VM and that event, so writing it twice (after
 * a restart, or by two leaders in a hand-over) yields one Event: the second create answers
 * AlreadyExists.
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
    return emit(
        vm.namespace(),
        ResourceType.VIRTUAL_MACHINE,
        vm.namespace(),
        vm.name(),
        vm.uid(),
        dedupKey,
        reason,
        message);
  }

  /**
   * An Event on a Namespace, written into that namespace (where its users list Events); {@code
   * dedupKey} as for VMs.
   */
  boolean emitOnNamespace(
      String namespace, String uid, String dedupKey, EventReason reason, String message) {
    return emit(
        namespace, ResourceType.NAMESPACE, namespace, namespace, uid, dedupKey, reason, message);
  }

  private boolean emit(
      String ns,
      ResourceType type,
      String objectNamespace,
      String objectName,
      String objectUid,
      String dedupKey,
      EventReason reason,
      String message) {
    String now = clock.instant().toString();
    EventBuilder event =
        new EventBuilder()
            .withNewMetadata()
            .withNamespace(ns)
            .endMetadata()
            .withNewInvolvedObject()
            .withApiVersion(type.apiVersion())
            .withKind(type.kind())
            .withNamespace(objectNamespace)
            .withName(objectName)
            .withUid(objectUid)
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
      event.editMetadata().withGenerateName(prefix(objectName)).endMetadata();
    } else {
      event
          .editMetadata()
          .withName(prefix(objectName) + hash(objectUid + "/" + dedupKey + "/" + reason))
          .endMetadata();
    }
    Event built = event.build();
    String what = type.kind() + " " + (type == ResourceType.NAMESPACE ? "" : ns + "/") + objectName;
    try {
      client.v1().events().inNamespace(ns).resource(built).create();
      log.info("event on {}: {} {}: {}", what, reason.type(), reason, message);
      return true;
    } catch (KubernetesClientException e) {
      if (e.getCode() == 409) {
        return true; // this very Event exists: written before a restart or by the previous leader
      }
      metrics.error("event");
      log.warn("could not record event {} on {}: {}", reason, what, e.getMessage());
      return false;
    }
  }

  private static String prefix(String objectName) {
    String base = objectName.length() > 200 ? objectName.substring(0, 200) : objectName;
    return base + ".vmpower.";
  }

  /** The first 8 bytes of the text's SHA-256, in hex: a short, stable key for names. */
  static String hash(String text) {
    try {
      byte[] d = MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8));
      return HexFormat.of().formatHex(d, 0, 8);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
