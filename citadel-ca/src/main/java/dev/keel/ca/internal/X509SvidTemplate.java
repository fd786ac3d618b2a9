package dev.keel.ca.internal;

import dev.keel.ca.SigningCa;
import dev.keel.ca.X509SvidParams;
import dev.keel.identity.KeyType;
import dev.keel.identity.SigningException;
import java.io.IOException;
import java.math.BigInteger;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.List;
import org.bouncycastle.asn1.ASN1OctetString;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.AuthorityKeyIdentifier;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.asn1.x509.SubjectKeyIdentifier;
import org.bouncycastle.asn1.x509.SubjectPublicKeyInfo;
import org.bouncycastle.cert.CertIOException;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cert.X509v3CertificateBuilder;

/**
 * Step one of issuance: the leaf X.509-SVID template, per the identity rules. One URI SAN (the
 * subject is empty, so the SAN is critical, as RFC 5280 section 4.2.1.6 requires and as Istio does),
 * CA:false, digitalSignature (plus keyEncipherment for RSA keys), serverAuth and clientAuth, a random
 * 128-bit serial, AKI and SKI, notAfter capped to the CA's own notAfter.
 */
public final class X509SvidTemplate {

    private static final ThreadLocal<SecureRandom> RANDOM = ThreadLocal.withInitial(SecureRandom::new);
    private static final X500Name EMPTY_SUBJECT = new X500Name(new org.bouncycastle.asn1.x500.RDN[0]);

    private final X509v3CertificateBuilder builder;
    private final BigInteger serial;
    private final Instant notBefore;
    private final Instant notAfter;
    private final SubjectPublicKeyInfo subjectKey;
    private final String uri;
    private final int hostNames;

    private X509SvidTemplate(X509v3CertificateBuilder builder, BigInteger serial, Instant notBefore,
            Instant notAfter, SubjectPublicKeyInfo subjectKey, String uri, int hostNames) {
        this.hostNames = hostNames;
        this.builder = builder;
        this.serial = serial;
        this.notBefore = notBefore;
        this.notAfter = notAfter;
        this.subjectKey = subjectKey;
        this.uri = uri;
    }

    public static X509SvidTemplate build(SigningCa ca, X509SvidParams params, Instant now, Duration ttl,
            Duration backdate) {
        return build(ca, params, now, ttl, backdate, List.of());
    }

    /**
     * A template with DNS or IP SANs beside the URI SAN, as the X509-SVID specification allows; only
     * the CA's own serving certificate uses this, never a caller's CSR.
     */
    public static X509SvidTemplate build(SigningCa ca, X509SvidParams params, Instant now, Duration ttl,
            Duration backdate, List<String> hosts) {
        X509Certificate caCert = ca.certificate();
        Instant caNotBefore = caCert.getNotBefore().toInstant();
        Instant caNotAfter = caCert.getNotAfter().toInstant();
        Instant notBefore = now.minus(backdate);
        if (notBefore.isBefore(caNotBefore)) {
            notBefore = caNotBefore;
        }
        Instant notAfter = now.plus(ttl);
        if (notAfter.isAfter(caNotAfter)) {
            notAfter = caNotAfter;
        }
        // X.509 times have second precision; truncate so what we report equals what is encoded.
        notBefore = Instant.ofEpochSecond(notBefore.getEpochSecond());
        notAfter = Instant.ofEpochSecond(notAfter.getEpochSecond());
        BigInteger serial = randomSerial();
        SubjectPublicKeyInfo spki = SubjectPublicKeyInfo.getInstance(params.publicKey().getEncoded());
        String uri = params.spiffeId().toString();
        X509v3CertificateBuilder builder = new X509v3CertificateBuilder(
                X500Name.getInstance(caCert.getSubjectX500Principal().getEncoded()), serial,
                Date.from(notBefore), Date.from(notAfter), EMPTY_SUBJECT, spki);
        boolean rsa = KeyType.of(params.publicKey()).family() == KeyType.Family.RSA;
        try {
            builder.addExtension(Extension.basicConstraints, true, new BasicConstraints(false));
            builder.addExtension(Extension.keyUsage, true,
                    new KeyUsage(rsa ? KeyUsage.digitalSignature | KeyUsage.keyEncipherment : KeyUsage.digitalSignature));
            builder.addExtension(Extension.extendedKeyUsage, false, new ExtendedKeyUsage(
                    new KeyPurposeId[] {KeyPurposeId.id_kp_serverAuth, KeyPurposeId.id_kp_clientAuth}));
            builder.addExtension(Extension.subjectAlternativeName, true,
                    new GeneralNames(names(uri, hosts)));
            builder.addExtension(Extension.subjectKeyIdentifier, false,
                    new SubjectKeyIdentifier(keyIdentifier(spki)));
            builder.addExtension(Extension.authorityKeyIdentifier, false,
                    new AuthorityKeyIdentifier(authorityKeyId(caCert)));
        } catch (CertIOException e) {
            throw new IllegalStateException("cannot encode an X.509-SVID extension", e);
        }
        return new X509SvidTemplate(builder, serial, notBefore, notAfter, spki, uri, hosts.size());
    }

