package io.vmpower.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.admissionregistration.v1.MutatingWebhook;
import io.fabric8.kubernetes.api.model.admissionregistration.v1.MutatingWebhookConfiguration;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The API server goes away and comes back: the application's informers (controller, caBundle),
 * leader election and webhooks carry on without a restart of the application (and so do virt-api
 * and virt-controller).
 */
@Order(9)
@ExtendWith(Suite.class)
class ApiServerRestartE2E {

  @Test
  void informersAndLeaderElectionRecoverAfterAnApiServerRestart() throws Exception {
    Suite.Environment env = Suite.env();
    List<VmPowerApp> apps = env.runningApps();
    assertThat(apps).isNotEmpty();
    Suite.say("restarting kube-apiserver");
    env.cluster.restartApiServer();
    apps.forEach(a -> a.process().assertAlive());

    Suite.await(
        "a Lease holder among the running instances",
        Duration.ofSeconds(30),
        () ->
            apps.stream()
                .map(a -> VmPowerApp.podName(a.identity()))
                .toList()
                .contains(LeaderElectionE2E.lease().getSpec().getHolderIdentity()));

    // the controller's watches resumed: a guest reboot written now is acted on
    GenericKubernetesResource vmi = ControllerE2E.running("after-restart", "Manual");
    env.virtHandler.guestReset(Suite.ENABLED_NS, "after-restart");
    ControllerE2E.awaitRecord("after-restart", vmi.getMetadata().getUid(), "Start");

    // the caBundle informer resumed: drift is repaired again
    MutatingWebhookConfiguration config = CertificatesE2E.webhookConfiguration();
    List<java.security.cert.X509Certificate> good =
        CertificatesE2E.certificates(config.getWebhooks().get(0).getClientConfig().getCaBundle());
    config
        .getWebhooks()
        .forEach(
            w ->
                w.getClientConfig()
                    .setCaBundle(TestCluster.base64(env.cluster.pki().ca().certPem())));
    env.client
        .admissionRegistration()
        .v1()
        .mutatingWebhookConfigurations()
        .resource(config)
        .update();
    Suite.await(
        "caBundle repaired after the restart",
        Duration.ofSeconds(30),
        () -> {
          for (MutatingWebhook w : CertificatesE2E.webhookConfiguration().getWebhooks()) {
            if (!CertificatesE2E.certificates(w.getClientConfig().getCaBundle()).equals(good)) {
              return false;
            }
          }
          return true;
        });
    apps.forEach(a -> a.process().assertAlive());
  }
}
