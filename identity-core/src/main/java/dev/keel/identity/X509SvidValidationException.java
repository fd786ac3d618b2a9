package dev.keel.identity;

import java.security.cert.CertificateException;
import java.util.Objects;

/**
 * An X.509-SVID chain that {@link X509SvidVerifier} rejected. {@link #rule()} names the rule of the
 * X509-SVID specification (or of Keel's key policy) that failed; the message says the same in words,
 * with the certificate concerned. A {@link CertificateException}, so a TLS trust manager can throw it
 * as it is.
 */
public final class X509SvidValidationException extends CertificateException {

    private static final long serialVersionUID = 1L;

    /** The rule that failed. */
    public enum Rule {
        /** The chain is empty or contains null. */
        EMPTY_CHAIN,
        /** The leaf does not have exactly one URI SAN (X509-SVID section 2). */
        LEAF_URI_SAN,
        /** The leaf's URI SAN is not a valid SPIFFE ID, or has no path (sections 3.1, 5.2). */
        LEAF_SPIFFE_ID,
        /** The leaf is a CA certificate (sections 4.1, 5.2). */
        LEAF_CA,
        /** The leaf lacks digitalSignature, or has keyCertSign or cRLSign, or has no key usage (sections 4.3, 5.2). */
        LEAF_KEY_USAGE,
        /** An intermediate is not a CA with keyCertSign (sections 3.2, 4.1, 4.3). */
        SIGNING_CERTIFICATE,
        /** A key in the chain is weaker than Keel accepts ({@link KeyType}). */
        WEAK_KEY,
        /** There is no bundle, or no X.509 authority, for the leaf's trust domain. */
        NO_BUNDLE,
        /** A certificate in the chain, or the authority it chains to, has expired. */
        EXPIRED,
        /** A certificate in the chain, or the authority it chains to, is not valid yet. */
        NOT_YET_VALID,
        /** A signature inside the chain does not verify. */
        SIGNATURE,
        /** The chain does not lead to an X.509 authority of the leaf's trust domain. */
        UNTRUSTED,
        /** Another RFC 5280 path validation failure (path length, name constraints, critical extensions). */
        PATH_VALIDATION
    }

    private final Rule rule;

    X509SvidValidationException(Rule rule, String message, Throwable cause) {
        super("X.509-SVID rejected [" + rule + "]: " + message, cause);
        this.rule = Objects.requireNonNull(rule, "rule");
    }

    X509SvidValidationException(Rule rule, String message) {
        this(rule, message, null);
    }

    public Rule rule() {
        return rule;
    }
}
