package dev.keel.ca.crl;

import dev.keel.ca.CaException;
import dev.keel.ca.CitadelCa;
import dev.keel.ca.SigningCa;
import java.io.IOException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.function.Supplier;

/**
 * Keeps a current, signed CRL for the running CA to serve. {@link #refreshIfDue()} first audits and
 * puts in force the revocations {@code keel ca revoke} queued while this CA held the audit log
 * ({@link Revoker#commitRequested()}), then signs a new CRL when there is none yet, when the
 * revocations in force changed, when the issuing CA changed (a renewed intermediate signs its own
 * CRLs), and once half of the current CRL's validity has passed, so a fresh CRL is always out well
 * before the last one's nextUpdate. If signing fails (the HSM is
 * unreachable, the list is corrupt), the previous CRL is kept: it is still signed and valid until
 * its nextUpdate, and after that relying parties treat it as stale, which fails closed.
 *
 * <p>Thread-safe. {@link #current()} never blocks and may be called from an event loop;
 * {@link #refreshIfDue()} signs through the CA key, which may block on an HSM or Vault, so it runs
 * on a scheduler thread.
 */
public final class CrlPublisher {

    private final Supplier<SigningCa> ca;
    private final RevocationList list;
    private final Revoker revoker;
    private final CrlSigner signer;
    private final Clock clock;
    private volatile SignedCrl current;
    /** The revocations {@link #current} was signed from; guarded by this. */
    private List<Revocation> signedFrom;

    /**
     * @param ca the issuing CA now; read on every refresh, so a renewed intermediate is picked up
     * @param revoker over the same list and the audit log this process holds
     */
    public CrlPublisher(Supplier<SigningCa> ca, RevocationList list, Revoker revoker, CrlSigner signer, Clock clock) {
        this.ca = Objects.requireNonNull(ca, "ca");
        this.list = Objects.requireNonNull(list, "list");
        this.revoker = Objects.requireNonNull(revoker, "revoker");
        this.signer = Objects.requireNonNull(signer, "signer");
        this.clock = Objects.requireNonNull(clock, "clock");
    }

    /** For {@code ca}'s data directory, audit log and current issuing CA. */
    public static CrlPublisher forCa(CitadelCa ca, CrlSigner signer, Clock clock) {
        Objects.requireNonNull(ca, "ca");
        RevocationList list = RevocationList.open(ca.loaded().dir());
        return new CrlPublisher(() -> ca.loaded().signingCa(), list, new Revoker(list, ca.audit(), clock), signer, clock);
    }

    /** The CRL to serve, or empty if none could be signed yet. */
    public Optional<SignedCrl> current() {
        return Optional.ofNullable(current);
    }

    /**
     * Signs a new CRL if one is due (see the class comment).
     *
     * @return true if it signed one
     * @throws IOException if the revocation list cannot be read (the current CRL stays), or if queued
     *     revocations could not be audited (they stay queued; a CRL was still signed if one was due)
     * @throws CaException if signing failed (the current CRL stays)
     */
    public synchronized boolean refreshIfDue() throws IOException, CaException {
        IOException notAudited = null;
        try {
            revoker.commitRequested();
        } catch (IOException e) {
            notAudited = new IOException("revocations queued by 'keel ca revoke' stay queued: " + e.getMessage(), e);
        }
        boolean signed = signIfDue();
        if (notAudited != null) {
            throw notAudited;
        }
        return signed;
    }

    private boolean signIfDue() throws IOException, CaException {
        SigningCa issuing = ca.get();
        List<Revocation> revocations = list.read().revocations();
        SignedCrl last = current;
        Instant now = clock.instant();
        if (last != null && last.issuer().equals(issuing.certificate()) && revocations.equals(signedFrom)
                && now.isBefore(halfLife(last))) {
            return false;
        }
        RevocationList.Snapshot numbered = list.nextCrlNumber();
        SignedCrl signed = signer.sign(issuing, numbered, now);
        signedFrom = numbered.revocations();
        current = signed;
        return true;
    }

    private static Instant halfLife(SignedCrl crl) {
        return crl.thisUpdate().plus(Duration.between(crl.thisUpdate(), crl.nextUpdate()).dividedBy(2));
    }
}
