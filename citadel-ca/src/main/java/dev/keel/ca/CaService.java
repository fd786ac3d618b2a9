package dev.keel.ca;

import dev.keel.ca.audit.AuditLog;
import dev.keel.ca.audit.AuditRecord;
import dev.keel.ca.auth.AuthenticationException;
import dev.keel.ca.auth.Caller;
import dev.keel.ca.auth.CallerAuthenticator;
import dev.keel.ca.auth.CallerCredentials;
import dev.keel.identity.InvalidSpiffeIdException;
import dev.keel.identity.PublicKeys;
import dev.keel.identity.SpiffeId;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;

/**
 * The CA's one entry point for X.509-SVID requests: authenticate the caller, parse and check the
 * CSR, authorize the identity it asks for against the identity the caller proved, issue, and audit.
 * The future completes only after the audit line, for an issuance or a refusal, is on disk; if it
 * cannot be written, nothing is returned but UNAVAILABLE.
 *
 * <p>The CA signs only the identity the caller proved: a CSR's own SAN is a request, never a claim.
 * A caller holding {@code ns/a/sa/x} cannot obtain {@code ns/b/sa/y} whatever the CSR says.
 *
 * <p>Thread-safe. {@link #createCertificate} may block on authentication (a TokenReview); call it
 * off the event loop.
 */
public final class CaService {

    private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(CaService.class);

    private final X509SvidIssuer issuer;
    private final JwtSvidMinter jwtMinter;
    private final CallerAuthenticator authenticator;
    private final AuditLog audit;
    private final Clock clock;

    public CaService(X509SvidIssuer issuer, JwtSvidMinter jwtMinter, CallerAuthenticator authenticator, AuditLog audit,
            Clock clock) {
        this.issuer = Objects.requireNonNull(issuer, "issuer");
        this.jwtMinter = Objects.requireNonNull(jwtMinter, "jwtMinter");
        this.authenticator = Objects.requireNonNull(authenticator, "authenticator");
        this.audit = Objects.requireNonNull(audit, "audit");
        this.clock = Objects.requireNonNull(clock, "clock");
    }

    public X509SvidIssuer issuer() {
        return issuer;
    }

    /**
     * Serves one {@code CreateCertificate} request.
     *
     * @param requestedTtl {@link Duration#ZERO} for the default
     * @return the issued SVID, or a future failed with a {@link CaException}
     */
    public CompletableFuture<IssuedX509Svid> createCertificate(CallerCredentials credentials, String csrPem,
            Duration requestedTtl) {
        Objects.requireNonNull(credentials, "credentials");
        Caller caller;
        try {
            caller = authenticate(credentials);
        } catch (CaException e) {
            return refuse("unauthenticated", null, null, e);
        }
        try {
            return issueFor(caller.describe(), csr -> authorize(caller, csr), csrPem, requestedTtl);
        } catch (RuntimeException e) {
            return refuse(caller.describe(), null, null, internal(e));
        }
    }

    /**
     * Issues for an operator with access to the CA's key (the offline {@code keel ca issue}): the
     * identity is the CSR's one URI SAN, which must be in the CA's trust domain. Still audited.
     */
    public CompletableFuture<IssuedX509Svid> issueAsOperator(String operator, String csrPem, Duration requestedTtl) {
        try {
            return issueFor("operator:" + operator, CaService::requestedIdentity, csrPem, requestedTtl);
        } catch (RuntimeException e) {
            return refuse("operator:" + operator, null, null, internal(e));
        }
    }

    /**
     * Parses the CSR, lets {@code authorizer} decide the identity, issues and audits: the one issuing
     * path, shared with {@link NodeService}. Refusals are audited under {@code caller}.
     */
    CompletableFuture<IssuedX509Svid> issueFor(String caller, Authorizer authorizer, String csrPem,
            Duration requestedTtl) {
        CertificateSigningRequest csr;
        SpiffeId identity = null;
        try {
            checkTtl(requestedTtl);
            csr = CertificateSigningRequest.parse(csrPem);
        } catch (CaException e) {
            return refuse(caller, null, null, e);
        }
        String fingerprint = PublicKeys.sha256Fingerprint(csr.publicKey());
        IssuedX509Svid issued;
        try {
            identity = authorizer.authorize(csr);
            issued = issuer.issue(new X509SvidParams(identity, csr.publicKey(), requestedTtl));
        } catch (CaException e) {
            return refuse(caller, identity, fingerprint, e);
        }
        AuditRecord record = AuditRecord.issued(clock.instant(), caller, issued.spiffeId().toString(),
                issued.serial().toString(16), issued.notAfter(), fingerprint);
        return durably(record, issued);
    }

