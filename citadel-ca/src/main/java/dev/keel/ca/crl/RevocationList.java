package dev.keel.ca.crl;

import dev.keel.ca.internal.GuardedFile;
import java.io.IOException;
import java.math.BigInteger;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * The CA's revoked serial numbers, the revocations requested but not yet audited, and the number
 * of the last CRL signed, in {@code revocations.json} in the CA's data directory. Shared by the running CA (which signs CRLs)
 * and the {@code keel ca} commands: every change is a read-modify-write under a lock that holds
 * across processes, written to a temporary file and renamed into place, so a crash leaves the old
 * list or the new one. A file that does not parse is never overwritten: every operation fails with
 * a message naming it until the operator restores it.
 *
 * <p>Thread-safe.
 */
public final class RevocationList {

    public static final String FILE = "revocations.json";

    /**
     * The list at one moment.
     *
     * @param crlNumber the CRL Number of the last CRL signed from this list (0: none yet)
     * @param revocations in force, in the order they were revoked
     * @param requests asked for but not yet audited, so not in force (see {@link #request})
     */
    public record Snapshot(long crlNumber, List<Revocation> revocations, List<Request> requests) {

        static final Snapshot EMPTY = new Snapshot(0, List.of());

        public Snapshot {
            if (crlNumber < 0) {
                throw new IllegalArgumentException("crlNumber: " + crlNumber + " (expected: >= 0)");
            }
            revocations = List.copyOf(revocations);
            requests = List.copyOf(requests);
        }

        /** A list with no pending requests. */
        public Snapshot(long crlNumber, List<Revocation> revocations) {
            this(crlNumber, revocations, List.of());
        }

        public Optional<Revocation> find(BigInteger serial) {
            return revocations.stream().filter(r -> r.serial().equals(serial)).findFirst();
        }
    }

    /**
     * A revocation asked for by a process that could not write the audit log (the running CA holds
     * it): durable, but not in force and not in any CRL until a process holding the audit log
     * audits it ({@link #commitRequests}).
     *
     * @param caller who asked, for the audit line
     */
    public record Request(BigInteger serial, RevocationReason reason, Instant revokedAt, String caller) {

        public Request {
            Revocation.checkSerial(serial);
            Objects.requireNonNull(reason, "reason");
            Objects.requireNonNull(revokedAt, "revokedAt");
            Objects.requireNonNull(caller, "caller");
        }
    }

    /** Audits one request and returns the revocation to put in force; runs under the list's lock. */
    @FunctionalInterface
    public interface Auditor {
        /** Throwing stops the commit: requests audited before stay committed, the rest stay queued. */
        Revocation audit(Request request) throws IOException;
    }

    /** Called under the list's lock after a revocation is decided and before the file changes. */
    @FunctionalInterface
    public interface BeforeWrite {
        /** Throwing leaves the file as it was and is passed on to the caller. */
        void accept(Revocation revocation) throws IOException;
    }

    /**
     * What {@link #add} did.
     *
     * @param revocation the stored revocation: the new one, or the earlier one for the same serial
     * @param added false if the serial was already revoked (nothing changed)
     */
    public record Added(Revocation revocation, boolean added) {
    }

    private final GuardedFile file;

    private RevocationList(GuardedFile file) {
        this.file = file;
    }

    /**
     * The list in {@code caDir}; the file need not exist yet (an empty list). Nothing is read until an
     * operation needs it, and each operation reads the file again, so other processes' changes are seen.
     */
    public static RevocationList open(Path caDir) {
        Objects.requireNonNull(caDir, "caDir");
        return new RevocationList(new GuardedFile(caDir.resolve(FILE), caDir.resolve(FILE + ".lock")));
    }

    public Path file() {
        return file.path();
    }

    /** The current list, without locking (the file is replaced whole, never edited in place). */
    public Snapshot read() throws IOException {
        Optional<byte[]> content = file.read();
        if (content.isEmpty()) {
            return Snapshot.EMPTY;
        }
        return RevocationFile.decode(FILE, content.get());
    }

