package io.vmpower.injector;

import io.vmpower.api.Keys;
import java.util.ArrayList;
import java.util.List;

/**
 * The {@code postStart} exec hook that starts the domain monitor in the {@code compute} container,
 * next to the launcher (DESIGN.md section 3).
 *
 * <p>Why a hook and not a wrapper around the container's command: KubeVirt's default launcher runs
 * as uid 107 with {@code allowPrivilegeEscalation: false}, and only the file capability of {@code
 * virt-launcher-monitor} gives it the capability it hands to virt-launcher. A shell exec'd before
 * it holds none, and under no_new_privs the file capability then grants none either: the launcher
 * fails ({@code fork/exec /usr/bin/virt-launcher: operation not permitted}; e2e/README.md, "What
 * the real node showed"). The hook leaves the command as KubeVirt wrote it; the monitor needs no
 * capability.
 *
 * <p>The hook is {@code /bin/bash -c <text> vmpower-poststart <launcher command...> <args...>}: the
 * monitor reads the domain name from the launcher's argv, the same argv the container runs (from
 * the pod spec, so no look at another process is needed). The text starts the monitor in the
 * background with stdin, stdout and stderr away from the hook's (the runtime's exec returns only
 * when they are closed) and exits 0 at once: a failing hook makes the kubelet kill the container.
 */
final class MonitorHook {
  /** {@code $0} of the hook's shell. */
  static final String NAME = "vmpower-poststart";

  static final String DEFAULT_TERMINATION_LOG = "/dev/termination-log";

  /**
   * Where the monitor logs: the launcher's stderr, i.e. the container's log ({@code kubectl logs -c
   * compute}), when it may open it (a root launcher), else this file in the launcher's private
   * emptyDir (a non-root launcher: its {@code /proc/1/fd} is closed to other processes, as the
   * launcher gained a file capability; seen on the node, e2e/README.md).
   */
  static final String LOG = "/proc/1/fd/2:" + MonitorHook.LOG_FILE;

  /** The monitor's log file when the launcher's stderr is closed to it. */
  static final String LOG_FILE = "/var/run/kubevirt-private/vmpower-domain-monitor.log";

  /** In the container's PID namespace the launcher is PID 1 (KubeVirt shares no PID namespace). */
  static final String LAUNCHER_PID = "1";

  private final String script;

  /** The text for the default termination log, built once: quoting the script costs. */
  private final String defaultText;

  MonitorHook(String script) {
    this.script = script;
    this.defaultText = buildText(DEFAULT_TERMINATION_LOG);
  }

  /** The hook's exec command for a container with that termination log and launcher argv. */
  List<String> command(String terminationLog, List<String> launcherArgv) {
    List<String> command = new ArrayList<>(launcherArgv.size() + 4);
    command.add("/bin/bash");
    command.add("-c");
    command.add(text(terminationLog));
    command.add(NAME);
    command.addAll(launcherArgv);
    return command;
  }

  /** The hook's shell text; the same instance for the default termination log. */
  String text(String terminationLog) {
    return DEFAULT_TERMINATION_LOG.equals(terminationLog) ? defaultText : buildText(terminationLog);
  }

  private String buildText(String terminationLog) {
    String terminationLogSetting =
        DEFAULT_TERMINATION_LOG.equals(terminationLog)
            ? ""
            : "VMPOWER_TERMINATION_LOG=" + singleQuoted(terminationLog) + " ";
    return "# vmpower: start the domain monitor next to the launcher ("
        + Keys.INJECTION_STATUS
        + ")\n"
        + "VMPOWER_LAUNCHER_PID="
        + LAUNCHER_PID
        + " VMPOWER_LOG="
        + LOG
        + " "
        + terminationLogSetting
        + "/bin/bash -c "
        + singleQuoted(script)
        + " vmpower-domain-monitor \"$@\" </dev/null >/dev/null 2>&1 &\n"
        + "exit 0\n";
  }

  /** POSIX single quoting: the only character needing care inside '...' is ' itself. */
  static String singleQuoted(String text) {
    return "'" + text.replace("'", "'\\''") + "'";
  }
}
