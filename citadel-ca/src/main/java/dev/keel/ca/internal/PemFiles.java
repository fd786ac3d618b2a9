package dev.keel.ca.internal;

import dev.keel.identity.Pem;
import java.io.IOException;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.util.List;
import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.asn1.x509.SubjectPublicKeyInfo;
import org.bouncycastle.openssl.PEMException;
import org.bouncycastle.openssl.PEMKeyPair;
import org.bouncycastle.openssl.PEMParser;
import org.bouncycastle.openssl.jcajce.JcaPEMKeyConverter;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.openssl.jcajce.JcaPKCS8Generator;

/**
 * Reads and writes the CA's PEM files, with errors that name the file and the problem. Private
 * keys are written owner-only (0600) through a temporary file and an atomic rename, so a crash never
 * leaves a half-written key, and never pass through an exception message.
 */
public final class PemFiles {

    private PemFiles() {
    }

    public static List<X509Certificate> readCertificates(Path file) throws IOException {
        List<X509Certificate> certificates;
        try {
            certificates = Pem.decodeCertificates(read(file));
        } catch (IllegalArgumentException e) {
            throw new IOException(file.getFileName() + ": not a PEM certificate chain: " + e.getMessage(), e);
        }
        if (certificates.isEmpty()) {
            throw new IOException(file.getFileName() + ": holds no certificate");
        }
        return certificates;
    }

    /** Reads PKCS#8, PKCS#1 ({@code RSA PRIVATE KEY}) or SEC1 ({@code EC PRIVATE KEY}) keys, as Istio's cacerts use. */
    public static KeyPair readKeyPair(Path file) throws IOException {
        String text = read(file);
        Object object;
        try (PEMParser parser = new PEMParser(new java.io.StringReader(text))) {
            object = parser.readObject();
        } catch (IOException | RuntimeException e) {
            throw new IOException(file.getFileName() + ": not a PEM private key (" + e.getClass().getSimpleName() + ")");
        }
        JcaPEMKeyConverter converter = new JcaPEMKeyConverter();
        try {
            if (object instanceof PEMKeyPair) {
                return converter.getKeyPair((PEMKeyPair) object);
            }
            if (object instanceof PrivateKeyInfo) {
                PrivateKeyInfo info = (PrivateKeyInfo) object;
                java.security.PrivateKey privateKey = converter.getPrivateKey(info);
                return new KeyPair(derivePublic(privateKey, info, converter), privateKey);
            }
        } catch (PEMException e) {
            throw new IOException(file.getFileName() + ": the private key cannot be decoded");
        }
        throw new IOException(file.getFileName() + ": holds no private key (expected: PRIVATE KEY, RSA PRIVATE KEY "
                + "or EC PRIVATE KEY; encrypted keys are not supported)");
    }

    private static java.security.PublicKey derivePublic(java.security.PrivateKey key, PrivateKeyInfo info,
            JcaPEMKeyConverter converter) throws PEMException, IOException {
        if (key instanceof java.security.interfaces.RSAPrivateCrtKey) {
            java.security.interfaces.RSAPrivateCrtKey rsa = (java.security.interfaces.RSAPrivateCrtKey) key;
            try {
                return java.security.KeyFactory.getInstance("RSA").generatePublic(
                        new java.security.spec.RSAPublicKeySpec(rsa.getModulus(), rsa.getPublicExponent()));
            } catch (java.security.GeneralSecurityException e) {
                throw new PEMException("cannot derive an RSA public key", e);
            }
        }
        // OpenSSL's PKCS#8 EC keys carry the public point, the JDK's do not: derive it then (Q = dG).
        org.bouncycastle.asn1.sec.ECPrivateKey ec = org.bouncycastle.asn1.sec.ECPrivateKey.getInstance(info.parsePrivateKey());
        if (ec.getPublicKey() != null) {
            return converter.getPublicKey(new SubjectPublicKeyInfo(info.getPrivateKeyAlgorithm(), ec.getPublicKey().getBytes()));
        }
        org.bouncycastle.asn1.ASN1ObjectIdentifier curve = org.bouncycastle.asn1.ASN1ObjectIdentifier.getInstance(
                info.getPrivateKeyAlgorithm().getParameters());
        org.bouncycastle.asn1.x9.X9ECParameters x9 = org.bouncycastle.crypto.ec.CustomNamedCurves.getByOID(curve);
        if (x9 == null) {
            throw new PEMException("EC private key on an unsupported curve " + curve.getId());
        }
        byte[] point = new org.bouncycastle.math.ec.FixedPointCombMultiplier()
                .multiply(x9.getG(), ec.getKey()).normalize().getEncoded(false);
        return converter.getPublicKey(new SubjectPublicKeyInfo(info.getPrivateKeyAlgorithm(), point));
    }

    public static void writeCertificates(Path file, List<X509Certificate> certificates) throws IOException {
        writeAtomically(file, Pem.encodeCertificates(certificates), false);
    }

    /** Writes a PKCS#8 private key readable by its owner only. */
    public static void writePrivateKey(Path file, KeyPair pair) throws IOException {
        StringWriter out = new StringWriter();
        try (JcaPEMWriter writer = new JcaPEMWriter(out)) {
            writer.writeObject(new JcaPKCS8Generator(pair.getPrivate(), null));
        }
        writeAtomically(file, out.toString(), true);
    }

    public static void writeAtomically(Path file, String content, boolean secret) throws IOException {
        Path dir = file.toAbsolutePath().getParent();
        Files.createDirectories(dir);
        Path tmp = dir.resolve("." + file.getFileName() + ".tmp");
        Files.deleteIfExists(tmp);
        if (secret) {
            Files.createFile(tmp, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        }
        Files.writeString(tmp, content, StandardCharsets.US_ASCII, StandardOpenOption.CREATE,
                StandardOpenOption.TRUNCATE_EXISTING, StandardOpenOption.WRITE, StandardOpenOption.SYNC);
        Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    }

    private static String read(Path file) throws IOException {
        try {
            return Files.readString(file, StandardCharsets.US_ASCII);
        } catch (NoSuchFileException e) {
            throw new IOException(file.getFileName() + ": missing (looked for " + file.toAbsolutePath() + ")");
        } catch (java.nio.charset.MalformedInputException e) {
            throw new IOException(file.getFileName() + ": not a PEM file (non-ASCII bytes)");
        }
    }

}
