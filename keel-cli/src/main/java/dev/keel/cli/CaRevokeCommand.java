package dev.keel.cli;

import dev.keel.ca.CaDirectory;
import dev.keel.ca.audit.AuditLog;
import dev.keel.ca.audit.AuditLogException;
import dev.keel.ca.crl.Revocation;
import dev.keel.ca.crl.RevocationList;
import dev.keel.ca.crl.RevocationReason;
import dev.keel.ca.crl.Revoker;
import dev.keel.cli.internal.DurationConverter;
import java.io.IOException;
import java.math.BigInteger;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code keel ca revoke}: adds a certificate's serial number to the CA's revocation list, audited.
 * It needs the audit log and the revocation list, not the CA key, so it asks for no PIN; the CRL
 * that lists the serial is signed by {@code keel ca serve} (at {@code /crl}) or {@code keel ca crl}.
 *
 * <p>A running {@code keel ca serve} holds the audit log, and only one process may write it. The
 * command then queues the revocation in the revocation list and waits for the running CA, which
 * audits queued revocations and signs a new CRL every few seconds; until it has, the revocation is
 * not in force and the command does not say it is.
 */
@Command(name = "revoke", mixinStandardHelpOptions = true,
        description = "Revoke a certificate of this CA by serial number (audited); every CRL signed from now on lists it.")
final class CaRevokeCommand implements Callable<Integer> {

    @Option(names = "--data-dir", defaultValue = ".keel/ca", description = "CA data directory (default: ${DEFAULT-VALUE})")
    Path dataDir;

    @Option(names = "--serial", required = true, converter = SerialConverter.class,
            description = "The certificate's serial number in hex (as 'openssl x509 -serial' prints it; colons allowed)")
    BigInteger serial;

    @Option(names = "--reason", defaultValue = "unspecified", converter = ReasonConverter.class,
            description = "RFC 5280 reason: unspecified, keyCompromise, cACompromise, affiliationChanged, superseded, "
                    + "cessationOfOperation, privilegeWithdrawn or aACompromise (default: ${DEFAULT-VALUE})")
    RevocationReason reason;

    @Option(names = "--wait", defaultValue = "30s", converter = DurationConverter.class,
            description = "When a running CA holds the audit log: how long to wait for it to audit the revocation "
                    + "(default: ${DEFAULT-VALUE})")
    Duration wait;

    @Override
    public Integer call() throws Exception {
        CaDirectory.readConfig(dataDir); // a clear error if this is not a CA's data directory
        Clock clock = Clock.systemUTC();
        RevocationList list = RevocationList.open(dataDir);
        String caller = System.getProperty("user.name", "unknown");
        Instant now = clock.instant();
        AuditLog audit;
        try {
            audit = AuditLog.open(dataDir.resolve(CaDirectory.AUDIT_LOG));
        } catch (AuditLogException e) {
            return queueForTheRunningCa(list, new RevocationList.Request(serial, reason, now, caller), e);
        }
        try (audit) {
            Revoker revoker = new Revoker(list, audit, clock);
            Revoker.Outcome outcome = revoker.revoke(serial, reason, now, caller);
            if (outcome.newlyRevoked()) {
                System.out.println(describe(outcome.revocation()));
            } else {
                System.out.println(alreadyRevoked(outcome.revocation()));
            }
            // Requests a CA queued and could not audit before it stopped: this process holds the log now.
            for (Revocation earlier : revoker.commitRequested()) {
                System.out.println("queued earlier, now in force: " + describe(earlier));
            }
        }
        return 0;
    }

    private int queueForTheRunningCa(RevocationList list, RevocationList.Request request, AuditLogException inUse)
            throws Exception {
        Optional<Revocation> revoked = list.request(request);
        if (revoked.isPresent()) {
            System.out.println(alreadyRevoked(revoked.get()));
            return 0;
        }
        System.out.println("the audit log is held by another process (a running 'keel ca serve'?); queued serial "
                + serial.toString(16) + " for it to audit and revoke");
        System.out.flush();
        long deadline = System.nanoTime() + wait.toNanos();
        do {
            Optional<Revocation> done = list.read().find(serial);
            if (done.isPresent()) {
                System.out.println(describe(done.get()) + " (audited by the running CA)");
                return 0;
            }
            Thread.sleep(200);
        } while (System.nanoTime() < deadline);
        throw new IOException("serial " + serial.toString(16) + " is queued but NOT revoked yet: no running CA audited it"
                + " within " + wait.toSeconds() + "s (" + inUse.getMessage() + "). It takes effect, audited, when"
                + " 'keel ca serve' runs or when 'keel ca revoke' can open the audit log.");
    }

    private static String describe(Revocation revocation) {
        String what = revocation.issuedByThisCa()
                ? revocation.spiffeId().orElseThrow() + ", expires " + revocation.notAfter().orElseThrow()
                : "not found among this CA's issuances in its audit log; recorded anyway";
        return "revoked serial " + revocation.serialHex() + " (" + revocation.reason() + "): " + what;
    }

    private static String alreadyRevoked(Revocation revocation) {
        return "serial " + revocation.serialHex() + " was already revoked (" + revocation.reason() + ") as of "
                + revocation.revokedAt() + "; nothing changed";
    }

    static final class SerialConverter implements CommandLine.ITypeConverter<BigInteger> {
        @Override
        public BigInteger convert(String value) {
            try {
                return Revocation.parseSerial(value);
            } catch (IllegalArgumentException e) {
                throw new CommandLine.TypeConversionException(e.getMessage());
            }
        }
    }

    static final class ReasonConverter implements CommandLine.ITypeConverter<RevocationReason> {
        @Override
        public RevocationReason convert(String value) {
            try {
                return RevocationReason.parse(value);
            } catch (IllegalArgumentException e) {
                throw new CommandLine.TypeConversionException(e.getMessage());
            }
        }
    }
}
