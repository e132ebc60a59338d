package io.vmpower.controller;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.json.JsonMapper;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.http.HttpRequest;
import io.fabric8.kubernetes.client.http.HttpResponse;
import io.fabric8.kubernetes.client.utils.URLUtils;
import java.time.Duration;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * KubeVirt's public subresource API, as far as the controller uses it: {@code PUT
 * .../virtualmachines/NAME/start}.
 *
 * <p>virt-api's answers (pkg/virt-api/rest/subresource.go, StartVMRequestHandler) that mean "there
 * is nothing left to do" are treated as done:
 *
 * <ul>
 *   <li>409 {@code VM is already running}: a VMI exists and is not final (our earlier start, or the
 *       user's, already produced the new VMI);
 *   <li>500 {@code unable to complete request: stop/start already underway}: the VM already has a
 *       pending state change request (our earlier start, or the user's);
 *   <li>409 {@code Always does not support manual start requests} (also {@code Once}): the policy
 *       moved to AlwaysOn meanwhile and KubeVirt's runStrategy starts the VM itself;
 *   <li>404 {@code virtualmachine.kubevirt.io "NAME" not found}: the VM is gone (a 404 without it
 *       comes from the API server when virt-api's API is not there, and is retried).
 * </ul>
 *
 * Everything else (including a 409 for a failed JSON-patch test inside virt-api, i.e. a concurrent
 * change) is an error and retried with backoff.
 */
final class VirtApi {
  enum StartResult {
    STARTED,
    ALREADY_RUNNING,
    ALREADY_UNDERWAY,
    NOT_MANUAL,
    VM_GONE;

    String tag() {
      return name().toLowerCase(java.util.Locale.ROOT).replace('_', '-');
    }
  }

  /** A start request that virt-api refused for a reason that may pass, or that did not complete. */
  static final class StartFailedException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    StartFailedException(String message, Throwable cause) {
      super(message, cause);
    }
  }

  private static final JsonMapper JSON = JsonMapper.builder().build();

  /** virt-api's NotFound for the VM: {@code virtualmachine.kubevirt.io "NAME" not found}. */
  private static final java.util.regex.Pattern VM_NOT_FOUND =
      java.util.regex.Pattern.compile("virtualmachines?\\.kubevirt\\.io \"[^\"]*\" not found");

  private final KubernetesClient client;
  private final Duration timeout;

  VirtApi(KubernetesClient client, Duration timeout) {
    this.client = client;
    this.timeout = timeout;
  }

  StartResult start(String namespace, String name) {
    String url =
        URLUtils.join(client.getMasterUrl().toString(), KubeVirt.startPath(namespace, name));
    HttpRequest request =
        client
            .getHttpClient()
            .newHttpRequestBuilder()
            .uri(url)
            .timeout(timeout.toMillis(), TimeUnit.MILLISECONDS)
            .method("PUT", "application/json", "{}")
            .build();
    HttpResponse<String> response;
    try {
      response =
          client
              .getHttpClient()
              .sendAsync(request, String.class)
              .get(timeout.toMillis() + 1000, TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new StartFailedException("interrupted while starting " + namespace + "/" + name, e);
    } catch (ExecutionException | TimeoutException e) {
      // The request may still have reached virt-api: the retry finds the VMI replaced or the
      // start "already underway", so it never starts twice.
      throw new StartFailedException("start request did not complete: " + e, e);
    }
    return classify(response.code(), response.body());
  }

  static StartResult classify(int code, String body) {
    if (code >= 200 && code < 300) {
      return StartResult.STARTED;
    }
    String message = message(body);
    if (code == 404) {
      // Only virt-api's own answer means the VM is gone. The API server answers 404 too when
      // subresources.kubevirt.io is not served at all (virt-api's APIService missing, KubeVirt
      // being reinstalled): that start must be retried, not recorded as done.
      if (VM_NOT_FOUND.matcher(message).find()) {
        return StartResult.VM_GONE;
      }
      throw new StartFailedException(
          "the API server answered 404 ("
              + message
              + "): is KubeVirt's subresources.kubevirt.io API (virt-api) available?",
          null);
    }
    if (message.contains("VM is already running")) {
      return StartResult.ALREADY_RUNNING;
    }
    if (message.contains("already underway")) {
      return StartResult.ALREADY_UNDERWAY;
    }
    if (message.contains("does not support manual start requests")) {
      return StartResult.NOT_MANUAL;
    }
    throw new StartFailedException("virt-api answered " + code + ": " + message, null);
  }

  /** The {@code message} of a Kubernetes Status body, or the body itself (shortened). */
  static String message(String body) {
    if (body == null) {
      return "";
    }
    try {
      JsonNode node = JSON.readTree(body);
      if (node != null && node.path("message").isTextual()) {
        return node.path("message").asText();
      }
    } catch (Exception e) {
      // not JSON: use the text
    }
    return body.length() > 300 ? body.substring(0, 300) : body;
  }
}
