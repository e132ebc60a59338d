/**
 * Certificates for the webhook's TLS: a CA and serving certificates issued with BouncyCastle's
 * builders on top of the JDK's providers (no security provider is registered), PEM in and out,
 * renewal at 2/3 of the lifetime, and a directory store for local runs. See {@code
 * certs/README.md}.
 */
package io.vmpower.certs;
