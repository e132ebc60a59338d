package io.vmpower.certs.cluster;

import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.SecretBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.vmpower.certs.CertificateAuthority;
import io.vmpower.certs.CertificateBundle;
import io.vmpower.certs.CertificateChecks;
import io.vmpower.certs.CertificateDataException;
import io.vmpower.certs.CertificateIssuer;
import io.vmpower.certs.KeyAlgorithm;
import io.vmpower.certs.Pem;
import io.vmpower.certs.RenewalPolicy;
import io.vmpower.certs.ServingIdentity;
import java.net.HttpURLConnection;
import java.nio.charset.StandardCharsets;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.TreeMap;
import java.util.function.Predicate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The self-managed CA and serving certificate, kept in one Secret of type {@code kubernetes.io/tls}
 * in the release namespace, shared by all replicas.
 *
 * <p>Replicas converge through the API server: the first to find no Secret creates it, and one that
 * gets AlreadyExists reads and adopts the winner's. Changes are updates carrying the {@code
 * resourceVersion} that was read; on Conflict the store reads again and starts over from what the
 * winner wrote, which usually needs no further change.
 *
 * <p>Data keys: {@code tls.crt}, {@code tls.key} (serving), {@code ca.crt} (every CA clients must
 * trust now; this is what goes into the webhook's caBundle), {@code ca.key} (the signing CA's key;
 * its certificate is the one in {@code ca.crt} it belongs to), and during a CA rotation {@code
 * ca-next.crt}/{@code ca-next.key} or {@code ca-previous.crt}, with the time the current step began
 * in the annotation {@value #ROTATION_SINCE}.
 *
 * <p>CA rotation, started when the CA reaches 2/3 of its lifetime, in three steps one grace period
 * ({@link CertificateLifetimes#rotationGrace()}) apart:
 *
 * <ol>
 *   <li>a new CA is created and added to {@code ca.crt}; serving certificates are still signed by
 *       the old CA, so clients keep trusting them while the bundle spreads;
 *   <li>after the grace period, and once the caller confirms the two-CA bundle is published in the
 *       webhook configuration, the new CA becomes the signing CA and the serving certificate is
 *       reissued; the old CA stays in {@code ca.crt} as {@code ca-previous.crt} because replicas
 *       that have not reloaded yet still present the old serving certificate;
 *   <li>after another grace period (every replica checks the Secret many times within it) the old
 *       CA is dropped.
 * </ol>
 *
 * <p>A CA that is missing, unreadable or expired cannot be rotated gracefully: a new one is made at
 * once, and the old certificate, if it is still readable and valid, stays trusted for one grace
 * period as in step 3.
 */
public final class SecretCertificateStore implements CertificateSource {
  private static final Logger log = LoggerFactory.getLogger(SecretCertificateStore.class);

  public static final String TLS_CERT = "tls.crt";
  public static final String TLS_KEY = "tls.key";
  public static final String CA_BUNDLE = "ca.crt";
  public static final String CA_KEY = "ca.key";
  public static final String NEXT_CA_CERT = "ca-next.crt";
  public static final String NEXT_CA_KEY = "ca-next.key";
  public static final String PREVIOUS_CA_CERT = "ca-previous.crt";
  public static final String ROTATION_SINCE = "vmpower.io/ca-rotation-since";
  public static final String TLS_TYPE = "kubernetes.io/tls";

  private static final int MAX_ATTEMPTS = 8;

  private final KubernetesClient client;
  private final String namespace;
  private final String secretName;
  private final CertificateIssuer issuer;
  private final ServingIdentity identity;
  private final KeyAlgorithm algorithm;
  private final CertificateLifetimes lifetimes;
  private boolean typeWarned;
  private Runnable beforeWrite = () -> {};

  public SecretCertificateStore(
      KubernetesClient client,
      String namespace,
      String secretName,
      CertificateIssuer issuer,
      ServingIdentity identity,
      KeyAlgorithm algorithm,
      CertificateLifetimes lifetimes) {
    this.client = Objects.requireNonNull(client, "client");
    this.namespace = Objects.requireNonNull(namespace, "namespace");
    this.secretName = Objects.requireNonNull(secretName, "secretName");
    this.issuer = Objects.requireNonNull(issuer, "issuer");
    this.identity = Objects.requireNonNull(identity, "identity");
    this.algorithm = Objects.requireNonNull(algorithm, "algorithm");
    this.lifetimes = Objects.requireNonNull(lifetimes, "lifetimes");
  }

  /** Test seam: runs between reading the Secret and writing it, to stage a lost race. */
  void beforeWrite(Runnable hook) {
    this.beforeWrite = Objects.requireNonNull(hook);
  }

  public String namespace() {
    return namespace;
  }

  public String secretName() {
    return secretName;
  }

  /** {@link #ensure(Predicate)} with every bundle taken as published: rotation by time alone. */
  public CertificateBundle ensure() {
    return ensure(pem -> true);
  }

  @Override
  public CertificateBundle refresh(Predicate<String> published) {
    return ensure(published);
  }

  /**
   * Reads the Secret, creates or updates it when something is missing, due or broken, and returns
   * the bundle it holds afterwards.
   *
   * @param published whether a CA bundle is already in the webhook configuration (rotation step 2
   *     waits for it)
   * @throws KubernetesClientException when the API server cannot be reached or refuses
   * @throws IllegalStateException when other writers kept winning for {@value #MAX_ATTEMPTS} rounds
   */
  public synchronized CertificateBundle ensure(Predicate<String> published) {
    for (int attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
      Secret current = client.secrets().inNamespace(namespace).withName(secretName).get();
      Instant now = issuer.clock().instant();
      if (current == null) {
        Material fresh = plan(Material.empty(), now, published).material();
        beforeWrite.run();
        try {
          client.secrets().inNamespace(namespace).resource(toSecret(null, fresh)).create();
          log.info(
              "created Secret {}/{} with a new CA and serving certificate", namespace, secretName);
          return fresh.bundle();
        } catch (KubernetesClientException e) {
          if (e.getCode() != HttpURLConnection.HTTP_CONFLICT) {
            throw e;
          }
          log.info(
              "Secret {}/{} was created by another replica; adopting it", namespace, secretName);
          continue;
        }
      }
      warnOnType(current);
      Material read = Material.read(current);
      Plan plan = plan(read, now, published);
      Map<String, String> wanted = plan.material().data();
      if (wanted.equals(decoded(current))) {
        return plan.material().bundle();
      }
      beforeWrite.run();
      try {
        client
            .secrets()
            .inNamespace(namespace)
            .resource(toSecret(current, plan.material()))
            .update();
        log.info(
            "updated Secret {}/{}: {}",
            namespace,
            secretName,
            plan.reasons().isEmpty()
                ? "filled in missing data"
                : String.join("; ", plan.reasons()));
        return plan.material().bundle();
      } catch (KubernetesClientException e) {
        if (e.getCode() != HttpURLConnection.HTTP_CONFLICT
            && e.getCode() != HttpURLConnection.HTTP_NOT_FOUND) {
          throw e;
        }
        log.info(
            "Secret {}/{} changed underneath (HTTP {}); reading it again",
            namespace,
            secretName,
            e.getCode());
      }
    }
    throw new IllegalStateException(
        "Secret "
            + namespace
            + "/"
            + secretName
            + " kept changing underneath; gave up after "
            + MAX_ATTEMPTS
            + " attempts");
  }

  /** What to store, and why it differs from what was read (empty reasons: nothing to do). */
  record Plan(Material material, List<String> reasons) {}

  Plan plan(Material read, Instant now, Predicate<String> published) {
    List<String> reasons = new ArrayList<>(read.problems());
    CertificateAuthority signing = read.signing().orElse(null);
    CertificateAuthority next = read.next().orElse(null);
    X509Certificate previous = read.previous().orElse(null);
    Instant since = read.rotationSince().orElse(null);

    if (signing == null || !signing.certificate().getNotAfter().toInstant().isAfter(now)) {
      if (signing != null) {
        reasons.add("the CA expired at " + signing.certificate().getNotAfter().toInstant());
      } else if (!read.isEmpty()) {
        reasons.add("no usable CA");
      }
      // keep trusting a still valid old certificate for one grace period
      previous = read.trustedNow(now).stream().findFirst().orElse(null);
      signing = newAuthority(now);
      next = null;
      since = previous == null ? null : now;
    } else if (next != null) {
      if (since == null) {
        since = now;
        reasons.add("CA rotation time missing; restarting the grace period");
      } else if (!now.isBefore(since.plus(lifetimes.rotationGrace()))
          && published.test(trustPem(signing, next, previous))) {
        previous = signing.certificate();
        signing = next;
        next = null;
        since = now;
        reasons.add("CA rotation step 2: signing with the new CA, keeping the old one trusted");
      }
    } else if (previous != null) {
      if (since == null) {
        since = now;
        reasons.add("CA rotation time missing; restarting the grace period");
      } else if (!now.isBefore(since.plus(lifetimes.rotationGrace()))
          || !previous.getNotAfter().toInstant().isAfter(now)) {
        previous = null;
        since = null;
        reasons.add("CA rotation step 3: the old CA is no longer trusted");
      }
    } else if (RenewalPolicy.renewalDue(signing.certificate(), now)) {
      next = newAuthority(now);
      since = now;
      reasons.add("CA rotation step 1: new CA added to the trusted bundle");
    } else if (since != null) {
      since = null;
      reasons.add("stale CA rotation time removed");
    }

    String trust = trustPem(signing, next, previous);
    String tlsCrt = read.tlsCrt().orElse(null);
    String tlsKey = read.tlsKey().orElse(null);
    Optional<String> reissue =
        tlsCrt == null || tlsKey == null
            ? Optional.of("no serving certificate")
            : CertificateChecks.reissueReason(
                new CertificateBundle(trust, tlsCrt, tlsKey),
                signing.certificate(),
                identity,
                algorithm,
                now);
    if (reissue.isPresent()) {
      CertificateBundle issued =
          issuer.issueServing(signing, identity, algorithm, lifetimes.serving());
      tlsCrt = issued.certificatePem();
      tlsKey = issued.privateKeyPem();
      if (!read.isEmpty()) {
        reasons.add("serving certificate reissued (" + reissue.get() + ")");
      }
    }
    return new Plan(new Material(signing, next, previous, since, trust, tlsCrt, tlsKey), reasons);
  }

  private CertificateAuthority newAuthority(Instant now) {
    // a distinct name per CA, so two CAs trusted side by side are never confused by name
    return issuer.newAuthority(
        identity.serviceName() + "-ca@" + now.getEpochSecond(), algorithm, lifetimes.ca());
  }

  private static String trustPem(
      CertificateAuthority signing, CertificateAuthority next, X509Certificate previous) {
    List<X509Certificate> trust = new ArrayList<>();
    trust.add(signing.certificate());
    if (next != null) {
      trust.add(next.certificate());
    }
    if (previous != null && !trust.contains(previous)) {
      trust.add(previous);
    }
    return Pem.encode(trust);
  }

  private Secret toSecret(Secret current, Material material) {
    Map<String, String> data = new TreeMap<>();
    material.data().forEach((k, v) -> data.put(k, encode(v)));
    SecretBuilder builder = current == null ? new SecretBuilder() : new SecretBuilder(current);
    builder
        .editOrNewMetadata()
        .withName(secretName)
        .withNamespace(namespace)
        .addToLabels("app.kubernetes.io/managed-by", "vmpower")
        .addToLabels("app.kubernetes.io/component", "webhook-certificates")
        .removeFromAnnotations(ROTATION_SINCE)
        .endMetadata()
        .withData(data)
        .withStringData(null);
    if (current == null) {
      builder.withType(TLS_TYPE);
    }
    if (material.rotationStart() != null) {
      builder
          .editMetadata()
          .addToAnnotations(ROTATION_SINCE, material.rotationStart().toString())
          .endMetadata();
    }
    return builder.build();
  }

  private void warnOnType(Secret secret) {
    if (!TLS_TYPE.equals(secret.getType()) && !typeWarned) {
      typeWarned = true;
      log.warn(
          "Secret {}/{} has type {}, not {}; using it anyway (the type cannot be changed in place)",
          namespace,
          secretName,
          secret.getType(),
          TLS_TYPE);
    }
  }

  private static String encode(String value) {
    return Base64.getEncoder().encodeToString(value.getBytes(StandardCharsets.US_ASCII));
  }

  static Map<String, String> decoded(Secret secret) {
    Map<String, String> out = new TreeMap<>();
    if (secret.getData() != null) {
      secret
          .getData()
          .forEach(
              (k, v) -> {
                try {
                  out.put(k, new String(Base64.getDecoder().decode(v), StandardCharsets.US_ASCII));
                } catch (IllegalArgumentException e) {
                  out.put(k, ""); // not base64: unusable, and different from anything we write
                }
              });
    }
    if (secret.getStringData() != null) {
      out.putAll(
          secret.getStringData()); // the API server folds stringData into data; mocks may not
    }
    String since =
        secret.getMetadata().getAnnotations() == null
            ? null
            : secret.getMetadata().getAnnotations().get(ROTATION_SINCE);
    if (since != null) {
      out.put("@" + ROTATION_SINCE, since);
    }
    return out;
  }

  /** The Secret's content, as far as it is usable; what is not usable is listed in problems. */
  record Material(
      CertificateAuthority signingCa,
      CertificateAuthority nextCa,
      X509Certificate previousCa,
      Instant rotationStart,
      String trustPem,
      String tlsCrtPem,
      String tlsKeyPem,
      List<String> problems,
      List<X509Certificate> trustedCertificates) {

    Material(
        CertificateAuthority signingCa,
        CertificateAuthority nextCa,
        X509Certificate previousCa,
        Instant rotationStart,
        String trustPem,
        String tlsCrtPem,
        String tlsKeyPem) {
      this(
          signingCa,
          nextCa,
          previousCa,
          rotationStart,
          trustPem,
          tlsCrtPem,
          tlsKeyPem,
          List.of(),
          List.of());
    }

    static Material empty() {
      return new Material(null, null, null, null, null, null, null);
    }

    boolean isEmpty() {
      return signingCa == null && trustPem == null && tlsCrtPem == null && tlsKeyPem == null;
    }

    Optional<CertificateAuthority> signing() {
      return Optional.ofNullable(signingCa);
    }

    Optional<CertificateAuthority> next() {
      return Optional.ofNullable(nextCa);
    }

    Optional<X509Certificate> previous() {
      return Optional.ofNullable(previousCa);
    }

    Optional<Instant> rotationSince() {
      return Optional.ofNullable(rotationStart);
    }

    Optional<String> tlsCrt() {
      return Optional.ofNullable(tlsCrtPem);
    }

    Optional<String> tlsKey() {
      return Optional.ofNullable(tlsKeyPem);
    }

    /** Readable certificates of the old trust bundle that are still valid. */
    List<X509Certificate> trustedNow(Instant now) {
      List<X509Certificate> valid = new ArrayList<>();
      for (X509Certificate cert : trustedCertificates) {
        if (cert.getNotAfter().toInstant().isAfter(now)) {
          valid.add(cert);
        }
      }
      return valid;
    }

    CertificateBundle bundle() {
      return new CertificateBundle(trustPem, tlsCrtPem, tlsKeyPem);
    }

    /** Data as it is stored (decoded), plus the rotation annotation under an "@" key. */
    Map<String, String> data() {
      Map<String, String> data = new LinkedHashMap<>();
      data.put(TLS_CERT, tlsCrtPem);
      data.put(TLS_KEY, tlsKeyPem);
      data.put(CA_BUNDLE, trustPem);
      data.put(CA_KEY, signingCa.privateKeyPem());
      if (nextCa != null) {
        data.put(NEXT_CA_CERT, nextCa.certificatePem());
        data.put(NEXT_CA_KEY, nextCa.privateKeyPem());
      }
      if (previousCa != null) {
        data.put(PREVIOUS_CA_CERT, Pem.encode(previousCa));
      }
      Map<String, String> sorted = new TreeMap<>(data);
      if (rotationStart != null) {
        sorted.put("@" + ROTATION_SINCE, rotationStart.toString());
      }
      return sorted;
    }

    static Material read(Secret secret) {
      Map<String, String> data = decoded(secret);
      List<String> problems = new ArrayList<>();
      String trust = data.get(CA_BUNDLE);
      List<X509Certificate> trusted = List.of();
      CertificateAuthority signing = null;
      if (trust != null) {
        try {
          trusted = Pem.readCertificates(trust);
        } catch (CertificateDataException e) {
          problems.add(CA_BUNDLE + " unreadable: " + e.getMessage());
        }
      }
      if (trust != null && data.get(CA_KEY) != null) {
        try {
          signing = CertificateAuthority.fromPem(trust, data.get(CA_KEY));
        } catch (CertificateDataException e) {
          problems.add("CA unusable: " + e.getMessage());
        }
      } else if (trust != null || data.get(CA_KEY) != null) {
        problems.add((trust == null ? CA_BUNDLE : CA_KEY) + " missing");
      }
      CertificateAuthority next = null;
      if (data.get(NEXT_CA_CERT) != null || data.get(NEXT_CA_KEY) != null) {
        try {
          next =
              CertificateAuthority.fromPem(
                  data.getOrDefault(NEXT_CA_CERT, ""), data.getOrDefault(NEXT_CA_KEY, ""));
        } catch (CertificateDataException e) {
          problems.add("next CA dropped: " + e.getMessage());
        }
      }
      X509Certificate previous = null;
      if (data.get(PREVIOUS_CA_CERT) != null) {
        try {
          previous = Pem.readCertificates(data.get(PREVIOUS_CA_CERT)).get(0);
        } catch (CertificateDataException e) {
          problems.add("previous CA dropped: " + e.getMessage());
        }
      }
      Instant since = null;
      String sinceText = data.get("@" + ROTATION_SINCE);
      if (sinceText != null) {
        try {
          since = Instant.parse(sinceText);
        } catch (DateTimeParseException e) {
          problems.add(ROTATION_SINCE + " unreadable");
        }
      }
      return new Material(
          signing,
          next,
          previous,
          since,
          trust,
          data.get(TLS_CERT),
          data.get(TLS_KEY),
          problems,
          trusted);
    }
  }
}
