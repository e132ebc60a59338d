package io.vmpower.certs;

import java.math.BigInteger;
import java.security.AlgorithmParameters;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.interfaces.ECPublicKey;
import java.security.interfaces.RSAPublicKey;
import java.security.spec.ECGenParameterSpec;
import java.security.spec.ECParameterSpec;
import java.util.Optional;

/**
 * Key types vmpower issues. {@link #EC_P256} is the default: small keys, fast handshakes, and
 * accepted by every Kubernetes API server version.
 */
public enum KeyAlgorithm {
  EC_P256,
  RSA_2048,
  RSA_3072;

  private static final ECParameterSpec P256 = p256();

  /** The algorithm vmpower uses unless told otherwise. */
  public static KeyAlgorithm defaultAlgorithm() {
    return EC_P256;
  }

  /** A fresh key pair, from the JDK's own providers (no BouncyCastle provider is registered). */
  public KeyPair generateKeyPair(SecureRandom random) {
    try {
      KeyPairGenerator generator;
      switch (this) {
        case EC_P256 -> {
          generator = KeyPairGenerator.getInstance("EC");
          generator.initialize(new ECGenParameterSpec("secp256r1"), random);
        }
        case RSA_2048, RSA_3072 -> {
          generator = KeyPairGenerator.getInstance("RSA");
          generator.initialize(this == RSA_2048 ? 2048 : 3072, random);
        }
        default -> throw new IllegalStateException("unknown key algorithm " + this);
      }
      return generator.generateKeyPair();
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("this JDK cannot generate " + this + " keys", e);
    }
  }

  /** The signature algorithm a key of this type signs certificates with. */
  public String signatureAlgorithm() {
    return this == EC_P256 ? "SHA256withECDSA" : "SHA256withRSA";
  }

  public boolean isRsa() {
    return this != EC_P256;
  }

  /** Which of the supported algorithms a public key belongs to, if any. */
  public static Optional<KeyAlgorithm> of(PublicKey key) {
    if (key instanceof ECPublicKey ec) {
      ECParameterSpec params = ec.getParams();
      boolean p256 =
          params.getOrder().equals(P256.getOrder())
              && params.getCurve().equals(P256.getCurve())
              && params.getGenerator().equals(P256.getGenerator());
      return p256 ? Optional.of(EC_P256) : Optional.empty();
    }
    if (key instanceof RSAPublicKey rsa) {
      BigInteger modulus = rsa.getModulus();
      return switch (modulus.bitLength()) {
        case 2048 -> Optional.of(RSA_2048);
        case 3072 -> Optional.of(RSA_3072);
        default -> Optional.empty();
      };
    }
    return Optional.empty();
  }

  private static ECParameterSpec p256() {
    try {
      AlgorithmParameters parameters = AlgorithmParameters.getInstance("EC");
      parameters.init(new ECGenParameterSpec("secp256r1"));
      return parameters.getParameterSpec(ECParameterSpec.class);
    } catch (GeneralSecurityException e) {
      throw new ExceptionInInitializerError(e);
    }
  }
}
