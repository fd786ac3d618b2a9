package dev.keel.ca.internal;

import dev.keel.ca.CaException;
import dev.keel.ca.CertificateSigningRequest;
import dev.keel.identity.KeyType;
import dev.keel.identity.SignatureAlgorithm;
import dev.keel.identity.SignatureVerifier;
import dev.keel.identity.WeakKeyException;
import java.io.IOException;
import java.io.StringReader;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PublicKey;
import java.security.spec.X509EncodedKeySpec;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.bouncycastle.asn1.ASN1Encodable;
import org.bouncycastle.asn1.ASN1ObjectIdentifier;
import org.bouncycastle.asn1.ASN1Set;
import org.bouncycastle.asn1.pkcs.Attribute;
import org.bouncycastle.asn1.pkcs.PKCSObjectIdentifiers;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.Extensions;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.asn1.x509.SubjectPublicKeyInfo;
import org.bouncycastle.asn1.x9.X9ObjectIdentifiers;
import org.bouncycastle.pkcs.PKCS10CertificationRequest;
import org.bouncycastle.util.io.pem.PemObject;
import org.bouncycastle.util.io.pem.PemReader;

/**
 * Parses a PEM PKCS#10 request, verifies its self-signature and key, and extracts what it asks for.
 * Every refusal is INVALID_ARGUMENT with a message that says what is wrong. Thread-safe.
 */
public final class Pkcs10Parser {

    /** Istio's and SPIRE's CSRs are well under 2 KiB; anything this big is not a CSR. */
    public static final int MAX_PEM_LENGTH = 16 * 1024;

    private static final Map<ASN1ObjectIdentifier, SignatureAlgorithm> ALGORITHMS = Map.of(
            X9ObjectIdentifiers.ecdsa_with_SHA256, SignatureAlgorithm.ECDSA_SHA256,
            X9ObjectIdentifiers.ecdsa_with_SHA384, SignatureAlgorithm.ECDSA_SHA384,
            X9ObjectIdentifiers.ecdsa_with_SHA512, SignatureAlgorithm.ECDSA_SHA512,
            PKCSObjectIdentifiers.sha256WithRSAEncryption, SignatureAlgorithm.RSA_PKCS1_SHA256,
            PKCSObjectIdentifiers.sha384WithRSAEncryption, SignatureAlgorithm.RSA_PKCS1_SHA384,
            PKCSObjectIdentifiers.sha512WithRSAEncryption, SignatureAlgorithm.RSA_PKCS1_SHA512);

    private Pkcs10Parser() {
    }

    public static CertificateSigningRequest parse(String pem) throws CaException {
        if (pem == null || pem.isBlank()) {
            throw invalid("csr: empty (expected: a PEM CERTIFICATE REQUEST)");
        }
        if (pem.length() > MAX_PEM_LENGTH) {
            throw invalid("csr: " + pem.length() + " characters (expected: <= " + MAX_PEM_LENGTH + ")");
        }
        return parseDer(decodePem(pem));
    }

    static byte[] decodePem(String pem) throws CaException {
        PemObject object;
        try (PemReader reader = new PemReader(new StringReader(pem))) {
            object = reader.readPemObject();
            if (object != null && reader.readPemObject() != null) {
                throw invalid("csr: more than one PEM block (expected: exactly one CERTIFICATE REQUEST)");
            }
        } catch (IOException | RuntimeException e) {
            throw invalid("csr: not valid PEM: " + e.getMessage());
        }
        if (object == null) {
            throw invalid("csr: no PEM block found (expected: -----BEGIN CERTIFICATE REQUEST-----)");
        }
        if (!object.getType().equals("CERTIFICATE REQUEST") && !object.getType().equals("NEW CERTIFICATE REQUEST")) {
            throw invalid("csr: PEM block is \"" + object.getType() + "\" (expected: CERTIFICATE REQUEST)");
        }
        return object.getContent();
    }

