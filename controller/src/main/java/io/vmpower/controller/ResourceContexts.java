package io.vmpower.controller;

import io.fabric8.kubernetes.client.dsl.base.ResourceDefinitionContext;
import io.vmpower.api.ResourceType;

/**
 * fabric8's view of an {@link ResourceType}: what its generic clients and informers need to reach
 * KubeVirt's resources (here and in the server's caches and CLI).
 */
public final class ResourceContexts {
  private ResourceContexts() {}

  /** A namespaced resource of {@code type}. */
  public static ResourceDefinitionContext of(ResourceType type) {
    return new ResourceDefinitionContext.Builder()
        .withGroup(type.group())
        .withVersion(type.version())
        .withKind(type.kind())
        .withPlural(type.plural())
        .withNamespaced(true)
        .build();
  }
}
