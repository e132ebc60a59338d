package io.vmpower.webhook;

/** Entry point: placeholder until the application lands. */
public final class VmPowerMain {
  private VmPowerMain() {}

  public static void main(String[] args) {}
}
