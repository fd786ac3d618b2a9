package dev.keel.ca.auth;

import dev.keel.identity.SpiffeId;
import java.util.Objects;

/**
 * A caller whose identity has been proven, and how. The CA signs only {@link #identity()} for it
 * (a node agent may also be entitled to the workloads attested on its node; see the entry store).
 *
 * @param identity the proven SPIFFE ID
 * @param method how it was proven, for audit lines: {@code x509-svid}, {@code k8s-token}, {@code jwt}
 * @param subject a non-secret description of the credential, e.g.
 *     {@code system:serviceaccount:default:orders} or the client certificate's serial
 */
public record Caller(SpiffeId identity, String method, String subject) {

    public Caller {
        Objects.requireNonNull(identity, "identity");
        Objects.requireNonNull(method, "method");
        Objects.requireNonNull(subject, "subject");
    }

    /** One token for audit lines: {@code k8s-token:system:serviceaccount:default:orders}. */
    public String describe() {
        return method + ":" + subject;
    }
}
