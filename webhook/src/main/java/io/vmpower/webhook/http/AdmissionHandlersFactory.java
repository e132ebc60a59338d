package io.vmpower.webhook.http;

import io.vmpower.api.admission.Mutator;
import io.vmpower.webhook.admission.AdmissionHandler;
import io.vmpower.webhook.admission.ReviewReader;
import io.vmpower.webhook.vm.VmMutator;

/** Builds the handlers the endpoints and the preview command share. */
public final class AdmissionHandlersFactory {
  private AdmissionHandlersFactory() {}

  public static AdmissionHandlers create(int maxRequestBytes, Mutator podMutator) {
    ReviewReader reader = new ReviewReader(maxRequestBytes);
    return new AdmissionHandlers(
        new AdmissionHandler("kubevirt.io", "VirtualMachine", new VmMutator(), reader),
        new AdmissionHandler("", "Pod", podMutator, reader));
  }
}
