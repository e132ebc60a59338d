package io.vmpower.certs;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LocalCertificateStoreTest {
  static final Duration CA_VALIDITY = Duration.ofDays(300);
  static final Duration SERVING_VALIDITY = Duration.ofDays(30);

  @TempDir Path tmp;
  final MutableClock clock = MutableClock.at("2026-11-25T10:00:00Z");
  final CertificateIssuer issuer = new CertificateIssuer(clock);
  final ServingIdentity identity = ServingIdentity.forLocalRun("vmpower", "vmpower-system");

  LocalCertificateStore store(ServingIdentity id, KeyAlgorithm algorithm) {
    return new LocalCertificateStore(
        tmp.resolve("certs"), issuer, id, algorithm, CA_VALIDITY, SERVING_VALIDITY);
  }

  LocalCertificateStore store() {
    return store(identity, KeyAlgorithm.EC_P256);
  }

  @Test
  void firstStartCreatesCaAndServingCertificate() throws Exception {
    LocalCertificateStore store = store();
    assertThat(tmp.resolve("certs")).doesNotExist();

    CertificateBundle bundle = store.ensure();

    assertThat(store.caFile()).hasFileName("ca.crt");
    assertThat(store.certificateFile()).hasFileName("tls.crt");
    assertThat(store.privateKeyFile()).hasFileName("tls.key");
    assertThat(read(store.caFile())).isEqualTo(bundle.caPem());
    assertThat(read(store.certificateFile())).isEqualTo(bundle.certificatePem());
    assertThat(read(store.privateKeyFile())).isEqualTo(bundle.privateKeyPem());
    assertThat(read(store.caKeyFile())).startsWith("-----BEGIN PRIVATE KEY-----");
    assertThat(bundle.authorities()).hasSize(1);
    X509Certificate ca = bundle.authorities().get(0);
    assertThat(ca.getSubjectX500Principal().getName()).startsWith("CN=vmpower-ca@");
    CertificateIssuerTest.pkixValidate(bundle.leaf(), ca, clock.instant());
    assertThat(CertificateChecks.namesMatch(bundle.leaf(), identity)).isTrue();
    assertThat(bundle.notAfter()).isEqualTo(clock.instant().plus(SERVING_VALIDITY));
    assertThat(KeyAlgorithm.of(bundle.leaf().getPublicKey())).contains(KeyAlgorithm.EC_P256);
  }

  @Test
  void permissionsAreTight() throws Exception {
    LocalCertificateStore store = store();
    store.ensure();

    assertThat(perms(tmp.resolve("certs"))).isEqualTo("rwx------");
    assertThat(perms(store.caKeyFile())).isEqualTo("rw-------");
    assertThat(perms(store.privateKeyFile())).isEqualTo("rw-------");
    assertThat(perms(store.caFile())).isEqualTo("rw-r--r--");
    assertThat(perms(store.certificateFile())).isEqualTo("rw-r--r--");

    // loosened by hand: tightened again on the next start
    Files.setPosixFilePermissions(
        store.privateKeyFile(), PosixFilePermissions.fromString("rw-r--r--"));
    Files.setPosixFilePermissions(
        tmp.resolve("certs"), PosixFilePermissions.fromString("rwxr-xr-x"));
    store().ensure();
    assertThat(perms(store.privateKeyFile())).isEqualTo("rw-------");
    assertThat(perms(tmp.resolve("certs"))).isEqualTo("rwx------");
  }

  @Test
  void secondStartReusesTheSameBytes() throws Exception {
    CertificateBundle first = store().ensure();
    Map<Path, FileTime> times = modificationTimes();
    Map<Path, String> contents = contents();
    clock.advance(Duration.ofDays(5));

    CertificateBundle second = store().ensure();

    assertThat(second).isEqualTo(first);
    assertThat(contents()).isEqualTo(contents);
    assertThat(modificationTimes()).isEqualTo(times);
  }

  @Test
  void renewalDueIssuesANewServingCertificateFromTheSameCa() throws Exception {
    LocalCertificateStore store = store();
    CertificateBundle first = store.ensure();
    String caBefore = read(store.caFile());
    String caKeyBefore = read(store.caKeyFile());

    clock.advance(Duration.ofDays(19)); // 2/3 of 30 days (+5 min backdating) is 20 days
    assertThat(store.ensure()).isEqualTo(first);

    clock.advance(Duration.ofDays(1));
    CertificateBundle renewed = store.ensure();

    assertThat(renewed.leaf().getSerialNumber()).isNotEqualTo(first.leaf().getSerialNumber());
    assertThat(renewed.privateKeyPem()).isNotEqualTo(first.privateKeyPem());
    assertThat(renewed.notAfter()).isEqualTo(clock.instant().plus(SERVING_VALIDITY));
    assertThat(read(store.caFile())).isEqualTo(caBefore);
    assertThat(read(store.caKeyFile())).isEqualTo(caKeyBefore);
    assertThat(read(store.certificateFile())).isEqualTo(renewed.certificatePem());
    CertificateIssuerTest.pkixValidate(
        renewed.leaf(), renewed.authorities().get(0), clock.instant());
  }

  @Test
  void changedNamesReissue() throws Exception {
    CertificateBundle first = store().ensure();
    ServingIdentity more =
        new ServingIdentity(
            "vmpower", "vmpower-system", List.of("localhost", "dev.example"), List.of("127.0.0.1"));

    CertificateBundle second = store(more, KeyAlgorithm.EC_P256).ensure();

    assertThat(second.leaf()).isNotEqualTo(first.leaf());
    assertThat(second.caPem()).isEqualTo(first.caPem());
    assertThat(CertificateChecks.dnsNames(second.leaf())).contains("dev.example");
    assertThat(CertificateChecks.ipAddresses(second.leaf())).hasSize(1);
    // and back: the IP set differs again
    assertThat(store().ensure().leaf()).isNotEqualTo(second.leaf());
  }

  @Test
  void changedAlgorithmReissuesUnderTheSameCa() throws Exception {
    CertificateBundle first = store().ensure();

    CertificateBundle rsa = store(identity, KeyAlgorithm.RSA_2048).ensure();

    assertThat(KeyAlgorithm.of(rsa.leaf().getPublicKey())).contains(KeyAlgorithm.RSA_2048);
    assertThat(rsa.caPem()).isEqualTo(first.caPem());
    assertThat(store(identity, KeyAlgorithm.RSA_3072).ensure().leaf().getPublicKey())
        .satisfies(k -> assertThat(KeyAlgorithm.of(k)).contains(KeyAlgorithm.RSA_3072));
  }

  @Test
  void servingCertificateFromAnotherCaIsReplaced() throws Exception {
    LocalCertificateStore store = store();
    store.ensure();
    CertificateAuthority stranger =
        issuer.newAuthority("stranger", KeyAlgorithm.EC_P256, CA_VALIDITY);
    CertificateBundle foreign =
        issuer.issueServing(stranger, identity, KeyAlgorithm.EC_P256, SERVING_VALIDITY);
    Files.writeString(store.certificateFile(), foreign.certificatePem());
    Files.writeString(store.privateKeyFile(), foreign.privateKeyPem());

    CertificateBundle repaired = store.ensure();

    assertThat(repaired.leaf()).isNotEqualTo(foreign.leaf());
    assertThat(CertificateChecks.isSignedBy(repaired.leaf(), repaired.authorities().get(0)))
        .isTrue();
  }

  @Test
  void caRotationKeepsTheOldCaUntilItExpires() throws Exception {
    LocalCertificateStore store = store();
    CertificateBundle first = store.ensure();
    X509Certificate oldCa = first.authorities().get(0);

    clock.advance(Duration.ofDays(201)); // past 2/3 of 300 days
    CertificateBundle rotated = store.ensure();

    assertThat(rotated.authorities()).hasSize(2);
    X509Certificate newCa = rotated.authorities().get(0);
    assertThat(newCa).isNotEqualTo(oldCa);
    assertThat(rotated.authorities().get(1)).isEqualTo(oldCa);
    assertThat(CertificateChecks.isSignedBy(rotated.leaf(), newCa)).isTrue();
    assertThat(read(store.caFile())).isEqualTo(rotated.caPem());

    // reused as is while the old CA is valid
    clock.advance(Duration.ofDays(50));
    assertThat(store.ensure().caPem()).isEqualTo(rotated.caPem());

    // the old CA expired: pruned; the current CA stays
    String caKey = Files.readString(store.caKeyFile());
    clock.advance(Duration.ofDays(50));
    CertificateBundle pruned = store.ensure();
    assertThat(pruned.authorities()).containsExactly(newCa);
    assertThat(Files.readString(store.caKeyFile())).isEqualTo(caKey);
    assertThat(CertificateChecks.isSignedBy(pruned.leaf(), newCa)).isTrue();
  }

  @Test
  void corruptServingFilesAreRegeneratedUnderTheSameCa() throws Exception {
    LocalCertificateStore store = store();
    CertificateBundle first = store.ensure();

    Files.writeString(store.certificateFile(), "-----BEGIN CERTIFICATE-----\nAAAA\n");
    CertificateBundle afterCorruptCert = store.ensure();
    assertThat(afterCorruptCert.caPem()).isEqualTo(first.caPem());
    assertThat(afterCorruptCert.leaf()).isNotEqualTo(first.leaf());

    Files.write(store.privateKeyFile(), new byte[] {(byte) 0xff, 0, 1, 2});
    CertificateBundle afterBinaryKey = store.ensure();
    assertThat(afterBinaryKey.leaf()).isNotEqualTo(afterCorruptCert.leaf());
    assertThat(
            CertificateChecks.keyMatches(
                afterBinaryKey.leaf().getPublicKey(), afterBinaryKey.privateKey()))
        .isTrue();

    Files.delete(store.privateKeyFile());
    assertThat(store.ensure().leaf()).isNotEqualTo(afterBinaryKey.leaf());
  }

  @Test
  void mismatchedServingKeyIsReplaced() throws Exception {
    LocalCertificateStore store = store();
    CertificateBundle first = store.ensure();
    Files.writeString(
        store.privateKeyFile(),
        Pem.encodePrivateKey(
            KeyAlgorithm.EC_P256.generateKeyPair(new java.security.SecureRandom()).getPrivate()));

    CertificateBundle repaired = store.ensure();

    assertThat(repaired.leaf()).isNotEqualTo(first.leaf());
    assertThat(CertificateChecks.keyMatches(repaired.leaf().getPublicKey(), repaired.privateKey()))
        .isTrue();
  }

  @Test
  void corruptCaIsReplacedAndEverythingReissued() throws Exception {
    LocalCertificateStore store = store();
    CertificateBundle first = store.ensure();

    Files.writeString(store.caKeyFile(), "garbage");
    CertificateBundle second = store.ensure();

    assertThat(second.authorities()).hasSize(1).doesNotContain(first.authorities().get(0));
    assertThat(CertificateChecks.isSignedBy(second.leaf(), second.authorities().get(0))).isTrue();

    Files.delete(store.caFile());
    CertificateBundle third = store.ensure();
    assertThat(third.authorities()).hasSize(1).doesNotContain(second.authorities().get(0));
    assertThat(CertificateChecks.isSignedBy(third.leaf(), third.authorities().get(0))).isTrue();
  }

  @Test
  void ioProblemsAreClearErrors() throws Exception {
    Path notADirectory = tmp.resolve("file");
    Files.writeString(notADirectory, "x");
    LocalCertificateStore store =
        new LocalCertificateStore(
            notADirectory, issuer, identity, KeyAlgorithm.EC_P256, CA_VALIDITY, SERVING_VALIDITY);

    assertThatThrownBy(store::ensure)
        .isInstanceOf(UncheckedIOException.class)
        .hasMessageContaining(notADirectory.toString())
        .hasMessageContaining("not a directory");
  }

  @Test
  void noTemporaryFilesAreLeftBehind() throws Exception {
    LocalCertificateStore store = store();
    store.ensure();
    clock.advance(Duration.ofDays(25));
    store.ensure();
    try (Stream<Path> files = Files.list(tmp.resolve("certs"))) {
      assertThat(files.map(p -> p.getFileName().toString()))
          .containsExactlyInAnyOrder("ca.crt", "ca.key", "tls.crt", "tls.key");
    }
  }

  @Test
  void readersNeverSeeHalfAFile() throws Exception {
    LocalCertificateStore store = store();
    store.ensure();
    AtomicBoolean done = new AtomicBoolean();
    AtomicInteger reads = new AtomicInteger();
    List<String> broken = new ArrayList<>();
    Thread reader =
        new Thread(
            () -> {
              while (!done.get()) {
                try {
                  String text = Files.readString(store.certificateFile());
                  Pem.readCertificates(text);
                  reads.incrementAndGet();
                } catch (Exception e) {
                  synchronized (broken) {
                    broken.add(e.toString());
                  }
                }
              }
            });
    reader.start();
    for (int i = 0; i < 30; i++) {
      clock.advance(
          Duration.ofDays(21)); // every step renews; every tenth or so also rotates the CA
      store.ensure();
    }
    done.set(true);
    reader.join();

    assertThat(broken).isEmpty();
    assertThat(reads.get()).isPositive();
  }

  private Map<Path, FileTime> modificationTimes() throws Exception {
    Map<Path, FileTime> times = new HashMap<>();
    for (Path file : files()) {
      times.put(file, Files.getLastModifiedTime(file));
    }
    return times;
  }

  private Map<Path, String> contents() throws Exception {
    Map<Path, String> contents = new HashMap<>();
    for (Path file : files()) {
      contents.put(file, read(file));
    }
    return contents;
  }

  private List<Path> files() {
    LocalCertificateStore store = store();
    return List.of(
        store.caFile(), store.caKeyFile(), store.certificateFile(), store.privateKeyFile());
  }

  private static String read(Path file) throws Exception {
    return Files.readString(file, StandardCharsets.US_ASCII);
  }

  private static String perms(Path path) throws Exception {
    return PosixFilePermissions.toString(Files.getPosixFilePermissions(path));
  }
}