    /**
     * Adds {@code revocation} unless its serial is already revoked, in which case nothing changes and
     * the earlier revocation is returned: revoking twice is idempotent, whatever the second reason.
     * {@code beforeWrite} runs for a new revocation only, under the lock, before the file is replaced.
     */
    public Added add(Revocation revocation, BeforeWrite beforeWrite) throws IOException {
        Objects.requireNonNull(revocation, "revocation");
        Objects.requireNonNull(beforeWrite, "beforeWrite");
        return file.locked(() -> {
            Snapshot current = read();
            Optional<Revocation> earlier = current.find(revocation.serial());
            if (earlier.isPresent()) {
                return new Added(earlier.get(), false);
            }
            beforeWrite.accept(revocation);
            List<Revocation> revocations = new ArrayList<>(current.revocations());
            revocations.add(revocation);
            List<Request> requests = current.requests().stream()
                    .filter(r -> !r.serial().equals(revocation.serial())).toList();
            file.replace(RevocationFile.encode(new Snapshot(current.crlNumber(), revocations, requests)));
            return new Added(revocation, true);
        });
    }

    /**
     * Queues {@code request} for a process holding the audit log; idempotent.
     *
     * @return the revocation in force if the serial is already revoked (nothing queued); empty if
     *     the request is queued now or was already
     */
    public Optional<Revocation> request(Request request) throws IOException {
        Objects.requireNonNull(request, "request");
        return file.locked(() -> {
            Snapshot current = read();
            Optional<Revocation> revoked = current.find(request.serial());
            if (revoked.isPresent()
                    || current.requests().stream().anyMatch(r -> r.serial().equals(request.serial()))) {
                return revoked;
            }
            List<Request> requests = new ArrayList<>(current.requests());
            requests.add(request);
            file.replace(RevocationFile.encode(new Snapshot(current.crlNumber(), current.revocations(), requests)));
            return Optional.empty();
        });
    }

    /**
     * Puts the queued requests in force, each after {@code auditor} audited it, in the order they
     * were queued; a request for a serial revoked meanwhile is dropped. Writes nothing if there are
     * none.
     *
     * @return the revocations put in force
     * @throws IOException from {@code auditor}, after saving what was committed before it
     */
    public List<Revocation> commitRequests(Auditor auditor) throws IOException {
        Objects.requireNonNull(auditor, "auditor");
        return file.locked(() -> {
            Snapshot current = read();
            if (current.requests().isEmpty()) {
                return List.of();
            }
            List<Revocation> revocations = new ArrayList<>(current.revocations());
            List<Request> remaining = new ArrayList<>(current.requests());
            List<Revocation> committed = new ArrayList<>();
            try {
                while (!remaining.isEmpty()) {
                    Request next = remaining.get(0);
                    if (current.find(next.serial()).isEmpty()) {
                        Revocation revocation = auditor.audit(next);
                        if (!revocation.serial().equals(next.serial())) {
                            throw new IllegalStateException("auditor returned serial " + revocation.serialHex()
                                    + " for a request for " + next.serial().toString(16));
                        }
                        revocations.add(revocation);
                        committed.add(revocation);
                    }
                    remaining.remove(0);
                }
            } finally {
                file.replace(RevocationFile.encode(new Snapshot(current.crlNumber(), revocations, remaining)));
            }
            return committed;
        });
    }

    /**
     * Takes the next CRL Number and persists it before returning, so that numbers only ever grow,
     * across restarts and between the CA and the {@code keel ca crl} command: RFC 5280 5.2.3 wants a
     * monotonically increasing number per CRL issuer. A number taken for a CRL that then fails to sign
     * is skipped, which the RFC allows.
     *
     * @return the new number and the revocations the CRL with that number covers
     */
    public Snapshot nextCrlNumber() throws IOException {
        return file.locked(() -> {
            Snapshot current = read();
            if (current.crlNumber() == Long.MAX_VALUE) {
                throw new IOException(FILE + ": crl_number is exhausted");
            }
            Snapshot next = new Snapshot(current.crlNumber() + 1, current.revocations(), current.requests());
            file.replace(RevocationFile.encode(next));
            return next;
        });
    }
}
