package io.vmpower.webhook.http;

import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;
import org.springframework.util.unit.DataSize;

/**
 * {@code vmpower.webhook.*}.
 *
 * @param maxRequestSize the largest AdmissionReview accepted; the API server's own limit for a
 *     request body is 3 MiB, and a review carries the object twice on UPDATE
 */
@ConfigurationProperties("vmpower.webhook")
public record WebhookSettings(
    @DefaultValue("true") boolean enabled, @DefaultValue("7MB") DataSize maxRequestSize) {

  public int maxRequestBytes() {
    return Math.toIntExact(maxRequestSize.toBytes());
  }
}
