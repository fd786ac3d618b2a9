package dev.keel.identity;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.security.KeyPair;
import java.security.PrivateKey;
import java.security.interfaces.ECPrivateKey;
import java.security.interfaces.ECPublicKey;
import java.security.interfaces.RSAPrivateCrtKey;
import java.security.cert.X509Certificate;
import java.util.Base64;
import java.util.List;
import org.bouncycastle.asn1.ASN1Encoding;
import org.bouncycastle.asn1.ASN1ObjectIdentifier;
import org.bouncycastle.asn1.DERBitString;
import org.bouncycastle.asn1.pkcs.RSAPrivateKey;
import org.bouncycastle.asn1.sec.SECObjectIdentifiers;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class PemTest {

    private static final TestCerts.Ca ROOT = TestCerts.root("example.org", KeyType.EC_P256);
    private static final TestCerts.Ca INTERMEDIATE = TestCerts.intermediate(ROOT, "example.org", KeyType.EC_P256);
    private static final X509Certificate LEAF = TestCerts.leaf(INTERMEDIATE, "spiffe://example.org/w",
            KeyPairs.generate(KeyType.EC_P256).getPublic());

    @Test
    void certificateChainsRoundTripInOrder() {
        List<X509Certificate> chain = List.of(LEAF, INTERMEDIATE.certificate(), ROOT.certificate());

        String pem = Pem.encodeCertificates(chain);

        assertThat(pem).startsWith("-----BEGIN CERTIFICATE-----\n").endsWith("-----END CERTIFICATE-----\n");
        assertThat(pem.lines().filter(l -> !l.startsWith("-----")).allMatch(l -> l.length() <= 64)).isTrue();
        assertThat(Pem.decodeCertificates(pem)).containsExactlyElementsOf(chain);
        assertThat(Pem.decodeCertificate(Pem.encodeCertificate(LEAF))).isEqualTo(LEAF);
    }

    @Test
    void toleratesTextAroundBlocksCrLfAndIndentation() {
        String block = Pem.encodeCertificate(LEAF);
        String text = "Certificate:\n    Data: (openssl x509 -text output)\n\n"
                + block.replace("\n", "\r\n").replace("-----BEGIN", "  -----BEGIN")
                + "\n# a comment between blocks\n"
                + Pem.encodeCertificate(ROOT.certificate()).replace("\n", "  \n")
                + "trailing text";

        assertThat(Pem.decodeCertificates(text)).containsExactly(LEAF, ROOT.certificate());
    }

    @Test
    void decodesBlocksOfAnyType() {
        String text = Pem.encode("CERTIFICATE REQUEST", new byte[] {1, 2, 3}) + Pem.encode("X509 CRL", new byte[] {4});

        List<PemBlock> blocks = Pem.decode(text);

        assertThat(blocks).containsExactly(PemBlock.of("CERTIFICATE REQUEST", new byte[] {1, 2, 3}),
                PemBlock.of("X509 CRL", new byte[] {4}));
        assertThat(blocks.get(0).der()).containsExactly(1, 2, 3);
        assertThat(Pem.decode("no pem here")).isEmpty();
        assertThat(Pem.decode("")).isEmpty();
    }

    @Test
    void rejectsMalformedBlocks() {
        String good = Pem.encodeCertificate(LEAF);
        String[] lines = good.split("\n");

        assertInvalid(good.replace("-----END CERTIFICATE-----\n", ""), "block CERTIFICATE starting at line 1 has no END line");
        assertInvalid(good.replace("-----END CERTIFICATE-----", "-----END PRIVATE KEY-----"),
                "ends with \"END PRIVATE KEY\"");
        assertInvalid(good.replace("-----END CERTIFICATE-----\n", "") + good, "has no END line (another BEGIN at line");
        assertInvalid("text\n-----END CERTIFICATE-----\n", "END line at line 2 without a BEGIN line");
        assertInvalid(good.replace(lines[2], lines[2].substring(0, 10) + "*" + lines[2].substring(11)),
                "non-base64 character at line 3, column 11");
        assertInvalid(good.replace(lines[2], lines[2].substring(0, 10) + " " + lines[2].substring(11)),
                "non-base64 character at line 3, column 11");
        assertInvalid(good.replace(lines[1], lines[1].substring(1)), "invalid base64 (bad length or padding)");
        assertInvalid(good.replace(lines[1], "QQ==" + lines[1]), "invalid base64");
        assertInvalid("-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n", "is empty");
        assertInvalid("-----BEGIN CERTIFICATE\nAAAA\n-----END CERTIFICATE-----\n", "malformed BEGIN line at line 1");
        assertInvalid("-----BEGIN certificate-----\nAAAA\n-----END certificate-----\n", "malformed label at line 1");
        assertInvalid("-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-256-CBC,00\n\nAAAA\n"
                + "-----END RSA PRIVATE KEY-----\n", "has a header at line 2 (encrypted PEM is not supported)");
    }

    @Test
    void decodeCertificatesRejectsOtherBlocksAndGarbage() {
        String key = Pem.encodePrivateKey(KeyPairs.generate(KeyType.EC_P256).getPrivate());

        assertInvalid(() -> Pem.decodeCertificates(Pem.encodeCertificate(LEAF) + key),
                "block 2 is PRIVATE KEY (expected: CERTIFICATE)");
        assertInvalid(() -> Pem.decodeCertificates("nothing"), "no CERTIFICATE block found");
        assertInvalid(() -> Pem.decodeCertificates(Pem.encode("CERTIFICATE", new byte[] {0x30, 0x03, 1, 2, 3})),
                "is not a valid X.509 certificate");
        byte[] withTrailer = java.util.Arrays.copyOf(der(LEAF), der(LEAF).length + 2);
        assertInvalid(() -> Pem.decodeCertificates(Pem.encode("CERTIFICATE", withTrailer)), "bytes after the certificate");
        assertInvalid(() -> Pem.decodeCertificate(Pem.encodeCertificates(List.of(LEAF, ROOT.certificate()))),
                "2 certificates (expected: exactly 1)");
    }

    @ParameterizedTest
    @EnumSource(value = KeyType.class, names = {"EC_P256", "EC_P384", "RSA_2048"})
    void pkcs8KeysRoundTrip(KeyType type) {
        KeyPair pair = KeyPairs.generate(type);

        String pem = Pem.encodePrivateKey(pair.getPrivate());
        PrivateKey decoded = Pem.decodePrivateKey(pem);

        assertThat(pem).startsWith("-----BEGIN PRIVATE KEY-----\n");
        assertThat(decoded.getEncoded()).isEqualTo(pair.getPrivate().getEncoded());
        assertThat(SoftwareSigningKey.of("decoded", new KeyPair(pair.getPublic(), decoded)).keyType()).isEqualTo(type);
    }

    @Test
    void readsPkcs1RsaKeys() throws Exception {
        KeyPair pair = KeyPairs.generate(KeyType.RSA_2048);
        RSAPrivateCrtKey k = (RSAPrivateCrtKey) pair.getPrivate();
        byte[] pkcs1 = new RSAPrivateKey(k.getModulus(), k.getPublicExponent(), k.getPrivateExponent(), k.getPrimeP(),
                k.getPrimeQ(), k.getPrimeExponentP(), k.getPrimeExponentQ(), k.getCrtCoefficient())
                .getEncoded(ASN1Encoding.DER);

        PrivateKey decoded = Pem.decodePrivateKey(Pem.encode(Pem.RSA_PRIVATE_KEY, pkcs1));

        assertThat(decoded).isInstanceOf(RSAPrivateCrtKey.class);
        assertThat(((RSAPrivateCrtKey) decoded).getPrivateExponent()).isEqualTo(k.getPrivateExponent());
        assertThat(SoftwareSigningKey.of("pkcs1", new KeyPair(pair.getPublic(), decoded)).matches(pair.getPublic()))
                .isTrue();
    }

    @Test
    void readsSec1EcKeysAsOpensslWritesThem() throws Exception {
        KeyPair pair = KeyPairs.generate(KeyType.EC_P256);
        byte[] sec1 = sec1(pair, SECObjectIdentifiers.secp256r1);
        String ecParameters = Pem.encode("EC PARAMETERS", SECObjectIdentifiers.secp256r1.getEncoded());

        PrivateKey decoded = Pem.decodePrivateKey(ecParameters + Pem.encode(Pem.EC_PRIVATE_KEY, sec1));

        assertThat(((ECPrivateKey) decoded).getS()).isEqualTo(((ECPrivateKey) pair.getPrivate()).getS());
        assertThat(SoftwareSigningKey.of("sec1", new KeyPair(pair.getPublic(), decoded)).keyType())
                .isEqualTo(KeyType.EC_P256);
    }

    @Test
    void refusesSec1KeysWithoutANamedCurve() throws Exception {
        KeyPair pair = KeyPairs.generate(KeyType.EC_P256);
        byte[] sec1 = sec1(pair, null);

        assertInvalid(() -> Pem.decodePrivateKey(Pem.encode(Pem.EC_PRIVATE_KEY, sec1)), "does not name its curve");
    }

    @Test
    void privateKeyErrorsAreClearAndCarryNoKeyBytes() {
        byte[] pkcs8 = KeyPairs.generate(KeyType.EC_P256).getPrivate().getEncoded();
        byte[] corrupt = pkcs8.clone();
        corrupt[1] = (byte) 0x7f;
        String corruptPem = Pem.encode(Pem.PRIVATE_KEY, corrupt);

        assertThatThrownBy(() -> Pem.decodePrivateKey(corruptPem)).isInstanceOf(InvalidPemException.class)
                .hasMessageContaining("PRIVATE KEY: not a valid PKCS#8 PrivateKeyInfo")
                .hasNoCause()
                .satisfies(e -> assertThat(e.getMessage())
                        .doesNotContain(Base64.getEncoder().encodeToString(corrupt).substring(10, 40)));
        assertInvalid(() -> Pem.decodePrivateKey(Pem.encode("ENCRYPTED PRIVATE KEY", new byte[] {1})),
                "ENCRYPTED PRIVATE KEY is not supported");
        String key = Pem.encode(Pem.PRIVATE_KEY, pkcs8);
        assertInvalid(() -> Pem.decodePrivateKey(key + key), "more than one private key");
        assertInvalid(() -> Pem.decodePrivateKey(Pem.encodeCertificate(LEAF)), "unexpected block CERTIFICATE");
        assertInvalid(() -> Pem.decodePrivateKey("nothing"), "no private key block found");
        assertInvalid(() -> Pem.decodePrivateKey(Pem.encode(Pem.PRIVATE_KEY, ed25519Pkcs8())),
                "algorithm 1.3.101.112 is not supported (expected: EC or RSA)");
    }

    @Test
    void certificateRequestsRoundTrip() {
        byte[] der = {0x30, 0x01, 0x00};

        assertThat(Pem.encodeCertificateRequest(der)).startsWith("-----BEGIN CERTIFICATE REQUEST-----");
        assertThat(Pem.decodeCertificateRequest(Pem.encodeCertificateRequest(der))).isEqualTo(der);
        assertThat(Pem.decodeCertificateRequest(Pem.encode("NEW CERTIFICATE REQUEST", der))).isEqualTo(der);
        assertInvalid(() -> Pem.decodeCertificateRequest(Pem.encodeCertificate(LEAF)), "unexpected block CERTIFICATE");
        assertInvalid(() -> Pem.decodeCertificateRequest(""), "0 blocks");
    }

    @Test
    void blocksNeverPrintTheirBytes() {
        PemBlock block = PemBlock.of(Pem.PRIVATE_KEY, new byte[] {0x41, 0x42, 0x43});

        assertThat(block.toString()).isEqualTo("PemBlock{type=PRIVATE KEY, 3 bytes}");
        assertThat(block.length()).isEqualTo(3);
        byte[] copy = block.der();
        copy[0] = 0;
        assertThat(block.der()[0]).isEqualTo((byte) 0x41);
        assertThatThrownBy(() -> PemBlock.of("lower case", new byte[] {1})).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("type:");
        assertThatThrownBy(() -> PemBlock.of("X", new byte[0])).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("der: empty");
    }

    @Test
    void refusesKeysWithoutPkcs8Encoding() {
        PrivateKey opaque = new PrivateKey() {
            @Override
            public String getAlgorithm() {
                return "EC";
            }

            @Override
            public String getFormat() {
                return null;
            }

            @Override
            public byte[] getEncoded() {
                return null;
            }
        };

        assertThatThrownBy(() -> Pem.encodePrivateKey(opaque)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("without a PKCS#8 encoding");
    }

    private static byte[] sec1(KeyPair pair, ASN1ObjectIdentifier curve) throws Exception {
        ECPublicKey pub = (ECPublicKey) pair.getPublic();
        byte[] spki = pub.getEncoded();
        byte[] point = org.bouncycastle.asn1.x509.SubjectPublicKeyInfo.getInstance(spki).getPublicKeyData().getBytes();
        return new org.bouncycastle.asn1.sec.ECPrivateKey(256, ((ECPrivateKey) pair.getPrivate()).getS(),
                new DERBitString(point), curve).getEncoded(ASN1Encoding.DER);
    }

    private static byte[] ed25519Pkcs8() {
        try {
            return java.security.KeyPairGenerator.getInstance("Ed25519").generateKeyPair().getPrivate().getEncoded();
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    private static byte[] der(X509Certificate certificate) {
        try {
            return certificate.getEncoded();
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    private static void assertInvalid(String text, String fragment) {
        assertInvalid(() -> Pem.decode(text), fragment);
    }

    private static void assertInvalid(org.assertj.core.api.ThrowableAssert.ThrowingCallable call, String fragment) {
        assertThatThrownBy(call).isInstanceOf(InvalidPemException.class).hasMessageContaining(fragment);
    }
}
