package io.vmpower.api.status;

import io.vmpower.api.Keys;
import java.util.Optional;

/** The value of the VM annotation {@link Keys#MAINTENANCE}: {@code "true"} or {@code "false"}. */
public final class Maintenance {
  private Maintenance() {}

  public static final String ON = "true";
  public static final String OFF = "false";

  /**
   * Whether the value puts the VM into maintenance; empty for a value that is neither (the VM
   * webhook denies it, everything else reads it as off).
   */
  public static Optional<Boolean> parse(String value) {
    if (value == null || OFF.equals(value)) {
      return Optional.of(false);
    }
    return ON.equals(value) ? Optional.of(true) : Optional.empty();
  }

  /** On only for exactly {@code "true"}. */
  public static boolean isOn(String value) {
    return ON.equals(value);
  }
}
