package dev.keel.identity;

import dev.keel.identity.internal.PrivateKeyDecoder;
import java.io.ByteArrayInputStream;
import java.security.PrivateKey;
import java.security.cert.CertificateEncodingException;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Objects;

/**
 * PEM (RFC 7468) encoding and decoding of certificates, certificate chains, private keys and
 * certificate requests.
 *
 * <p>Decoding is strict inside blocks and tolerant outside them, as OpenSSL is: text before, between
 * and after blocks (comments, {@code openssl x509 -text} output, blank lines) is ignored, and lines
 * are trimmed; but a block must have a matching END line, contain only base64 with correct padding,
 * and carry no RFC 1421 headers (those mean an encrypted key, which Keel does not read). Errors are
 * {@link InvalidPemException}s naming the block and line, never the bytes.
 *
 * <p>Encoding writes 64-character lines and {@code \n} line ends. Stateless and thread-safe.
 */
public final class Pem {

    public static final String CERTIFICATE = "CERTIFICATE";
    /** PKCS#8 PrivateKeyInfo, what Keel writes. */
    public static final String PRIVATE_KEY = "PRIVATE KEY";
    /** PKCS#1 RSAPrivateKey, read for OpenSSL 1.x and Istio {@code cacerts} compatibility. */
    public static final String RSA_PRIVATE_KEY = "RSA PRIVATE KEY";
    /** SEC1 ECPrivateKey, read for OpenSSL and Istio {@code cacerts} compatibility. */
    public static final String EC_PRIVATE_KEY = "EC PRIVATE KEY";
    /** PKCS#10 CertificationRequest. */
    public static final String CERTIFICATE_REQUEST = "CERTIFICATE REQUEST";

    private static final String BEGIN = "-----BEGIN ";
    private static final String END = "-----END ";
    private static final String DASHES = "-----";
    /** What {@code openssl ecparam -genkey} writes before the key; carries nothing the key lacks. */
    private static final String EC_PARAMETERS = "EC PARAMETERS";

    private Pem() {
    }

    // ---- encoding ----

    /** One block of {@code type} holding {@code der}. */
    public static String encode(String type, byte[] der) {
        return encode(PemBlock.of(type, der));
    }

    /** The blocks, one after another. */
    public static String encode(PemBlock... blocks) {
        return encode(List.of(blocks));
    }

    /** The blocks, one after another. */
    public static String encode(List<PemBlock> blocks) {
        Objects.requireNonNull(blocks, "blocks");
        StringBuilder out = new StringBuilder();
        Base64.Encoder encoder = Base64.getMimeEncoder(64, new byte[] {'\n'});
        for (PemBlock block : blocks) {
            Objects.requireNonNull(block, "block");
            out.append(BEGIN).append(block.type()).append(DASHES).append('\n');
            out.append(encoder.encodeToString(block.der())).append('\n');
            out.append(END).append(block.type()).append(DASHES).append('\n');
        }
        return out.toString();
    }

    /** One CERTIFICATE block. */
    public static String encodeCertificate(X509Certificate certificate) {
        return encodeCertificates(List.of(Objects.requireNonNull(certificate, "certificate")));
    }

    /** CERTIFICATE blocks in the order given: leaf first for a chain, as TLS and Istio expect. */
    public static String encodeCertificates(List<X509Certificate> certificates) {
        Objects.requireNonNull(certificates, "certificates");
        List<PemBlock> blocks = new ArrayList<>(certificates.size());
        for (X509Certificate certificate : certificates) {
            Objects.requireNonNull(certificate, "certificate");
            try {
                blocks.add(PemBlock.of(CERTIFICATE, certificate.getEncoded()));
            } catch (CertificateEncodingException e) {
                throw new IllegalArgumentException("certificate " + certificate.getSubjectX500Principal()
                        + " cannot be encoded", e);
            }
        }
        return encode(blocks);
    }

    /**
     * A PKCS#8 {@code PRIVATE KEY} block. The returned string holds the key; write it where it belongs
     * and drop it, do not log it.
     *
     * @throws IllegalArgumentException if the key has no PKCS#8 encoding (an HSM key, for instance)
     */
    public static String encodePrivateKey(PrivateKey key) {
        Objects.requireNonNull(key, "key");
        byte[] der = key.getEncoded();
        if (der == null || !"PKCS#8".equals(key.getFormat())) {
            throw new IllegalArgumentException("key: a " + key.getAlgorithm()
                    + " private key without a PKCS#8 encoding (not extractable?)");
        }
        return encode(PRIVATE_KEY, der);
    }

    /** A {@code CERTIFICATE REQUEST} block for a DER PKCS#10 request. */
    public static String encodeCertificateRequest(byte[] der) {
        return encode(CERTIFICATE_REQUEST, der);
    }

    // ---- decoding ----