    public static CertificateSigningRequest parseDer(byte[] der) throws CaException {
        PKCS10CertificationRequest request;
        try {
            request = new PKCS10CertificationRequest(der);
        } catch (IOException | RuntimeException e) {
            throw invalid("csr: not a valid PKCS#10 request: " + e.getMessage());
        }
        SubjectPublicKeyInfo spki = request.getSubjectPublicKeyInfo();
        PublicKey key = toPublicKey(spki);
        KeyType type;
        try {
            type = KeyType.of(key);
        } catch (WeakKeyException e) {
            throw invalid("csr: key refused: " + e.getMessage());
        }
        SignatureAlgorithm algorithm = ALGORITHMS.get(request.getSignatureAlgorithm().getAlgorithm());
        if (algorithm == null) {
            throw invalid("csr: signature algorithm " + request.getSignatureAlgorithm().getAlgorithm().getId()
                    + " is not supported (expected: ECDSA or RSA PKCS#1 v1.5 with SHA-256/384/512)");
        }
        if (!algorithm.fits(type)) {
            throw invalid("csr: signature algorithm " + algorithm + " does not fit its " + type + " key");
        }
        byte[] info;
        try {
            info = request.toASN1Structure().getCertificationRequestInfo().getEncoded("DER");
        } catch (IOException e) {
            throw invalid("csr: cannot re-encode the request info: " + e.getMessage());
        }
        SignatureVerifier verifier;
        try {
            verifier = SignatureVerifier.of(key);
        } catch (RuntimeException e) {
            throw invalid("csr: key refused: " + e.getMessage());
        }
        if (!verifier.verify(algorithm, info, request.getSignature())) {
            throw invalid("csr: signature does not verify (the requester has not proven possession of the key)");
        }
        return extract(request, key);
    }

    private static PublicKey toPublicKey(SubjectPublicKeyInfo spki) throws CaException {
        String algorithm;
        ASN1ObjectIdentifier oid = spki.getAlgorithm().getAlgorithm();
        if (oid.equals(X9ObjectIdentifiers.id_ecPublicKey)) {
            algorithm = "EC";
        } else if (oid.equals(PKCSObjectIdentifiers.rsaEncryption)) {
            algorithm = "RSA";
        } else {
            throw invalid("csr: key algorithm " + oid.getId() + " is not supported (expected: EC or RSA)");
        }
        try {
            return KeyFactory.getInstance(algorithm).generatePublic(new X509EncodedKeySpec(spki.getEncoded("DER")));
        } catch (GeneralSecurityException | IOException | RuntimeException e) {
            throw invalid("csr: public key cannot be decoded: " + e.getMessage());
        }
    }

    private static CertificateSigningRequest extract(PKCS10CertificationRequest request, PublicKey key)
            throws CaException {
        List<String> uris = new ArrayList<>();
        List<String> others = new ArrayList<>();
        boolean requestsCa = false;
        Attribute[] attributes = request.getAttributes(PKCSObjectIdentifiers.pkcs_9_at_extensionRequest);
        if (attributes.length > 1) {
            throw invalid("csr: more than one extensionRequest attribute");
        }
        if (attributes.length == 1) {
            ASN1Set values = attributes[0].getAttrValues();
            if (values.size() != 1) {
                throw invalid("csr: extensionRequest must hold exactly one Extensions value");
            }
            Extensions extensions;
            try {
                extensions = Extensions.getInstance(values.getObjectAt(0));
            } catch (RuntimeException e) {
                throw invalid("csr: extensionRequest is malformed: " + e.getMessage());
            }
            try {
                GeneralNames names = GeneralNames.fromExtensions(extensions, Extension.subjectAlternativeName);
                if (names != null) {
                    for (GeneralName name : names.getNames()) {
                        if (name.getTagNo() == GeneralName.uniformResourceIdentifier) {
                            uris.add(name.getName().toString());
                        } else {
                            others.add(describe(name));
                        }
                    }
                }
                BasicConstraints constraints = BasicConstraints.fromExtensions(extensions);
                if (constraints != null && constraints.isCA()) {
                    requestsCa = true;
                }
                KeyUsage usage = KeyUsage.fromExtensions(extensions);
                if (usage != null && (usage.hasUsages(KeyUsage.keyCertSign) || usage.hasUsages(KeyUsage.cRLSign))) {
                    requestsCa = true;
                }
            } catch (RuntimeException e) {
                throw invalid("csr: requested extensions are malformed: " + e.getMessage());
            }
        }
        return new CertificateSigningRequest(key, uris, others, requestsCa);
    }

    private static String describe(GeneralName name) {
        ASN1Encodable value = name.getName();
        switch (name.getTagNo()) {
            case GeneralName.dNSName:
                return "DNS:" + value;
            case GeneralName.iPAddress:
                return "IP:" + value;
            case GeneralName.rfc822Name:
                return "email:" + value;
            default:
                return "name type " + name.getTagNo();
        }
    }

    private static CaException invalid(String message) {
        return new CaException(CaException.Code.INVALID_ARGUMENT, message);
    }
}
