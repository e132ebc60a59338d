package io.vmpower.webhook.http;

import io.vmpower.api.KubeVirtAccounts;
import java.time.Duration;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;
import org.springframework.util.unit.DataSize;

/**
 * {@code vmpower.webhook.*}.
 *
 * @param maxRequestSize the largest AdmissionReview accepted; the API server's own limit for a
 *     request body is 3 MiB, and a review carries the object twice on UPDATE
 * @param requestBodyTimeout the longest a request body may take to arrive, whatever the pace of its
 *     bytes; the API server sends a review in one go and gives up on the webhook after its own
 *     timeout (10 s by default, at most 30 s)
 * @param kubevirtNamespace the namespace KubeVirt is installed in ({@code openshift-cnv} on
 *     OpenShift Virtualization): the VM webhook knows KubeVirt's own runStrategy writes by the
 *     ServiceAccounts there
 */
@ConfigurationProperties("vmpower.webhook")
public record WebhookSettings(
    @DefaultValue("true") boolean enabled,
    @DefaultValue("7MB") DataSize maxRequestSize,
    @DefaultValue("10s") Duration requestBodyTimeout,
    @DefaultValue(KubeVirtAccounts.DEFAULT_NAMESPACE) String kubevirtNamespace) {

  public KubeVirtAccounts kubevirt() {
    return new KubeVirtAccounts(kubevirtNamespace);
  }

  public int maxRequestBytes() {
    return Math.toIntExact(maxRequestSize.toBytes());
  }
}
