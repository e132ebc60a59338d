package io.vmpower.api.admission;

import java.util.List;

/**
 * {@code request.userInfo} of an AdmissionReview: who asked the API server for the write. For a
 * write made through an aggregated API (virt-api's start and stop), this is the aggregated server's
 * own identity, not its caller's.
 *
 * @param username empty when the request did not say
 */
public record RequestUser(String username, List<String> groups) {
  public static final RequestUser UNKNOWN = new RequestUser("", List.of());

  public RequestUser {
    username = username == null ? "" : username;
    groups = List.copyOf(groups);
  }

  public boolean is(String name) {
    return username.equals(name);
  }
}
