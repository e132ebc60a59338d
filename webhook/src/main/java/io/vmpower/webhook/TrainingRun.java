package io.vmpower.webhook;

import java.io.IOException;
import java.net.HttpURLConnection;
import java.net.URI;
import java.time.Duration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.boot.SpringApplication;
import org.springframework.context.ConfigurableApplicationContext;

/**
 * {@code vmpower.training-run=true}: the training run that creates the class data sharing archive
 * ({@code prepare-cds.sh}, with {@code -XX:ArchiveClassesAtExit}). The server starts completely, as
 * in a pod (certificates, the TLS connector, the management port), answers one readiness probe,
 * then shuts down and exits, so that everything a start loads goes into the archive. Spring's
 * {@code -Dspring.context.exit=onRefresh} would exit before the web servers and the management
 * context start, about a sixth of the classes.
 */
final class TrainingRun {
  private static final Logger log = LoggerFactory.getLogger(TrainingRun.class);

  static final String PROPERTY = "vmpower.training-run";
  private static final Duration PROBE_TIMEOUT = Duration.ofSeconds(30);

  private TrainingRun() {}

  static boolean requested(ConfigurableApplicationContext context) {
    return context.getEnvironment().getProperty(PROPERTY, Boolean.class, false);
  }

  /**
   * Asks the readiness probe as the kubelet would, then closes the context.
   *
   * @return the exit status: 0 when the probe answered 200 and the context closed cleanly
   */
  static int finish(ConfigurableApplicationContext context) {
    return finish(context, PROBE_TIMEOUT);
  }

  static int finish(ConfigurableApplicationContext context, Duration probeTimeout) {
    Integer port = context.getEnvironment().getProperty("local.management.port", Integer.class);
    boolean ready;
    if (port == null) {
      // No separate management port: the probe would need the admission port's certificate.
      log.atWarn().log("training run: no management port, readiness not probed");
      ready = true;
    } else {
      ready =
          probe(
              URI.create("http://127.0.0.1:" + port + "/actuator/health/readiness"), probeTimeout);
    }
    int exit = SpringApplication.exit(context);
    log.atInfo()
        .addKeyValue("ready", ready)
        .addKeyValue("exitCode", exit)
        .log("training run finished");
    return ready ? exit : 1;
  }

  private static boolean probe(URI uri, Duration timeout) {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (true) {
      int status = -1;
      try {
        HttpURLConnection c = (HttpURLConnection) uri.toURL().openConnection();
        c.setConnectTimeout(1000);
        c.setReadTimeout(5000);
        try {
          status = c.getResponseCode();
        } finally {
          c.disconnect();
        }
      } catch (IOException e) {
        // not answering yet
      }
      if (status == 200) {
        return true;
      }
      if (System.nanoTime() > deadline) {
        log.atError()
            .addKeyValue("status", status)
            .log("training run: readiness probe did not answer 200 within " + timeout);
        return false;
      }
      try {
        Thread.sleep(100);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return false;
      }
    }
  }
}