    Caller authenticate(CallerCredentials credentials) throws CaException {
        try {
            return authenticator.authenticate(credentials).orElseThrow(() -> new CaException(
                    CaException.Code.UNAUTHENTICATED,
                    "no credential: present a client X.509-SVID or an 'authorization: Bearer' service account token"));
        } catch (AuthenticationException e) {
            throw new CaException(e.unavailable() ? CaException.Code.UNAVAILABLE : CaException.Code.UNAUTHENTICATED,
                    "authentication failed: " + e.getMessage(), e);
        } catch (RuntimeException e) {
            throw internal(e);
        }
    }

    /** The caller gets its own proven identity, and a CSR may only ask for exactly that. */
    private static SpiffeId authorize(Caller caller, CertificateSigningRequest csr) throws CaException {
        checkShape(csr);
        if (csr.uriSans().isEmpty()) {
            return caller.identity();
        }
        String requested = csr.uriSans().get(0);
        if (!requested.equals(caller.identity().toString())) {
            throw new CaException(CaException.Code.PERMISSION_DENIED, "caller " + caller.identity()
                    + " may not obtain " + abbreviate(requested) + " (a CSR may only ask for the caller's own identity)");
        }
        return caller.identity();
    }

    private static SpiffeId requestedIdentity(CertificateSigningRequest csr) throws CaException {
        checkShape(csr);
        if (csr.uriSans().isEmpty()) {
            throw new CaException(CaException.Code.INVALID_ARGUMENT,
                    "csr: no URI SAN (expected: the SPIFFE ID to issue for)");
        }
        try {
            return SpiffeId.parse(csr.uriSans().get(0));
        } catch (InvalidSpiffeIdException e) {
            throw new CaException(CaException.Code.INVALID_ARGUMENT, "csr: URI SAN is not a SPIFFE ID: " + e.getMessage());
        }
    }

    /**
     * For a caller entitled to exactly {@code entitled} ({@code who} names it in the refusal): a CSR
     * may ask for that identity or for none.
     */
    static SpiffeId entitledTo(SpiffeId entitled, String who, CertificateSigningRequest csr) throws CaException {
        checkShape(csr);
        if (csr.uriSans().isEmpty()) {
            return entitled;
        }
        String requested = csr.uriSans().get(0);
        if (!requested.equals(entitled.toString())) {
            throw new CaException(CaException.Code.PERMISSION_DENIED, who + " may not obtain " + abbreviate(requested)
                    + " (a CSR may only ask for " + entitled + " or for nothing)");
        }
        return entitled;
    }

    static void checkShape(CertificateSigningRequest csr) throws CaException {
        if (csr.requestsCa()) {
            throw new CaException(CaException.Code.INVALID_ARGUMENT,
                    "csr: asks for a CA certificate (basicConstraints CA:true or keyCertSign/cRLSign); never granted");
        }
        if (!csr.otherSans().isEmpty()) {
            throw new CaException(CaException.Code.INVALID_ARGUMENT, "csr: SAN " + abbreviate(csr.otherSans().get(0))
                    + " is not allowed (an X.509-SVID carries one URI SAN, its SPIFFE ID)");
        }
        if (csr.uriSans().size() > 1) {
            throw new CaException(CaException.Code.INVALID_ARGUMENT, "csr: " + csr.uriSans().size()
                    + " URI SANs (expected: at most one, the caller's SPIFFE ID)");
        }
    }

    static void checkTtl(Duration ttl) throws CaException {
        Objects.requireNonNull(ttl, "requestedTtl");
        if (ttl.isNegative()) {
            throw new CaException(CaException.Code.INVALID_ARGUMENT, "ttl: " + ttl.toSeconds() + "s (expected: >= 0)");
        }
        if (ttl.compareTo(IssuancePolicy.ABSURD_TTL) > 0) {
            throw new CaException(CaException.Code.INVALID_ARGUMENT, "ttl: " + ttl.toSeconds() + "s (expected: <= "
                    + IssuancePolicy.ABSURD_TTL.toSeconds() + "s)");
        }
    }

    /** Audits a refusal; the future fails with {@code cause} once the line is durable (or UNAVAILABLE). */
    <T> CompletableFuture<T> refuse(String caller, SpiffeId identity, String fingerprint, CaException cause) {
        AuditRecord record = AuditRecord.refused(clock.instant(), caller,
                identity == null ? null : identity.toString(), fingerprint, cause.code() + ": " + cause.getMessage());
        return audit.append(record).handle((ok, failure) -> {
            throw new CompletionException(failure == null ? cause : auditUnavailable(failure));
        });
    }

