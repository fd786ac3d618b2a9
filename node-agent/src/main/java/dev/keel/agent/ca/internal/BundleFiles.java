package dev.keel.agent.ca.internal;

import dev.keel.identity.Bundle;
import dev.keel.identity.BundleJson;
import dev.keel.identity.Pem;
import dev.keel.identity.TrustDomain;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.util.List;

/** Reads a trust bundle file: a SPIFFE bundle JSON document, or PEM root certificates. */
public final class BundleFiles {

    /** Bundle files larger than this are refused before parsing. */
    static final long MAX_BYTES = BundleJson.MAX_LENGTH;

    private BundleFiles() {
    }

    /**
     * The bundle of {@code trustDomain} in {@code file}: JSON when the file starts with {@code '{'},
     * otherwise PEM certificates, all taken as X.509 authorities.
     *
     * @throws IOException if the file cannot be read
     * @throws IllegalArgumentException naming the file if it is neither, or holds no X.509 authority
     */
    public static Bundle read(Path file, TrustDomain trustDomain) throws IOException {
        if (Files.size(file) > MAX_BYTES) {
            throw new IllegalArgumentException("bundle file " + file + ": larger than " + MAX_BYTES + " bytes");
        }
        String text = Files.readString(file, StandardCharsets.UTF_8);
        Bundle bundle;
        try {
            if (text.strip().startsWith("{")) {
                bundle = BundleJson.parse(trustDomain, text);
            } else {
                List<X509Certificate> roots = Pem.decodeCertificates(text);
                bundle = Bundle.of(trustDomain, roots);
            }
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("bundle file " + file + ": " + e.getMessage(), e);
        }
        if (bundle.x509Authorities().isEmpty()) {
            throw new IllegalArgumentException("bundle file " + file + ": no X.509 authority (expected: the CA's roots)");
        }
        return bundle;
    }
}
