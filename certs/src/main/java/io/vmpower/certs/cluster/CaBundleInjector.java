package io.vmpower.certs.cluster;

import io.fabric8.kubernetes.api.model.admissionregistration.v1.MutatingWebhook;
import io.fabric8.kubernetes.api.model.admissionregistration.v1.MutatingWebhookBuilder;
import io.fabric8.kubernetes.api.model.admissionregistration.v1.MutatingWebhookConfiguration;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.dsl.Resource;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import java.net.HttpURLConnection;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps {@code clientConfig.caBundle} of every webhook in one named MutatingWebhookConfiguration
 * equal to the wanted CA bundle.
 *
 * <p>Changes are JSON patches by name that change only the caBundle fields, with the {@code
 * resourceVersion} that was read as a precondition, so a concurrent change (Helm upgrade, another
 * replica) makes the patch fail with Conflict instead of overwriting it; the injector then reads
 * again. No server-side apply and no strategic merge. Bundles are compared by the certificates they
 * hold, not by text.
 *
 * <p>Drift (someone or something overwriting the caBundle) is noticed by an informer on that one
 * object and by a periodic check, and repaired. In {@link Mode#VERIFY} the injector only watches
 * and reports: that is cert-manager mode, where cert-manager's CA injector owns the field and two
 * writers would fight.
 */
public final class CaBundleInjector implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(CaBundleInjector.class);
  private static final int MAX_ATTEMPTS = 5;

  /** Whether the injector writes the caBundle or only checks it. */
  public enum Mode {
    REPAIR,
    VERIFY
  }

  private final KubernetesClient client;
  private final String configurationName;
  private final Mode mode;
  private final ScheduledExecutorService executor;
  private volatile String wantedPem;
  private volatile String injectedPem;
  private volatile boolean lastReportedMissing;
  private SharedIndexInformer<MutatingWebhookConfiguration> informer;
  private Runnable beforeWrite = () -> {};

  public CaBundleInjector(KubernetesClient client, String configurationName, Mode mode) {
    this.client = Objects.requireNonNull(client, "client");
    this.configurationName = Objects.requireNonNull(configurationName, "configurationName");
    this.mode = Objects.requireNonNull(mode, "mode");
    this.executor =
        Executors.newSingleThreadScheduledExecutor(
            r -> {
              Thread thread = new Thread(r, "vmpower-cabundle-" + configurationName);
              thread.setDaemon(true);
              return thread;
            });
  }

  /** Test seam: runs between reading the configuration and patching it. */
  void beforeWrite(Runnable hook) {
    this.beforeWrite = Objects.requireNonNull(hook);
  }

  public String configurationName() {
    return configurationName;
  }

  public Mode mode() {
    return mode;
  }

  /** The bundle (PEM) the webhooks should carry. Takes effect at the next {@link #reconcile()}. */
  public void setWanted(String caPem) {
    String previous = wantedPem;
    wantedPem = Objects.requireNonNull(caPem, "caPem");
    if (previous == null || !CaBundles.same(previous, caPem)) {
      injectedPem = null;
    }
  }

  /** True when, at the last look, every webhook carried the wanted bundle. */
  public boolean isInjected() {
    String wanted = wantedPem;
    return wanted != null && CaBundles.same(wanted, injectedPem);
  }

  /** True when the wanted bundle holds the same certificates as {@code caPem} and is injected. */
  public boolean isInjected(String caPem) {
    return isInjected() && CaBundles.same(caPem, wantedPem);
  }

  /**
   * Reads the configuration and, in REPAIR mode, patches every webhook whose caBundle differs.
   *
   * @return whether the wanted bundle is in place afterwards
   * @throws KubernetesClientException when the API server cannot be reached or refuses
   */
  public synchronized boolean reconcile() {
    String wanted = wantedPem;
    if (wanted == null) {
      return false;
    }
    for (int attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
      MutatingWebhookConfiguration config = resource().get();
      if (config == null) {
        injectedPem = null;
        if (!lastReportedMissing) {
          lastReportedMissing = true;
          log.warn(
              "MutatingWebhookConfiguration {} not found; cannot inject the CA bundle",
              configurationName);
        }
        return false;
      }
      lastReportedMissing = false;
      List<Integer> stale = staleWebhooks(config, wanted);
      if (stale.isEmpty()) {
        injectedPem = wanted;
        return true;
      }
      injectedPem = null;
      if (mode == Mode.VERIFY) {
        log.debug(
            "{} webhook(s) of {} do not carry the CA bundle yet", stale.size(), configurationName);
        return false;
      }
      beforeWrite.run();
      try {
        resource().patch(PatchContext.of(PatchType.JSON), patch(config, wanted));
        log.info(
            "injected the CA bundle into {} webhook(s) of MutatingWebhookConfiguration {}",
            stale.size(),
            configurationName);
      } catch (KubernetesClientException e) {
        if (e.getCode() != HttpURLConnection.HTTP_CONFLICT) {
          throw e;
        }
        log.debug(
            "MutatingWebhookConfiguration {} changed underneath; reading it again",
            configurationName);
      }
    }
    return false;
  }

  /**
   * Starts the informer on the configuration (any change triggers a check) and a periodic check.
   */
  public synchronized void start(Duration period) {
    if (informer != null) {
      return;
    }
    informer =
        resource()
            .inform(
                new ResourceEventHandler<>() {
                  @Override
                  public void onAdd(MutatingWebhookConfiguration obj) {
                    onChange(obj);
                  }

                  @Override
                  public void onUpdate(
                      MutatingWebhookConfiguration oldObj, MutatingWebhookConfiguration newObj) {
                    onChange(newObj);
                  }

                  @Override
                  public void onDelete(
                      MutatingWebhookConfiguration obj, boolean deletedFinalStateUnknown) {
                    injectedPem = null;
                  }
                },
                0);
    long millis = period.toMillis();
    executor.scheduleWithFixedDelay(this::reconcileQuietly, millis, millis, TimeUnit.MILLISECONDS);
  }

  private void onChange(MutatingWebhookConfiguration config) {
    String wanted = wantedPem;
    if (wanted == null) {
      return;
    }
    if (!staleWebhooks(config, wanted).isEmpty()) {
      injectedPem = null; // report drift at once; the repair follows on the executor
      try {
        executor.execute(this::reconcileQuietly);
      } catch (RejectedExecutionException e) {
        // closed
      }
    }
  }

  private void reconcileQuietly() {
    try {
      reconcile();
    } catch (RuntimeException e) {
      log.warn("cannot check the CA bundle of {}: {}", configurationName, e.toString());
    }
  }

  private static List<Integer> staleWebhooks(MutatingWebhookConfiguration config, String wanted) {
    List<Integer> stale = new ArrayList<>();
    List<MutatingWebhook> webhooks =
        config.getWebhooks() == null ? List.of() : config.getWebhooks();
    for (int i = 0; i < webhooks.size(); i++) {
      MutatingWebhook webhook = webhooks.get(i);
      String field =
          webhook.getClientConfig() == null ? null : webhook.getClientConfig().getCaBundle();
      if (!CaBundles.sameAsField(field, wanted)) {
        stale.add(i);
      }
    }
    return stale;
  }

  /**
   * A JSON patch: the read {@code resourceVersion} as precondition, then the webhook list exactly
   * as read with the caBundles set. Replacing the whole list is only safe because the precondition
   * guarantees nothing in it changed since the read; in exchange the patch always applies, so a
   * concurrent change surfaces as Conflict. (Per-index "add" ops fail to apply, with a different
   * error, when the list shrank in between. A merge patch would do here too, but the mock API
   * server used in tests does not replace lists on merge as RFC 7386 says.)
   */
  private String patch(MutatingWebhookConfiguration config, String wanted) {
    String field = CaBundles.toField(wanted);
    List<MutatingWebhook> webhooks = new ArrayList<>();
    for (MutatingWebhook webhook : config.getWebhooks()) {
      webhooks.add(
          new MutatingWebhookBuilder(webhook)
              .editOrNewClientConfig()
              .withCaBundle(field)
              .endClientConfig()
              .build());
    }
    List<Map<String, Object>> ops =
        List.of(
            Map.of(
                "op",
                "replace",
                "path",
                "/metadata/resourceVersion",
                "value",
                config.getMetadata().getResourceVersion()),
            Map.of("op", "replace", "path", "/webhooks", "value", webhooks));
    return client.getKubernetesSerialization().asJson(ops);
  }

  private Resource<MutatingWebhookConfiguration> resource() {
    return client
        .admissionRegistration()
        .v1()
        .mutatingWebhookConfigurations()
        .withName(configurationName);
  }

  @Override
  public synchronized void close() {
    if (informer != null) {
      informer.close();
      informer = null;
    }
    executor.shutdownNow();
  }
}
