package io.vmpower.webhook;

import io.vmpower.webhook.cli.VmPowerCli;
import org.springframework.boot.SpringApplication;
import org.springframework.context.ConfigurableApplicationContext;

/**
 * One jar, two uses: without a command it runs the server; {@code preview} (and {@code help}) run
 * the offline CLI without starting Spring.
 */
public final class VmPowerMain {
  private VmPowerMain() {}

  public static void main(String[] args) {
    if (args.length > 0 && VmPowerCli.isCliCommand(args[0])) {
      // stdout carries the manifest: logs (warnings only) go to stderr. Set before any logger
      // exists.
      System.setProperty("logback.configurationFile", "logback-cli.xml");
      System.exit(VmPowerCli.run(args));
    }
    CryptoPreload.start();
    ConfigurableApplicationContext context = SpringApplication.run(VmPowerApplication.class, args);
    if (TrainingRun.requested(context)) {
      System.exit(TrainingRun.finish(context));
    }
  }
}