    <T> CompletableFuture<T> durably(AuditRecord record, T result) {
        return audit.append(record).handle((ok, failure) -> {
            if (failure != null) {
                throw new CompletionException(auditUnavailable(failure));
            }
            return result;
        });
    }

    public JwtSvidMinter jwtMinter() {
        return jwtMinter;
    }

    /**
     * As {@link #mintJwtSvid(CallerCredentials, SpiffeId, List, Duration)} from a request's raw
     * fields, so that a malformed one is refused and audited like any other refusal.
     *
     * @param spiffeId empty for the caller's own identity
     */
    public CompletableFuture<MintedJwtSvid> mintJwtSvid(CallerCredentials credentials, String spiffeId,
            List<String> audience, long ttlSeconds) {
        SpiffeId requested = null;
        try {
            if (!spiffeId.isEmpty()) {
                requested = SpiffeId.parse(spiffeId);
            }
            if (ttlSeconds < 0) {
                throw new CaException(CaException.Code.INVALID_ARGUMENT, "ttl_seconds: " + ttlSeconds + " (expected: >= 0)");
            }
        } catch (InvalidSpiffeIdException e) {
            return refuse("unauthenticated", null, null,
                    new CaException(CaException.Code.INVALID_ARGUMENT, "spiffe_id: " + e.getMessage()));
        } catch (CaException e) {
            return refuse("unauthenticated", requested, null, e);
        }
        return mintJwtSvid(credentials, requested, audience, Duration.ofSeconds(ttlSeconds));
    }

    /**
     * Mints a JWT-SVID for the caller's own proven identity. {@code spiffeId} may be null (the
     * caller's identity) or must equal it.
     */
    public CompletableFuture<MintedJwtSvid> mintJwtSvid(CallerCredentials credentials, SpiffeId spiffeId,
            List<String> audience, Duration requestedTtl) {
        Objects.requireNonNull(credentials, "credentials");
        Caller caller;
        try {
            caller = authenticate(credentials);
        } catch (CaException e) {
            return refuse("unauthenticated", spiffeId, null, e);
        }
        if (spiffeId != null && !spiffeId.equals(caller.identity())) {
            return refuse(caller.describe(), caller.identity(), null, new CaException(CaException.Code.PERMISSION_DENIED,
                    "caller " + caller.identity() + " may not obtain a JWT-SVID for " + spiffeId));
        }
        return mintFor(caller.describe(), caller.identity(), audience, requestedTtl);
    }

    /** Mints for an identity already authorized, and audits: the one minting path, shared with {@link NodeService}. */
    CompletableFuture<MintedJwtSvid> mintFor(String caller, SpiffeId subject, List<String> audience,
            Duration requestedTtl) {
        MintedJwtSvid minted;
        try {
            minted = jwtMinter.mint(subject, audience, requestedTtl);
        } catch (CaException e) {
            return refuse(caller, subject, null, e);
        } catch (RuntimeException e) {
            return refuse(caller, subject, null, internal(e));
        }
        // A JWT-SVID has no serial or subject key: the audit line carries its jti and the signing key id.
        AuditRecord record = new AuditRecord(clock.instant(), caller, minted.spiffeId().toString(),
                "jwt:" + minted.jwtId(), minted.expiresAt(), "jwt-key:" + jwtMinter.keyId(), AuditRecord.Outcome.ISSUED,
                null);
        return durably(record, minted);
    }

    private static CaException auditUnavailable(Throwable failure) {
        Throwable cause = failure instanceof CompletionException && failure.getCause() != null ? failure.getCause() : failure;
        return new CaException(CaException.Code.UNAVAILABLE,
                "audit log unavailable, nothing issued: " + cause.getMessage(), cause);
    }

    static String abbreviate(String s) {
        return s.length() <= 200 ? s : s.substring(0, 197) + "...";
    }

    /** Decides which identity a CSR gets, or refuses. */
    @FunctionalInterface
    interface Authorizer {
        SpiffeId authorize(CertificateSigningRequest csr) throws CaException;
    }

    /** Unwraps a future's failure to the {@link CaException} it carries, or INTERNAL. */
    public static CaException unwrap(Throwable failure) {
        Throwable t = failure;
        while ((t instanceof CompletionException || t instanceof java.util.concurrent.ExecutionException)
                && t.getCause() != null) {
            t = t.getCause();
        }
        if (t instanceof CaException) {
            return (CaException) t;
        }
        return internal(t);
    }

    /** A failure that is not the caller's: logged here in full, reported to the caller in general terms. */
    static CaException internal(Throwable t) {
        log.error("internal error in the CA", t);
        return new CaException(CaException.Code.INTERNAL, "internal error in the CA; see its log", t);
    }

}