    private static GeneralName[] names(String uri, List<String> hosts) {
        GeneralName[] names = new GeneralName[1 + hosts.size()];
        names[0] = new GeneralName(GeneralName.uniformResourceIdentifier, uri);
        for (int i = 0; i < hosts.size(); i++) {
            String host = hosts.get(i);
            boolean ip = host.indexOf(':') >= 0 || host.chars().allMatch(c -> c == '.' || Character.isDigit(c));
            names[i + 1] = new GeneralName(ip ? GeneralName.iPAddress : GeneralName.dNSName, host);
        }
        return names;
    }

    /** Step two: sign through the CA's key handle. */
    public X509CertificateHolder sign(SigningKeyContentSigner signer) throws SigningException {
        X509CertificateHolder holder = builder.build(signer);
        signer.throwIfFailed();
        return holder;
    }

    private static BigInteger randomSerial() {
        byte[] bytes = new byte[16];
        BigInteger serial;
        do {
            RANDOM.get().nextBytes(bytes);
            serial = new BigInteger(1, bytes);
        } while (serial.signum() == 0);
        return serial;
    }

    /** RFC 5280 section 4.2.1.2, method 1: SHA-1 of the subjectPublicKey BIT STRING's value. */
    static byte[] keyIdentifier(SubjectPublicKeyInfo spki) {
        try {
            return MessageDigest.getInstance("SHA-1").digest(spki.getPublicKeyData().getBytes());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-1 is required of every JDK", e);
        }
    }

    /** The CA's own SKI when it has one (so the AKI matches what the CA certificate says), else computed. */
    static byte[] authorityKeyId(X509Certificate ca) {
        byte[] ext = ca.getExtensionValue(Extension.subjectKeyIdentifier.getId());
        if (ext != null) {
            try {
                return SubjectKeyIdentifier.getInstance(ASN1OctetString.getInstance(ext).getOctets()).getKeyIdentifier();
            } catch (RuntimeException e) {
                // fall through to computing it: a malformed SKI on a CA is not the leaf's problem
            }
        }
        return keyIdentifier(SubjectPublicKeyInfo.getInstance(ca.getPublicKey().getEncoded()));
    }

    public BigInteger serial() {
        return serial;
    }

    public Instant notBefore() {
        return notBefore;
    }

    public Instant notAfter() {
        return notAfter;
    }

    public SubjectPublicKeyInfo subjectKey() {
        return subjectKey;
    }

    public String uri() {
        return uri;
    }

    /** How many DNS or IP SANs follow the URI SAN. */
    public int hostNames() {
        return hostNames;
    }

    static byte[] encoded(X509CertificateHolder holder) {
        try {
            return holder.getEncoded();
        } catch (IOException e) {
            throw new IllegalStateException("cannot encode a certificate", e);
        }
    }
}
