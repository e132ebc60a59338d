package io.vmpower.e2e;

import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSliceBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.util.Map;

/**
 * What the EndpointSlice controller writes for a ready pod behind a Service (there is no
 * controller-manager here). The API server reaches webhooks and APIServices through these; it
 * refuses loopback addresses in them, hence the machine's own address (README.md).
 */
final class EndpointSlices {
  private final KubernetesClient client;

  EndpointSlices(KubernetesClient client) {
    this.client = client;
  }

  /**
   * The endpoint {@code ip:port} of Service {@code service}, ready, under the slice {@code name}.
   */
  void ready(String namespace, String service, String name, String ip, String portName, int port) {
    client
        .discovery()
        .v1()
        .endpointSlices()
        .inNamespace(namespace)
        .resource(
            new EndpointSliceBuilder()
                .withNewMetadata()
                .withNamespace(namespace)
                .withName(name)
                .withLabels(
                    Map.of(
                        "kubernetes.io/service-name",
                        service,
                        "endpointslice.kubernetes.io/managed-by",
                        "vmpower-e2e"))
                .endMetadata()
                .withAddressType("IPv4")
                .addNewEndpoint()
                .withAddresses(ip)
                .withNewConditions()
                .withReady(true)
                .endConditions()
                .endEndpoint()
                .addNewPort()
                .withName(portName)
                .withPort(port)
                .withProtocol("TCP")
                .endPort()
                .build())
        .createOr(existing -> existing.update());
  }

  void remove(String namespace, String name) {
    client.discovery().v1().endpointSlices().inNamespace(namespace).withName(name).delete();
  }
}
