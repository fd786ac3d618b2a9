/**
 * Key custody backends whose keys never leave their custodian: a PKCS#11 token (HSM) and Vault
 * Transit as {@link dev.keel.identity.SigningKey}s, and Vault PKI as the upstream authority that
 * signs Keel's issuing intermediate.
 */
package dev.keel.hsm;
