package io.vmpower.admission;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.vmpower.api.admission.RequestUser;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

/** {@code request.userInfo}: who made the request, read for the VM webhook's KubeVirt rules. */
class ReviewUserTest {
  static final String REVIEW =
      "{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\",\"request\":{"
          + "\"uid\":\"u\",\"kind\":{\"group\":\"kubevirt.io\",\"version\":\"v1\","
          + "\"kind\":\"VirtualMachine\"},\"operation\":\"CREATE\",\"object\":{}USER}}";

  static RequestUser user(String userInfo) throws BadReviewException {
    String text = REVIEW.replace("USER", userInfo == null ? "" : ",\"userInfo\":" + userInfo);
    return new ReviewReader(1 << 20).read(text.getBytes(StandardCharsets.UTF_8)).toInput().user();
  }

  @Test
  void nameAndGroupsAreRead() throws Exception {
    RequestUser user =
        user(
            "{\"username\":\"system:serviceaccount:kubevirt:kubevirt-controller\",\"uid\":\"1\","
                + "\"groups\":[\"system:serviceaccounts\",\"system:authenticated\"],"
                + "\"extra\":{\"a\":[\"b\"]}}");
    assertThat(user.username()).isEqualTo("system:serviceaccount:kubevirt:kubevirt-controller");
    assertThat(user.groups()).containsExactly("system:serviceaccounts", "system:authenticated");
    assertThat(user.is("system:serviceaccount:kubevirt:kubevirt-controller")).isTrue();
  }

  @Test
  void absentIsUnknown() throws Exception {
    assertThat(user(null)).isEqualTo(RequestUser.UNKNOWN);
    assertThat(user("{}")).isEqualTo(new RequestUser("", List.of()));
  }

  @Test
  void malformedIsABadRequestNamingTheField() {
    assertThatThrownBy(() -> user("\"alice\""))
        .isInstanceOf(BadReviewException.class)
        .hasMessage("request.userInfo must be an object, got a string");
    assertThatThrownBy(() -> user("{\"username\":5}"))
        .hasMessage("request.userInfo.username must be a string, got a number");
    assertThatThrownBy(() -> user("{\"groups\":\"a\"}"))
        .hasMessage("request.userInfo.groups must be an array, got a string");
    assertThatThrownBy(() -> user("{\"groups\":[1]}"))
        .hasMessage("request.userInfo.groups must hold strings, got a number");
  }
}
