package dev.keel.identity;

/**
 * The signature algorithms Keel signs certificates and JWT-SVIDs with. Each names its X.509
 * AlgorithmIdentifier OID, its JCA name and its JWS {@code alg}, so a {@link SigningKey} backend
 * and the certificate or token encoder agree on one value.
 */
public enum SignatureAlgorithm {
    ECDSA_SHA256("SHA256withECDSA", "1.2.840.10045.4.3.2", "ES256", "SHA-256", KeyType.Family.EC),
    ECDSA_SHA384("SHA384withECDSA", "1.2.840.10045.4.3.3", "ES384", "SHA-384", KeyType.Family.EC),
    ECDSA_SHA512("SHA512withECDSA", "1.2.840.10045.4.3.4", "ES512", "SHA-512", KeyType.Family.EC),
    RSA_PKCS1_SHA256("SHA256withRSA", "1.2.840.113549.1.1.11", "RS256", "SHA-256", KeyType.Family.RSA),
    RSA_PKCS1_SHA384("SHA384withRSA", "1.2.840.113549.1.1.12", "RS384", "SHA-384", KeyType.Family.RSA),
    RSA_PKCS1_SHA512("SHA512withRSA", "1.2.840.113549.1.1.13", "RS512", "SHA-512", KeyType.Family.RSA);

    private final String jcaName;
    private final String oid;
    private final String jwsName;
    private final String digestName;
    private final KeyType.Family family;

    SignatureAlgorithm(String jcaName, String oid, String jwsName, String digestName, KeyType.Family family) {
        this.jcaName = jcaName;
        this.oid = oid;
        this.jwsName = jwsName;
        this.digestName = digestName;
        this.family = family;
    }

    public String jcaName() {
        return jcaName;
    }

    /** The X.509 signature AlgorithmIdentifier OID (RFC 5758, RFC 4055). */
    public String oid() {
        return oid;
    }

    /** The JWS {@code alg} header value (RFC 7518). */
    public String jwsName() {
        return jwsName;
    }

    /** The JCA name of the message digest the algorithm hashes with. */
    public String digestName() {
        return digestName;
    }

    public KeyType.Family family() {
        return family;
    }

    /** True when a key of {@code type} can make this signature. */
    public boolean fits(KeyType type) {
        return type.family() == family;
    }
}
