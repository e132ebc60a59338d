package io.vmpower.certs;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import org.bouncycastle.util.IPAddress;

/**
 * The names a serving certificate is valid for: the DNS names under which the API server reaches
 * the webhook Service, plus extra DNS names and IP addresses.
 *
 * @param serviceName the Service's name
 * @param namespace the Service's namespace
 * @param extraDnsNames further DNS names, appended after the Service names
 * @param ipAddresses IP literals (IPv4 or IPv6) for IP subject alternative names
 */
public record ServingIdentity(
    String serviceName, String namespace, List<String> extraDnsNames, List<String> ipAddresses) {

  public ServingIdentity {
    requireLabel(serviceName, "serviceName");
    requireLabel(namespace, "namespace");
    extraDnsNames = List.copyOf(extraDnsNames == null ? List.of() : extraDnsNames);
    ipAddresses = List.copyOf(ipAddresses == null ? List.of() : ipAddresses);
    for (String name : extraDnsNames) {
      if (name.isBlank() || name.chars().anyMatch(Character::isWhitespace)) {
        throw new IllegalArgumentException("invalid DNS name '" + name + "'");
      }
    }
    for (String ip : ipAddresses) {
      // IP literals only: a host name here would be resolved, or silently mis-encoded
      if (!IPAddress.isValid(ip)) {
        throw new IllegalArgumentException("'" + ip + "' is not an IPv4 or IPv6 address");
      }
    }
  }

  /** In-cluster identity: only the Service's DNS names. */
  public static ServingIdentity forService(String serviceName, String namespace) {
    return new ServingIdentity(serviceName, namespace, List.of(), List.of());
  }

  /** Local run: the Service names plus {@code localhost}, {@code 127.0.0.1} and {@code ::1}. */
  public static ServingIdentity forLocalRun(String serviceName, String namespace) {
    return new ServingIdentity(
        serviceName, namespace, List.of("localhost"), List.of("127.0.0.1", "::1"));
  }

  /**
   * {@code svc}, {@code svc.ns}, {@code svc.ns.svc}, {@code svc.ns.svc.cluster.local}, then the
   * extra names; duplicates removed, order kept.
   */
  public List<String> dnsNames() {
    Set<String> names = new LinkedHashSet<>();
    names.add(serviceName);
    names.add(serviceName + "." + namespace);
    names.add(serviceName + "." + namespace + ".svc");
    names.add(serviceName + "." + namespace + ".svc.cluster.local");
    names.addAll(extraDnsNames);
    return List.copyOf(new ArrayList<>(names));
  }

  /** The name used as the certificate's subject common name. */
  public String commonName() {
    return serviceName + "." + namespace + ".svc";
  }

  private static void requireLabel(String value, String what) {
    Objects.requireNonNull(value, what);
    // a DNS-1123 label, as Kubernetes requires for Service names and namespaces
    if (!value.matches("[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")) {
      throw new IllegalArgumentException(what + " '" + value + "' is not a DNS-1123 label");
    }
  }
}