    /**
     * Every block in {@code text}, in order, whatever its type. Text outside blocks is ignored; an
     * input without blocks gives an empty list.
     *
     * @throws InvalidPemException if a block is malformed
     */
    public static List<PemBlock> decode(String text) {
        Objects.requireNonNull(text, "text");
        List<PemBlock> blocks = new ArrayList<>();
        String[] lines = text.split("\r\n|\r|\n", -1);
        String type = null;
        int beginLine = 0;
        StringBuilder base64 = new StringBuilder();
        for (int i = 0; i < lines.length; i++) {
            int lineNo = i + 1;
            String line = lines[i].strip();
            if (type == null) {
                if (line.startsWith(BEGIN)) {
                    type = label(line, BEGIN, lineNo);
                    beginLine = lineNo;
                    base64.setLength(0);
                } else if (line.startsWith(END)) {
                    throw new InvalidPemException("PEM: END line at line " + lineNo + " without a BEGIN line");
                }
                continue;
            }
            if (line.startsWith(END)) {
                String endType = label(line, END, lineNo);
                if (!endType.equals(type)) {
                    throw new InvalidPemException("PEM: block " + type + " starting at line " + beginLine
                            + " ends with \"END " + endType + "\" at line " + lineNo);
                }
                blocks.add(block(type, beginLine, base64));
                type = null;
            } else if (line.startsWith(BEGIN)) {
                throw new InvalidPemException("PEM: block " + type + " starting at line " + beginLine
                        + " has no END line (another BEGIN at line " + lineNo + ")");
            } else if (line.indexOf(':') >= 0) {
                throw new InvalidPemException("PEM: block " + type + " starting at line " + beginLine
                        + " has a header at line " + lineNo + " (encrypted PEM is not supported)");
            } else {
                for (int c = 0; c < line.length(); c++) {
                    if (!isBase64(line.charAt(c))) {
                        throw new InvalidPemException("PEM: block " + type + " starting at line " + beginLine
                                + " has a non-base64 character at line " + lineNo + ", column " + (c + 1));
                    }
                }
                base64.append(line);
            }
        }
        if (type != null) {
            throw new InvalidPemException("PEM: block " + type + " starting at line " + beginLine + " has no END line");
        }
        return blocks;
    }

    /**
     * The certificates in {@code text}, in order (for a chain: leaf first). Every block must be a
     * CERTIFICATE.
     *
     * @throws InvalidPemException if there is no certificate, another block type, or a block that is not
     *     one DER certificate
     */
    public static List<X509Certificate> decodeCertificates(String text) {
        List<PemBlock> blocks = decode(text);
        if (blocks.isEmpty()) {
            throw new InvalidPemException("PEM: no " + CERTIFICATE + " block found");
        }
        List<X509Certificate> certificates = new ArrayList<>(blocks.size());
        CertificateFactory factory = certificateFactory();
        for (int i = 0; i < blocks.size(); i++) {
            PemBlock block = blocks.get(i);
            if (!block.type().equals(CERTIFICATE)) {
                throw new InvalidPemException("PEM: block " + (i + 1) + " is " + block.type()
                        + " (expected: " + CERTIFICATE + ")");
            }
            byte[] der = block.der();
            X509Certificate certificate;
            try {
                certificate = (X509Certificate) factory.generateCertificate(new ByteArrayInputStream(der));
                if (certificate.getEncoded().length != der.length) {
                    throw new InvalidPemException("PEM: " + CERTIFICATE + " block " + (i + 1)
                            + " has bytes after the certificate");
                }
            } catch (CertificateException e) {
                throw new InvalidPemException("PEM: " + CERTIFICATE + " block " + (i + 1)
                        + " is not a valid X.509 certificate: " + e.getMessage());
            }
            certificates.add(certificate);
        }
        return List.copyOf(certificates);
    }

    /** The single certificate in {@code text}. */
    public static X509Certificate decodeCertificate(String text) {
        List<X509Certificate> certificates = decodeCertificates(text);
        if (certificates.size() != 1) {
            throw new InvalidPemException("PEM: " + certificates.size() + " certificates (expected: exactly 1)");
        }
        return certificates.get(0);
    }

