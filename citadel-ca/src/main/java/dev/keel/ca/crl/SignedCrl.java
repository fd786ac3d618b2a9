package dev.keel.ca.crl;

import dev.keel.identity.Pem;
import java.security.cert.CRLException;
import java.security.cert.X509CRL;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.Objects;

/**
 * A CRL this CA signed and checked: it parses, its signature verifies with {@code issuer}'s public
 * key, and it names {@code issuer} as its issuer. Immutable; {@link #der()} returns a copy.
 *
 * @param number the CRL Number extension's value
 * @param entries how many revoked certificates it lists (expired ones may have been dropped)
 */
public record SignedCrl(X509CRL crl, X509Certificate issuer, long number, Instant thisUpdate, Instant nextUpdate,
        int entries) {

    /** RFC 7468's label. */
    public static final String PEM_TYPE = "X509 CRL";

    public SignedCrl {
        Objects.requireNonNull(crl, "crl");
        Objects.requireNonNull(issuer, "issuer");
        Objects.requireNonNull(thisUpdate, "thisUpdate");
        Objects.requireNonNull(nextUpdate, "nextUpdate");
    }

    /** The DER encoding, as served at {@code /crl} with content type {@code application/pkix-crl}. */
    public byte[] der() {
        try {
            return crl.getEncoded();
        } catch (CRLException e) {
            throw new IllegalStateException("a parsed CRL cannot be re-encoded", e);
        }
    }

    /** {@code -----BEGIN X509 CRL-----}, as {@code openssl crl} and {@code -CRLfile} read it. */
    public String pem() {
        return Pem.encode(PEM_TYPE, der());
    }
}
