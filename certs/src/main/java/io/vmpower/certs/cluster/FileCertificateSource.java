package io.vmpower.certs.cluster;

import io.vmpower.certs.CertificateBundle;
import io.vmpower.certs.CertificateChecks;
import io.vmpower.certs.CertificateDataException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Objects;
import java.util.function.Predicate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * cert-manager mode: {@code tls.crt}, {@code tls.key} and {@code ca.crt} from a mounted Secret
 * volume.
 *
 * <p>The kubelet updates such a volume by writing a new timestamped directory and swapping the
 * {@code ..data} symlink, so watching the files themselves for events misses updates. Each {@link
 * #refresh} reads the files again and compares content. The three files are read one by one, so a
 * read can straddle a swap: a key that does not belong to the certificate is read once more, and if
 * it still does not fit, the last good bundle stays in use.
 */
public final class FileCertificateSource implements CertificateSource {
  private static final Logger log = LoggerFactory.getLogger(FileCertificateSource.class);

  private final Path dir;
  private CertificateBundle last;

  public FileCertificateSource(Path dir) {
    this.dir = Objects.requireNonNull(dir, "dir");
  }

  public Path directory() {
    return dir;
  }

  @Override
  public CertificateBundle refresh(Predicate<String> published) {
    return read();
  }

  /**
   * The current bundle.
   *
   * @throws CertificateDataException if nothing usable was ever read (the message says what is
   *     wrong with which file)
   */
  public synchronized CertificateBundle read() {
    RuntimeException problem = null;
    for (int attempt = 0; attempt < 2; attempt++) {
      try {
        CertificateBundle bundle =
            new CertificateBundle(text("ca.crt"), text("tls.crt"), text("tls.key"));
        if (bundle.equals(last)) {
          return last;
        }
        validate(bundle);
        if (last != null) {
          log.info(
              "certificate files in {} changed; serving certificate until {}",
              dir,
              bundle.notAfter());
        }
        last = bundle;
        return bundle;
      } catch (CertificateDataException | UncheckedIOException e) {
        problem = e;
      }
    }
    if (last != null) {
      log.warn(
          "certificate files in {} are not usable, keeping the last good ones: {}",
          dir,
          problem.getMessage());
      return last;
    }
    throw problem;
  }

  private static void validate(CertificateBundle bundle) {
    bundle.authorities(); // ca.crt must parse
    if (!CertificateChecks.keyMatches(bundle.leaf().getPublicKey(), bundle.privateKey())) {
      throw new CertificateDataException("tls.key does not belong to tls.crt");
    }
  }

  private String text(String name) {
    Path file = dir.resolve(name);
    try {
      return Files.readString(file, StandardCharsets.US_ASCII);
    } catch (NoSuchFileException e) {
      throw new CertificateDataException(file + " does not exist");
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + file, e);
    }
  }
}
