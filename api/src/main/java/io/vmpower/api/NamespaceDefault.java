package io.vmpower.api;

/**
 * A namespace's default run policy ({@link Keys#DEFAULT_RUN_POLICY}) as the VM webhook and the
 * controller see it.
 */
public sealed interface NamespaceDefault {

  /** No default: VMs without their own policy are not managed. */
  record None() implements NamespaceDefault {}

  /** A default every VM without its own policy gets. */
  record Valid(RunPolicy policy) implements NamespaceDefault {}

  /**
   * A value that is no policy: ignored (VM writes are never blocked by it), reported on the
   * namespace.
   */
  record Invalid(String value) implements NamespaceDefault {}

  /** The webhook has not loaded the namespaces yet: it cannot tell which default applies. */
  record NotLoaded() implements NamespaceDefault {}

  NamespaceDefault NONE = new None();
  NamespaceDefault NOT_LOADED = new NotLoaded();

  /**
   * The default an annotation value gives; {@code null} (no annotation) is none. The legacy alias
   * is accepted as on VMs.
   */
  static NamespaceDefault of(String annotation) {
    if (annotation == null) {
      return NONE;
    }
    return RunPolicy.parse(annotation)
        .<NamespaceDefault>map(p -> new Valid(p.policy()))
        .orElseGet(() -> new Invalid(annotation));
  }
}
