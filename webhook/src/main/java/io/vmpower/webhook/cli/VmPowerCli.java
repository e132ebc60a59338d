package io.vmpower.webhook.cli;

import java.io.PrintWriter;
import java.util.Set;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * The command line: {@code vmpower} (server), {@code vmpower preview} and {@code vmpower status}.
 */
@Command(
    name = "vmpower",
    mixinStandardHelpOptions = true,
    versionProvider = VmPowerCli.Version.class,
    description = {
      "Run policies and reboot-as-restart for KubeVirt VMs.",
      "Without a command, runs the webhook server (Spring Boot options such as --server.port=8443 apply)."
    },
    subcommands = {PreviewCommand.class, StatusCommand.class, CommandLine.HelpCommand.class})
public final class VmPowerCli {
  private static final Set<String> COMMANDS =
      Set.of("preview", "status", "help", "-h", "--help", "-V", "--version");

  public static boolean isCliCommand(String firstArgument) {
    return COMMANDS.contains(firstArgument);
  }

  public static int run(String... args) {
    return run(new PrintWriter(System.out, true), new PrintWriter(System.err, true), args);
  }

  public static int run(PrintWriter out, PrintWriter err, String... args) {
    CommandLine cli = new CommandLine(new VmPowerCli());
    cli.setOut(out);
    cli.setErr(err);
    return cli.execute(args);
  }

  static final class Version implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() {
      return new String[] {"vmpower " + io.vmpower.api.VmPowerVersion.get()};
    }
  }
}
