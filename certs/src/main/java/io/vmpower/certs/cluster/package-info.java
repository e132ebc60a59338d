/**
 * Certificates in a cluster: the self-managed Secret shared by replicas, the caBundle kept in the
 * MutatingWebhookConfiguration, cert-manager's mounted files, and the manager that ties them to TLS
 * reloads and readiness. Application wiring (Spring) lives elsewhere. See {@code certs/README.md}.
 */
package io.vmpower.certs.cluster;
