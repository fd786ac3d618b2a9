package dev.keel.identity;

import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;

/** Reading the parts of a certificate the SPIFFE rules look at. */
final class X509Certificates {

    private static final int SAN_URI = 6;

    private X509Certificates() {
    }

    /** The URI SANs, in certificate order; empty when there is no SAN extension. */
    static List<String> uriSans(X509Certificate certificate) {
        Collection<List<?>> sans;
        try {
            sans = certificate.getSubjectAlternativeNames();
        } catch (CertificateParsingException e) {
            throw new IllegalArgumentException("certificate " + describe(certificate)
                    + ": the subject alternative name extension cannot be parsed: " + e.getMessage(), e);
        }
        List<String> uris = new ArrayList<>();
        if (sans != null) {
            for (List<?> san : sans) {
                if (san.size() >= 2 && Integer.valueOf(SAN_URI).equals(san.get(0))) {
                    uris.add(String.valueOf(san.get(1)));
                }
            }
        }
        return uris;
    }

    /** Serial and subject, enough to find the certificate in logs. */
    static String describe(X509Certificate certificate) {
        String subject = certificate.getSubjectX500Principal().getName();
        return "serial " + certificate.getSerialNumber().toString(16)
                + (subject.isEmpty() ? "" : " (" + subject + ")");
    }
}
