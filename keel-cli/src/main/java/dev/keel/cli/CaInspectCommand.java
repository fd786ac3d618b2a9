package dev.keel.cli;

import dev.keel.cli.internal.DurationConverter;
import dev.keel.identity.Pem;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.Collection;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

/** {@code keel ca inspect}: decodes a PEM chain for people. */
@Command(name = "inspect", mixinStandardHelpOptions = true,
        description = "Decode a PEM certificate chain: SPIFFE ID, issuer, validity and remaining lifetime of each certificate.")
final class CaInspectCommand implements Callable<Integer> {

    @Parameters(index = "0", description = "PEM file with one or more certificates, leaf first")
    Path file;

    @Override
    public Integer call() throws Exception {
        List<X509Certificate> chain = Pem.decodeCertificates(Files.readString(file, StandardCharsets.US_ASCII));
        Instant now = Instant.now();
        for (int i = 0; i < chain.size(); i++) {
            X509Certificate c = chain.get(i);
            Instant notAfter = c.getNotAfter().toInstant();
            Duration remaining = Duration.between(now, notAfter);
            String role = c.getBasicConstraints() >= 0
                    ? (c.getSubjectX500Principal().equals(c.getIssuerX500Principal()) ? "root CA" : "intermediate CA")
                    : "leaf";
            System.out.println("[" + i + "] " + role);
            System.out.println("    SPIFFE ID:  " + String.join(", ", uris(c)));
            System.out.println("    subject:    " + c.getSubjectX500Principal().getName());
            System.out.println("    issuer:     " + c.getIssuerX500Principal().getName());
            System.out.println("    serial:     " + c.getSerialNumber().toString(16));
            System.out.println("    key:        " + c.getPublicKey().getAlgorithm() + ", signed with " + c.getSigAlgName());
            System.out.println("    not before: " + c.getNotBefore().toInstant());
            System.out.println("    not after:  " + notAfter);
            System.out.println("    remaining:  " + (remaining.isNegative()
                    ? "EXPIRED " + DurationConverter.human(remaining.negated()) + " ago"
                    : DurationConverter.human(remaining)));
        }
        return 0;
    }

    private static List<String> uris(X509Certificate c) throws CertificateParsingException {
        Collection<List<?>> sans = c.getSubjectAlternativeNames();
        if (sans == null) {
            return List.of("(none)");
        }
        List<String> uris = sans.stream().filter(s -> Integer.valueOf(6).equals(s.get(0)))
                .map(s -> (String) s.get(1)).toList();
        return uris.isEmpty() ? List.of("(none)") : uris;
    }
}
