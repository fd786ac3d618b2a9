package dev.keel.ca;

import dev.keel.ca.audit.AuditLog;
import dev.keel.ca.auth.CallerAuthenticator;
import dev.keel.ca.auth.CallerAuthenticatorChain;
import dev.keel.ca.auth.X509SvidAuthenticator;
import dev.keel.ca.node.JoinTokens;
import dev.keel.ca.node.PodVerifier;
import dev.keel.ca.node.RegistrationEntries;
import dev.keel.identity.Bundle;
import dev.keel.identity.BundleSource;
import dev.keel.identity.TrustDomain;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * A CA assembled from its loaded data directory: issuer, JWT-SVID minter, trust bundle, audit log
 * and the service that ties them together, plus node attestation ({@link NodeService}) over the
 * join tokens and registration entries kept in the same directory. Caller authentication is the
 * client X.509-SVID first, then whatever token authenticators the composition root adds
 * (TokenReview, a JWT issuer).
 *
 * <p>Thread-safe; {@link #close()} drains and closes the audit log.
 */
public final class CitadelCa implements AutoCloseable {

    /** JWT-SVIDs are short-lived bearer tokens: 5 minutes by default, at most 1 hour. */
    public static final Duration JWT_DEFAULT_TTL = Duration.ofMinutes(5);
    public static final Duration JWT_MAX_TTL = Duration.ofHours(1);

    private volatile CaDirectory.LoadedCa loaded;
    private final KeyResolver keys;
    private final Clock clock;
    private final TrustBundle bundle;
    private final AuditLog audit;
    private final CaService service;
    private final JoinTokens joinTokens;
    private final RegistrationEntries entries;
    private final NodeService nodeService;

    private CitadelCa(CaDirectory.LoadedCa loaded, KeyResolver keys, IssuancePolicy policy,
            List<CallerAuthenticator> tokenAuthenticators, PodVerifier pods, Clock clock) {
        this.loaded = loaded;
        this.keys = keys;
        this.clock = clock;
        SigningCa ca = loaded.signingCa();
        this.bundle = new TrustBundle(ca, loaded.jwtKeyId(), loaded.jwtKey().publicKey(), 1);
        BundleSource own = td -> td.equals(ca.trustDomain()) ? Optional.of(bundle.bundle()) : Optional.<Bundle>empty();
        List<CallerAuthenticator> authenticators = new ArrayList<>();
        authenticators.add(new X509SvidAuthenticator(own, () -> bundle.bundle().sequenceNumber(), clock));
        authenticators.addAll(tokenAuthenticators);
        this.audit = AuditLog.open(loaded.auditLog());
        this.service = new CaService(new X509SvidIssuer(ca, policy, clock),
                new JwtSvidMinter(loaded.jwtKey(), loaded.jwtKeyId(), JWT_DEFAULT_TTL, JWT_MAX_TTL, clock),
                CallerAuthenticatorChain.of(authenticators), audit, clock);
        TrustDomain trustDomain = loaded.config().trustDomain();
        this.joinTokens = JoinTokens.open(loaded.dir(), trustDomain, clock);
        this.entries = RegistrationEntries.open(loaded.dir(), trustDomain, clock);
        this.nodeService = new NodeService(service, joinTokens, entries, pods);
    }

    /**
     * Opens the audit log and assembles the CA.
     *
     * @param tokenAuthenticators checked after the client certificate, in order
     */
    public static CitadelCa open(CaDirectory.LoadedCa loaded, IssuancePolicy policy,
            List<CallerAuthenticator> tokenAuthenticators, Clock clock) {
        return open(loaded, KeyResolver.files(loaded.dir()), policy, tokenAuthenticators, clock);
    }

    /**
     * As {@link #open(CaDirectory.LoadedCa, IssuancePolicy, List, Clock)}, resolving keys with
     * {@code keys}; node attestation serves registration entries only (no Kubernetes mode).
     */
    public static CitadelCa open(CaDirectory.LoadedCa loaded, KeyResolver keys, IssuancePolicy policy,
            List<CallerAuthenticator> tokenAuthenticators, Clock clock) {
        return open(loaded, keys, policy, tokenAuthenticators, PodVerifier.none(), clock);
    }

    /**
     * The full assembly.
     *
     * @param pods checks pods in Kubernetes mode; {@link PodVerifier#none()} to refuse that mode
     */
    public static CitadelCa open(CaDirectory.LoadedCa loaded, KeyResolver keys, IssuancePolicy policy,
            List<CallerAuthenticator> tokenAuthenticators, PodVerifier pods, Clock clock) {
        Objects.requireNonNull(loaded, "loaded");
        Objects.requireNonNull(keys, "keys");
        Objects.requireNonNull(policy, "policy");
        Objects.requireNonNull(tokenAuthenticators, "tokenAuthenticators");
        Objects.requireNonNull(pods, "pods");
        Objects.requireNonNull(clock, "clock");
        return new CitadelCa(loaded, keys, policy, List.copyOf(tokenAuthenticators), pods, clock);
    }

    /**
     * Renews a self-signed CA's issuing intermediate when its keys are files:
     * {@link #renewIntermediateIfDue(IntermediateRenewal)} with {@link IntermediateRenewal#fileKeysOnly()}.
     */
    public boolean renewIntermediateIfDue() throws java.io.IOException {
        return renewIntermediateIfDue(IntermediateRenewal.fileKeysOnly());
    }

    /**
     * Renews the issuing intermediate when it is due ({@link CaDirectory#renewIntermediateIfDue(
     * CaDirectory.LoadedCa, Clock, KeyResolver, IntermediateRenewal)}) and switches issuance to it;
     * certificates already issued stay valid, and the bundle is republished if the roots changed.
     * Safe to call often; calls are serialized.
     *
     * @return true if it renewed
     */
    public synchronized boolean renewIntermediateIfDue(IntermediateRenewal renewal) throws java.io.IOException {
        java.util.Optional<CaDirectory.LoadedCa> renewed = CaDirectory.renewIntermediateIfDue(loaded, clock, keys, renewal);
        if (renewed.isEmpty()) {
            return false;
        }
        List<java.security.cert.X509Certificate> oldRoots = loaded.signingCa().roots();
        loaded = renewed.get();
        service.issuer().rotate(loaded.signingCa());
        if (!loaded.signingCa().roots().equals(oldRoots)) {
            bundle.update(loaded.signingCa(), loaded.jwtKeyId(), loaded.jwtKey().publicKey(),
                    bundle.bundle().sequenceNumber().orElse(0) + 1);
        }
        return true;
    }

    /**
     * The issuing intermediates whose certificates may still be met: the current one first, then
     * earlier ones until they expire ({@link CaDirectory#intermediates}).
     */
    public List<java.security.cert.X509Certificate> intermediates() throws java.io.IOException {
        return CaDirectory.intermediates(loaded.dir(), clock.instant());
    }

    public CaDirectory.LoadedCa loaded() {
        return loaded;
    }

    public CaService service() {
        return service;
    }

    /** Node attestation, registration entries and workload SVIDs for node agents. */
    public NodeService nodeService() {
        return nodeService;
    }

    public JoinTokens joinTokens() {
        return joinTokens;
    }

    public RegistrationEntries entries() {
        return entries;
    }

    public TrustBundle bundle() {
        return bundle;
    }

    public AuditLog audit() {
        return audit;
    }

    @Override
    public void close() {
        audit.close();
    }
}
