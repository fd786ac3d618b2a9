/**
 * Where policies come from, kept current: {@link dev.keel.policy.source.DirectoryPolicySource} (files,
 * including a mounted ConfigMap) and {@link dev.keel.policy.source.KubernetesPolicySource} (the
 * {@code security.istio.io} objects of a cluster), both behind {@link dev.keel.policy.source.PolicySource},
 * which hands out immutable {@link dev.keel.policy.source.PolicySet} snapshots. A bad update never replaces
 * a good one; see each source for what "last good" means there.
 */
package dev.keel.policy.source;
