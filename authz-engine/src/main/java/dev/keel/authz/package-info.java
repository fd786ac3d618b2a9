/**
 * Istio {@code security.istio.io/v1} AuthorizationPolicy, compiled per workload into an immutable
 * decision program that gives Istio's answer, explains it, and allocates nothing per decision.
 */
package dev.keel.authz;