    /**
     * The one private key in {@code text}: PKCS#8 ({@code PRIVATE KEY}), PKCS#1 ({@code RSA PRIVATE
     * KEY}) or SEC1 ({@code EC PRIVATE KEY}), EC or RSA. An {@code EC PARAMETERS} block, as
     * {@code openssl ecparam -genkey} writes, is skipped. Key strength is not judged here.
     *
     * @throws InvalidPemException for no key, several keys, an encrypted key, another block type or a
     *     malformed key; the message never contains key bytes
     */
    public static PrivateKey decodePrivateKey(String text) {
        List<PemBlock> blocks = decode(text);
        PemBlock key = null;
        for (PemBlock block : blocks) {
            switch (block.type()) {
                case EC_PARAMETERS:
                    continue;
                case PRIVATE_KEY:
                case RSA_PRIVATE_KEY:
                case EC_PRIVATE_KEY:
                    if (key != null) {
                        throw new InvalidPemException("PEM: more than one private key (expected: exactly 1)");
                    }
                    key = block;
                    continue;
                case "ENCRYPTED PRIVATE KEY":
                    throw new InvalidPemException("PEM: ENCRYPTED PRIVATE KEY is not supported (decrypt it first, "
                            + "e.g. openssl pkcs8 -topk8 -nocrypt)");
                default:
                    throw new InvalidPemException("PEM: unexpected block " + block.type() + " (expected: "
                            + PRIVATE_KEY + ", " + RSA_PRIVATE_KEY + " or " + EC_PRIVATE_KEY + ")");
            }
        }
        if (key == null) {
            throw new InvalidPemException("PEM: no private key block found");
        }
        byte[] der = key.der();
        try {
            switch (key.type()) {
                case PRIVATE_KEY:
                    return PrivateKeyDecoder.pkcs8(der);
                case RSA_PRIVATE_KEY:
                    return PrivateKeyDecoder.pkcs1Rsa(der);
                default:
                    return PrivateKeyDecoder.sec1Ec(der);
            }
        } catch (IllegalArgumentException e) {
            throw new InvalidPemException("PEM: " + key.type() + ": " + e.getMessage());
        } finally {
            java.util.Arrays.fill(der, (byte) 0);
        }
    }

    /**
     * The DER bytes of the one {@code CERTIFICATE REQUEST} block in {@code text} (also accepting the
     * legacy label {@code NEW CERTIFICATE REQUEST}). The request itself is not parsed here.
     */
    public static byte[] decodeCertificateRequest(String text) {
        List<PemBlock> blocks = decode(text);
        if (blocks.size() != 1) {
            throw new InvalidPemException("PEM: " + blocks.size() + " blocks (expected: exactly 1 "
                    + CERTIFICATE_REQUEST + ")");
        }
        PemBlock block = blocks.get(0);
        if (!block.type().equals(CERTIFICATE_REQUEST) && !block.type().equals("NEW " + CERTIFICATE_REQUEST)) {
            throw new InvalidPemException("PEM: unexpected block " + block.type() + " (expected: "
                    + CERTIFICATE_REQUEST + ")");
        }
        return block.der();
    }

    static boolean isValidLabel(String label) {
        if (label.isEmpty() || label.charAt(0) == ' ' || label.charAt(label.length() - 1) == ' '
                || label.contains("  ")) {
            return false;
        }
        for (int i = 0; i < label.length(); i++) {
            char c = label.charAt(i);
            if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == ' ' || c == '#' || c == '-')) {
                return false;
            }
        }
        return true;
    }

    private static String label(String line, String prefix, int lineNo) {
        if (!line.endsWith(DASHES) || line.length() < prefix.length() + DASHES.length()) {
            throw new InvalidPemException("PEM: malformed " + prefix.substring(5).trim() + " line at line " + lineNo
                    + " (expected: " + prefix + "<LABEL>" + DASHES + ")");
        }
        String label = line.substring(prefix.length(), line.length() - DASHES.length());
        if (!isValidLabel(label)) {
            throw new InvalidPemException("PEM: malformed label at line " + lineNo);
        }
        return label;
    }

    private static PemBlock block(String type, int beginLine, StringBuilder base64) {
        if (base64.length() == 0) {
            throw new InvalidPemException("PEM: block " + type + " starting at line " + beginLine + " is empty");
        }
        byte[] der;
        try {
            if (base64.length() % 4 != 0) {
                // java.util.Base64 accepts missing padding; PEM (RFC 7468) requires it, and so does Go.
                throw new IllegalArgumentException("unpadded");
            }
            der = Base64.getDecoder().decode(base64.toString());
        } catch (IllegalArgumentException e) {
            // The characters were checked line by line, so only the length or padding can be wrong.
            throw new InvalidPemException("PEM: block " + type + " starting at line " + beginLine
                    + " has invalid base64 (bad length or padding)");
        }
        if (der.length == 0) {
            throw new InvalidPemException("PEM: block " + type + " starting at line " + beginLine + " is empty");
        }
        PemBlock block = PemBlock.of(type, der);
        java.util.Arrays.fill(der, (byte) 0);
        return block;
    }

    private static boolean isBase64(char c) {
        return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/'
                || c == '=';
    }

    private static CertificateFactory certificateFactory() {
        try {
            return CertificateFactory.getInstance("X.509");
        } catch (CertificateException e) {
            throw new IllegalStateException("X.509 is required of every JDK", e);
        }
    }
}
