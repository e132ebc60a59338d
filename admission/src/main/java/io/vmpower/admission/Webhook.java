package io.vmpower.admission;

import io.vmpower.api.ResourceType;

/**
 * One admission webhook: the path it is served at and the handler that answers it.
 *
 * @param path the URL path the MutatingWebhookConfiguration names, e.g. {@code
 *     /mutate-virtualmachines}
 */
public record Webhook(String path, AdmissionHandler handler) {
  /** What it reviews. */
  public ResourceType type() {
    return handler.type();
  }

  /** Its name in logs and metrics ({@code endpoint} tag): the resource, e.g. {@code pods}. */
  public String name() {
    return handler.type().plural();
  }
}
