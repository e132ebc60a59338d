package io.vmpower.injector;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/** The domain monitor bash script, as shipped on the classpath. */
public final class DomainMonitorScript {
  /** Classpath location of the script. */
  public static final String RESOURCE = "/io/vmpower/injector/domain-monitor.sh";

  private static final String TEXT = load();
  private static final String SHA256 = digest(TEXT);

  private DomainMonitorScript() {}

  /**
   * The script text, to run as {@code bash -c <text> vmpower-domain-monitor <launcher argv...>}.
   */
  public static String text() {
    return TEXT;
  }

  /** Lower-case hex SHA-256 of the UTF-8 script text. */
  public static String sha256() {
    return SHA256;
  }

  private static String load() {
    try (InputStream in = DomainMonitorScript.class.getResourceAsStream(RESOURCE)) {
      if (in == null) {
        throw new IllegalStateException("missing classpath resource " + RESOURCE);
      }
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static String digest(String text) {
    try {
      return HexFormat.of()
          .formatHex(
              MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8)));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
