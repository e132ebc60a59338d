package io.vmpower.api.admission;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.List;

/** What a mutator answers: allow (with the object as it should be stored) or deny. */
public sealed interface Verdict {

  /**
   * A short word for logs and metrics: {@code mutated}, {@code unchanged}, {@code skipped}, {@code
   * denied}.
   */
  String decision();

  /**
   * Allow the request.
   *
   * @param object the object as it should be stored: the submitted one when nothing changes,
   *     otherwise a changed copy (the webhook sends the difference as a JSON patch)
   * @param warnings shown to the user by kubectl; each under 120 characters
   * @param decision see {@link Verdict#decision()}
   */
  record Allow(JsonNode object, List<String> warnings, String decision) implements Verdict {
    public Allow {
      warnings = List.copyOf(warnings);
    }
  }

  /**
   * Deny the request.
   *
   * @param code HTTP-style status code for the {@code status} of the response (403 forbidden by
   *     policy, 422 invalid value, 400 malformed object)
   * @param reason Kubernetes StatusReason, e.g. {@code Forbidden}, {@code Invalid}, {@code
   *     BadRequest}
   * @param message what the user reads after "admission webhook ... denied the request:"
   * @param cause a short word for the denial metric, e.g. {@code power-change}
   */
  record Deny(int code, String reason, String message, String cause) implements Verdict {
    /** A denial counted under its Kubernetes reason. */
    public Deny(int code, String reason, String message) {
      this(code, reason, message, reason.toLowerCase(java.util.Locale.ROOT));
    }

    @Override
    public String decision() {
      return "denied";
    }
  }
}
