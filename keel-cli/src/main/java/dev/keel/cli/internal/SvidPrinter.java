package dev.keel.cli.internal;

import dev.keel.identity.Pem;
import dev.keel.proto.workload.X509SVID;
import dev.keel.proto.workload.X509SVIDResponse;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/** Renders Workload API answers for people and writes them as PEM files, like {@code spire-agent api fetch}. */
public final class SvidPrinter {

    private SvidPrinter() {
    }

    public static List<X509Certificate> certificates(byte[] concatenatedDer) {
        try {
            List<X509Certificate> certs = new ArrayList<>();
            CertificateFactory factory = CertificateFactory.getInstance("X.509");
            for (var c : factory.generateCertificates(new ByteArrayInputStream(concatenatedDer))) {
                certs.add((X509Certificate) c);
            }
            return certs;
        } catch (CertificateException e) {
            throw new IllegalStateException("the agent sent certificates that do not parse: " + e.getMessage(), e);
        }
    }

    public static void print(X509SVIDResponse response, Instant now, PrintStream out) {
        for (X509SVID svid : response.getSvidsList()) {
            List<X509Certificate> chain = certificates(svid.getX509Svid().toByteArray());
            out.println("SPIFFE ID:          " + svid.getSpiffeId());
            if (!svid.getHint().isEmpty()) {
                out.println("Hint:               " + svid.getHint());
            }
            X509Certificate leaf = chain.get(0);
            out.println("Serial:             " + leaf.getSerialNumber().toString(16));
            out.println("SVID valid after:   " + leaf.getNotBefore().toInstant());
            out.println("SVID valid until:   " + leaf.getNotAfter().toInstant() + " (" + remaining(now, leaf) + ")");
            for (int i = 1; i < chain.size(); i++) {
                out.println("Intermediate #" + i + " valid until: " + chain.get(i).getNotAfter().toInstant());
            }
            List<X509Certificate> roots = certificates(svid.getBundle().toByteArray());
            for (int i = 0; i < roots.size(); i++) {
                out.println("CA #" + (i + 1) + " valid after:   " + roots.get(i).getNotBefore().toInstant());
                out.println("CA #" + (i + 1) + " valid until:   " + roots.get(i).getNotAfter().toInstant());
            }
            out.println();
        }
    }

    /** Writes {@code svid.N.pem} (chain), {@code svid.N.key} (0600) and {@code bundle.N.pem} per SVID. */
    public static List<Path> write(X509SVIDResponse response, Path dir) throws IOException {
        Files.createDirectories(dir);
        List<Path> written = new ArrayList<>();
        for (int i = 0; i < response.getSvidsCount(); i++) {
            X509SVID svid = response.getSvids(i);
            written.add(writeFile(dir.resolve("svid." + i + ".pem"),
                    Pem.encodeCertificates(certificates(svid.getX509Svid().toByteArray())), false));
            written.add(writeFile(dir.resolve("svid." + i + ".key"),
                    Pem.encode(Pem.PRIVATE_KEY, svid.getX509SvidKey().toByteArray()), true));
            written.add(writeFile(dir.resolve("bundle." + i + ".pem"),
                    Pem.encodeCertificates(certificates(svid.getBundle().toByteArray())), false));
        }
        return written;
    }

    private static Path writeFile(Path target, String content, boolean secret) throws IOException {
        Path tmp = Files.createTempFile(target.getParent(), ".keel-", ".tmp",
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString(secret ? "rw-------" : "rw-r--r--")));
        try {
            Files.writeString(tmp, content, StandardCharsets.US_ASCII);
            Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } finally {
            Files.deleteIfExists(tmp);
        }
        return target;
    }

    private static String remaining(Instant now, X509Certificate c) {
        Duration left = Duration.between(now, c.getNotAfter().toInstant());
        return left.isNegative() ? "EXPIRED" : "in " + DurationConverter.human(left);
    }
}
