package dev.keel.authz;

/**
 * How the request reached the workload. Istio compiles a policy differently for each: on a
 * {@link #TCP} connection the HTTP-only fields (requestPrincipals, hosts, methods, paths, their
 * {@code not*} forms, and the {@code request.*} conditions) cannot be evaluated, so an ALLOW rule that
 * uses one is skipped and a DENY, AUDIT or CUSTOM rule ignores the field (Istio's "TCP traffic" task and
 * {@code pilot/pkg/security/authz/model}: "a smaller allow policy, a wider deny policy").
 */
public enum Protocol {
    /** HTTP/1.1, HTTP/2 or gRPC: every field applies. */
    HTTP,
    /** A TCP connection (or any non-HTTP protocol): only connection-level fields apply. */
    TCP
}
