/**
 * Istio's security policies, read exactly: {@code security.istio.io/v1} and {@code v1beta1}
 * {@link dev.keel.policy.AuthorizationPolicy}, {@link dev.keel.policy.RequestAuthentication} and
 * {@link dev.keel.policy.PeerAuthentication} as immutable records, parsed from YAML or JSON by
 * {@link dev.keel.policy.PolicyParser} into a {@link dev.keel.policy.ParseResult}: the policies, or every
 * problem in the file with its line, column and field path. Validation follows Istio's own (istiod's
 * {@code pkg/config/validation} and the CRD schema); {@link dev.keel.policy.PolicyValidator} applies it to
 * policies built in code. No evaluation logic lives here.
 *
 * <p>Everything in this package is immutable and thread-safe. {@code dev.keel.policy.internal} is not API.
 */
package dev.keel.policy;
