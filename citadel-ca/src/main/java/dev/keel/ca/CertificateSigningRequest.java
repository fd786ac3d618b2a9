package dev.keel.ca;

import dev.keel.ca.internal.Pkcs10Parser;
import java.security.PublicKey;
import java.util.List;

/**
 * A PKCS#10 request whose self-signature has been verified (proof of possession of the private
 * key) and whose key is of an accepted type. Nothing in it is trusted beyond that: the identity it
 * asks for is checked against the caller's proven identity before anything is signed.
 *
 * @param publicKey the subject key, EC P-256/P-384 or RSA 2048+
 * @param uriSans the URI subject alternative names requested, in order
 * @param otherSans any other subject alternative names requested (DNS, IP, email…), described
 * @param requestsCa true if the request asks for CA:true or for keyCertSign/cRLSign
 */
public record CertificateSigningRequest(
        PublicKey publicKey, List<String> uriSans, List<String> otherSans, boolean requestsCa) {

    public CertificateSigningRequest {
        uriSans = List.copyOf(uriSans);
        otherSans = List.copyOf(otherSans);
    }

    /**
     * Parses a PEM PKCS#10 request (at most 16 KiB), verifies its signature and refuses weak keys.
     *
     * @throws CaException INVALID_ARGUMENT saying what is wrong
     */
    public static CertificateSigningRequest parse(String pem) throws CaException {
        return Pkcs10Parser.parse(pem);
    }
}
