package io.vmpower.certs.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.vmpower.certs.CertificateAuthority;
import io.vmpower.certs.CertificateBundle;
import io.vmpower.certs.CertificateDataException;
import io.vmpower.certs.CertificateIssuer;
import io.vmpower.certs.KeyAlgorithm;
import io.vmpower.certs.MutableClock;
import io.vmpower.certs.ServingIdentity;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The mounted directory is laid out the way the kubelet's atomic writer does it. */
class FileCertificateSourceTest {
  @TempDir Path mount;
  final CertificateIssuer issuer = new CertificateIssuer(MutableClock.at("2026-11-25T10:00:00Z"));
  final CertificateAuthority ca =
      issuer.newAuthority("ca", KeyAlgorithm.EC_P256, Duration.ofDays(90));
  final ServingIdentity identity = ServingIdentity.forService("vmpower", "vmpower-system");
  int generation;

  CertificateBundle issue() {
    return issuer.issueServing(ca, identity, KeyAlgorithm.EC_P256, Duration.ofDays(30));
  }

  /** Writes a new timestamped directory and swaps ..data to it, like the kubelet. */
  void publish(String caPem, String crt, String key) throws Exception {
    Path version = mount.resolve("..2026_11_25_10_00_00." + (++generation));
    Files.createDirectory(version);
    Files.writeString(version.resolve("ca.crt"), caPem);
    Files.writeString(version.resolve("tls.crt"), crt);
    Files.writeString(version.resolve("tls.key"), key);
    Path tmp = mount.resolve("..data_tmp");
    Files.createSymbolicLink(tmp, version.getFileName());
    Files.move(
        tmp,
        mount.resolve("..data"),
        StandardCopyOption.ATOMIC_MOVE,
        StandardCopyOption.REPLACE_EXISTING);
    for (String name : new String[] {"ca.crt", "tls.crt", "tls.key"}) {
      Path link = mount.resolve(name);
      if (!Files.isSymbolicLink(link)) {
        Files.createSymbolicLink(link, Path.of("..data", name));
      }
    }
  }

  void publish(CertificateBundle bundle) throws Exception {
    publish(bundle.caPem(), bundle.certificatePem(), bundle.privateKeyPem());
  }

  @Test
  void readsAndNoticesASymlinkSwap() throws Exception {
    CertificateBundle first = issue();
    publish(first);
    FileCertificateSource source = new FileCertificateSource(mount);

    assertThat(source.refresh(pem -> false)).isEqualTo(first);
    assertThat(source.read()).isSameAs(source.read()); // unchanged content: same object

    CertificateBundle second = issue();
    publish(second);
    assertThat(Files.isSymbolicLink(mount.resolve("tls.crt"))).isTrue();
    assertThat(source.read()).isEqualTo(second);
  }

  @Test
  void mismatchedPairKeepsTheLastGoodBundle() throws Exception {
    CertificateBundle good = issue();
    publish(good);
    FileCertificateSource source = new FileCertificateSource(mount);
    source.read();

    CertificateBundle other = issue();
    publish(other.caPem(), other.certificatePem(), good.privateKeyPem());

    assertThat(source.read()).isEqualTo(good);
  }

  @Test
  void nothingUsableIsAClearError() throws Exception {
    FileCertificateSource source = new FileCertificateSource(mount);
    assertThatThrownBy(source::read)
        .isInstanceOf(CertificateDataException.class)
        .hasMessageContaining("ca.crt does not exist");

    CertificateBundle good = issue();
    publish(good.caPem(), good.certificatePem(), "not a key");
    assertThatThrownBy(source::read)
        .isInstanceOf(CertificateDataException.class)
        .hasMessageContaining("private key");
  }
}
