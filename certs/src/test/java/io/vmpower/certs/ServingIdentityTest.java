package io.vmpower.certs;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.junit.jupiter.api.Test;

class ServingIdentityTest {

  @Test
  void serviceNamesInOrder() {
    ServingIdentity identity = ServingIdentity.forService("vmpower", "vmpower-system");
    assertThat(identity.dnsNames())
        .containsExactly(
            "vmpower",
            "vmpower.vmpower-system",
            "vmpower.vmpower-system.svc",
            "vmpower.vmpower-system.svc.cluster.local");
    assertThat(identity.ipAddresses()).isEmpty();
  }

  @Test
  void localRunAddsLoopback() {
    ServingIdentity identity = ServingIdentity.forLocalRun("vmpower", "default");
    assertThat(identity.dnsNames()).endsWith("localhost").hasSize(5);
    assertThat(identity.ipAddresses()).containsExactly("127.0.0.1", "::1");
  }

  @Test
  void extraNamesFollowAndDuplicatesGo() {
    ServingIdentity identity =
        new ServingIdentity(
            "a", "b", List.of("a.b.svc", "webhook.example.com"), List.of("10.0.0.1"));
    assertThat(identity.dnsNames())
        .containsExactly("a", "a.b", "a.b.svc", "a.b.svc.cluster.local", "webhook.example.com");
  }

  @Test
  void rejectsBadInput() {
    assertThatThrownBy(() -> ServingIdentity.forService("Bad_Name", "ns"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("DNS-1123");
    assertThatThrownBy(() -> new ServingIdentity("a", "b", List.of(), List.of("localhost")))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("not an IPv4 or IPv6 address");
    assertThatThrownBy(() -> new ServingIdentity("a", "b", List.of("x y"), List.of()))
        .isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void nullListsAreEmpty() {
    assertThat(new ServingIdentity("a", "b", null, null).extraDnsNames()).isEmpty();
  }
}
