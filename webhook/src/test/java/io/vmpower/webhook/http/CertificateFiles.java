package io.vmpower.webhook.http;

import io.vmpower.certs.CertificateAuthority;
import io.vmpower.certs.CertificateBundle;
import io.vmpower.certs.CertificateIssuer;
import io.vmpower.certs.KeyAlgorithm;
import io.vmpower.certs.Pem;
import io.vmpower.certs.ServingIdentity;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

/** Rotations done from outside, by writing the files the local certificate store reads. */
final class CertificateFiles {
  private CertificateFiles() {}

  /**
   * Writes a new serving certificate signed by {@code signer}; when that is {@code newCa}, also the
   * new CA, with the old one still in the bundle (the second step of a CA rotation).
   */
  static CertificateBundle rotate(
      Path certs,
      CertificateIssuer issuer,
      CertificateAuthority signer,
      CertificateAuthority oldCa,
      CertificateAuthority newCa)
      throws Exception {
    CertificateBundle next =
        issuer.issueServing(
            signer,
            ServingIdentity.forLocalRun("vmpower", "vmpower-system"),
            KeyAlgorithm.EC_P256,
            Duration.ofDays(7));
    if (signer == newCa) {
      Files.writeString(certs.resolve("ca.key"), newCa.privateKeyPem());
      Files.writeString(
          certs.resolve("ca.crt"), Pem.encode(newCa.certificate(), oldCa.certificate()));
    }
    Files.writeString(certs.resolve("tls.key"), next.privateKeyPem());
    Files.writeString(certs.resolve("tls.crt"), next.certificatePem());
    return next;
  }
}
