package io.vmpower.webhook.http;

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
 * @param nativeRebootPolicy whether managed VMs get KubeVirt's {@code rebootPolicy: Terminate}
 *     where its {@code RebootPolicy} feature gate is on ({@code if-supported}), or never ({@code
 *     never}, the default: under {@code Terminate} libvirt turns {@code virtctl soft-reboot} into a
 *     power-off, README "Native reboot policy")
 */
@ConfigurationProperties("vmpower.webhook")
public record WebhookSettings(
    @DefaultValue("true") boolean enabled,
    @DefaultValue("7MB") DataSize maxRequestSize,
    @DefaultValue("10s") Duration requestBodyTimeout,
    @DefaultValue("never") NativeRebootPolicy nativeRebootPolicy) {

  /** {@code vmpower.webhook.native-reboot-policy}. */
  public enum NativeRebootPolicy {
    /** Never set {@code rebootPolicy}; take back a {@code Terminate} vmpower set. */
    NEVER,
    /** {@code Terminate} on managed VMs while KubeVirt's {@code RebootPolicy} gate is on. */
    IF_SUPPORTED
  }

  public int maxRequestBytes() {
    return Math.toIntExact(maxRequestSize.toBytes());
  }
}
