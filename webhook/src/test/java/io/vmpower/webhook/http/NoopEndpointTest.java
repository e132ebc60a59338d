package io.vmpower.webhook.http;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.springframework.test.context.TestPropertySource;

/** The benchmarks' no-op endpoint exists only when asked for. */
class NoopEndpointTest {

  @Nested
  class ByDefault extends HttpsApplicationTest {
    @Test
    void isNotServed() throws Exception {
      var response = post(NoopEndpoint.PATH, "application/json", "{}".getBytes());
      assertThat(response.statusCode()).isEqualTo(404);
    }
  }

  @Nested
  @TestPropertySource(properties = "vmpower.bench.noop-endpoint=true")
  class WhenEnabled extends HttpsApplicationTest {
    @Test
    void readsTheBodyAndAllows() throws Exception {
      var response = post(NoopEndpoint.PATH, "application/json", new byte[100_000]);
      assertThat(response.statusCode()).isEqualTo(200);
      assertThat(response.body()).contains("\"allowed\":true");
    }
  }
}
