package dev.keel.identity;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assumptions.assumeThat;

import dev.keel.identity.internal.Json;
import dev.keel.identity.internal.Jwk;
import java.math.BigInteger;
import java.security.KeyPairGenerator;
import java.security.PublicKey;
import java.security.cert.X509Certificate;
import java.security.interfaces.ECPublicKey;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class BundleJsonTest {

    private static final TrustDomain TD = TrustDomain.parse("example.org");
    private static final X509Certificate EC_ROOT = TestCerts.root("example.org", KeyType.EC_P256).certificate();
    private static final X509Certificate P384_ROOT = TestCerts.root("example.org", KeyType.EC_P384).certificate();
    private static final X509Certificate RSA_ROOT = TestCerts.root("example.org", KeyType.RSA_2048).certificate();
    private static final PublicKey JWT_EC = KeyPairs.generate(KeyType.EC_P256).getPublic();
    private static final PublicKey JWT_RSA = KeyPairs.generate(KeyType.RSA_2048).getPublic();

    @Test
    void roundTrips() {
        Bundle bundle = Bundle.builder(TD).addX509Authority(EC_ROOT).addX509Authority(P384_ROOT)
                .addX509Authority(RSA_ROOT).putJwtAuthority("ec-1", JWT_EC).putJwtAuthority("rsa-1", JWT_RSA)
                .sequenceNumber(42).refreshHint(Duration.ofDays(28)).build();

        String json = BundleJson.encode(bundle);
        Bundle parsed = BundleJson.parse(TD, json);

        assertThat(parsed).isEqualTo(bundle);
        assertThat(BundleJson.encode(parsed)).isEqualTo(json);
        assertThat(json).startsWith("{\"keys\":[{\"use\":\"x509-svid\",\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":")
                .endsWith("],\"spiffe_sequence\":42,\"spiffe_refresh_hint\":2419200}");
    }

    @Test
    void writesTheSpecifiedMembers() throws Exception {
        Bundle bundle = Bundle.builder(TD).addX509Authority(RSA_ROOT).addX509Authority(P384_ROOT)
                .putJwtAuthority("kid-1", JWT_EC).build();

        List<Map<String, Object>> keys = keys(BundleJson.encode(bundle));

        Map<String, Object> rsa = keys.get(0);
        assertThat(rsa).containsOnlyKeys("use", "kty", "n", "e", "x5c");
        assertThat(rsa).containsEntry("use", "x509-svid").containsEntry("kty", "RSA").containsEntry("e", "AQAB");
        assertThat(rsa.get("x5c")).isEqualTo(List.of(Base64.getEncoder().encodeToString(RSA_ROOT.getEncoded())));
        Map<String, Object> p384 = keys.get(1);
        assertThat(p384).containsOnlyKeys("use", "kty", "crv", "x", "y", "x5c").containsEntry("crv", "P-384");
        assertThat((String) p384.get("x")).hasSize(64);
        Map<String, Object> jwt = keys.get(2);
        assertThat(jwt).containsOnlyKeys("use", "kid", "kty", "crv", "x", "y").containsEntry("use", "jwt-svid")
                .containsEntry("kid", "kid-1");
        assertThat(BundleJson.encode(Bundle.builder(TD).build())).isEqualTo("{\"keys\":[]}");
    }

    @Test
    void parsesTheSpecificationExample() throws Exception {
        String cert = Base64.getEncoder().encodeToString(RSA_ROOT.getEncoded());
        Map<String, Object> rsa = Jwk.publicKeyMembers(RSA_ROOT.getPublicKey());
        String json = "{\n        \"spiffe_sequence\": 1,\n        \"spiffe_refresh_hint\": 2419200,\n"
                + "        \"keys\": [\n                {\n                        \"kty\": \"RSA\",\n"
                + "                        \"use\": \"x509-svid\",\n                        \"x5c\": [\"" + cert + "\"],\n"
                + "                        \"n\": \"" + rsa.get("n") + "\",\n                        \"e\": \"AQAB\"\n"
                + "                }\n        ]\n}";

        Bundle bundle = BundleJson.parse(TD, json);

        assertThat(bundle.trustDomain()).isEqualTo(TD);
        assertThat(bundle.x509Authorities()).containsExactly(RSA_ROOT);
        assertThat(bundle.sequenceNumber()).hasValue(1);
        assertThat(bundle.refreshHint()).contains(Duration.ofSeconds(2419200));
    }

    @Test
    void ignoresUnknownUsesKeyTypesAndMembers() {
        List<Map<String, Object>> keys = new ArrayList<>(keys(BundleJson.encode(Bundle.of(TD, List.of(EC_ROOT)))));
        keys.add(Map.of("use", "sig", "kty", "EC"));
        keys.add(Map.of("use", "X509-SVID", "kty", "EC"));
        keys.add(Map.of("use", "future-svid"));
        keys.add(Map.of("use", "jwt-svid", "kty", "OKP", "crv", "Ed25519", "x", "abc", "kid", "ed"));
        keys.add(Map.of("use", "x509-svid", "kty", "oct", "k", "abc"));
        Map<String, Object> document = new LinkedHashMap<>();
        document.put("keys", keys);
        document.put("custom_extension", Map.of("anything", List.of(1, 2)));

        Bundle bundle = BundleJson.parse(TD, Json.write(document));

        assertThat(bundle.x509Authorities()).containsExactly(EC_ROOT);
        assertThat(bundle.jwtAuthorities()).isEmpty();
    }

    @Test
    void dropsDuplicateX509Authorities() {
        List<Map<String, Object>> keys = keys(BundleJson.encode(Bundle.of(TD, List.of(EC_ROOT))));

        Bundle bundle = BundleJson.parse(TD, Json.write(Map.of("keys", List.of(keys.get(0), keys.get(0)))));

        assertThat(bundle.x509Authorities()).containsExactly(EC_ROOT);
    }

    @Test
    void rejectsBadDocuments() {
        assertInvalid("", "bundle: JSON: unexpected end of input");
        assertInvalid("[]", "bundle: the document is not a JSON object");
        assertInvalid("{}", "bundle: \"keys\" is missing (required)");
        assertInvalid("{\"keys\":{}}", "bundle: \"keys\" is not an array");
        assertInvalid("{\"keys\":[1]}", "bundle: keys[0]: not a JSON object");
        assertInvalid("{\"keys\":[],\"keys\":[]}", "duplicate member name \"keys\" at offset 11");
        assertInvalid("{\"keys\":[{\"kty\":\"EC\"}]}", "keys[0]: use is missing (required)");
        assertInvalid("{\"keys\":[{\"use\":1}]}", "keys[0]: use is not a string");
        assertInvalid("{\"keys\":[{\"use\":\"x509-svid\"}]}", "keys[0]: kty is missing (required)");
        assertInvalid("{\"keys\":[],\"spiffe_sequence\":-1}", "spiffe_sequence: -1 (expected: an integer from 0 to");
        assertInvalid("{\"keys\":[],\"spiffe_sequence\":1.5}", "spiffe_sequence: 1.5");
        assertInvalid("{\"keys\":[],\"spiffe_sequence\":\"1\"}", "spiffe_sequence: 1 (expected");
        assertInvalid("{\"keys\":[],\"spiffe_sequence\":18446744073709551615}", "spiffe_sequence: 18446744073709551615");
        assertInvalid("{\"keys\":[],\"spiffe_sequence\":null}", "spiffe_sequence: null");
        assertInvalid("{\"keys\":[],\"spiffe_refresh_hint\":0}", "spiffe_refresh_hint: 0 (expected: an integer from 1");
        assertInvalid("{\"keys\":[]" + " ".repeat(BundleJson.MAX_LENGTH) + "}", "expected: <= 4194304");
        assertInvalid("{\"keys\":[" + "[".repeat(20) + "]".repeat(20) + "]}", "nesting deeper than 16");
    }

    @Test
    void x509EntriesNeedExactlyOneMatchingCertificate() {
        Map<String, Object> good = keys(BundleJson.encode(Bundle.of(TD, List.of(EC_ROOT)))).get(0);
        String der = Base64.getEncoder().encodeToString(encoded(EC_ROOT));

        assertEntryInvalid(without(good, "x5c"), "keys[0]: x509-svid entry has no x5c (expected: exactly one certificate)");
        assertEntryInvalid(with(good, "x5c", der), "has a non-array x5c");
        assertEntryInvalid(with(good, "x5c", List.of()), "x509-svid entry has 0 x5c certificates (expected: exactly 1)");
        assertEntryInvalid(with(good, "x5c", List.of(der, der)), "has 2 x5c certificates (expected: exactly 1)");
        assertEntryInvalid(with(good, "x5c", List.of(1)), "x5c[0] is not a string");
        assertEntryInvalid(with(good, "x5c", List.of("not base64!")), "x5c[0] is not valid base64");
        assertEntryInvalid(with(good, "x5c", List.of("MAMCAQE=")), "x5c[0] is not a DER X.509 certificate");
        Map<String, Object> otherKey = Jwk.publicKeyMembers(KeyPairs.generate(KeyType.EC_P256).getPublic());
        assertEntryInvalid(with(with(good, "x", otherKey.get("x")), "y", otherKey.get("y")),
                "key parameters do not match the public key of the x5c");
        Map<String, Object> rsaParams = new LinkedHashMap<>(without(without(without(good, "crv"), "x"), "y"));
        rsaParams.putAll(Jwk.publicKeyMembers(RSA_ROOT.getPublicKey()));
        assertEntryInvalid(rsaParams, "key parameters do not match");
        assertEntryInvalid(without(good, "y"), "keys[0]: y is missing");
    }

    @Test
    void x5cIsStandardBase64NotBase64Url() {
        String standard = Base64.getEncoder().encodeToString(encoded(RSA_ROOT));
        String url = Base64.getUrlEncoder().encodeToString(encoded(RSA_ROOT));
        assumeThat(url).isNotEqualTo(standard);
        Map<String, Object> good = keys(BundleJson.encode(Bundle.of(TD, List.of(RSA_ROOT)))).get(0);

        assertEntryInvalid(with(good, "x5c", List.of(url)), "x5c[0] is not valid base64 (standard alphabet, padded");
    }

    @Test
    void jwtEntriesNeedAUniqueKid() {
        Map<String, Object> good = keys(BundleJson.encode(Bundle.builder(TD).putJwtAuthority("k", JWT_EC).build())).get(0);

        assertEntryInvalid(without(good, "kid"), "keys[0]: jwt-svid entry has no kid (required)");
        assertEntryInvalid(with(good, "kid", ""), "jwt-svid entry has an empty or non-string kid");
        assertEntryInvalid(with(good, "kid", 7), "jwt-svid entry has an empty or non-string kid");
        assertThatThrownBy(() -> BundleJson.parse(TD, Json.write(Map.of("keys", List.of(good, good)))))
                .isInstanceOf(InvalidBundleException.class).hasMessage("bundle: keys[1]: duplicate kid \"k\" (also keys[0])");
    }

    @Test
    void rejectsMalformedKeyParameters() {
        Map<String, Object> good = keys(BundleJson.encode(Bundle.builder(TD).putJwtAuthority("k", JWT_EC).build())).get(0);
        ECPublicKey ec = (ECPublicKey) JWT_EC;
        byte[] x = ec.getW().getAffineX().toByteArray();
        byte[] y = ec.getW().getAffineY().add(BigInteger.ONE).toByteArray();
        String shortX = Base64.getUrlEncoder().withoutPadding().encodeToString(new byte[31]);
        String offCurveY = Base64.getUrlEncoder().withoutPadding().encodeToString(fixed(y, 32));

        assertEntryInvalid(with(good, "x", shortX), "x is 31 bytes (expected: 32");
        assertEntryInvalid(with(good, "y", offCurveY), "is not on curve P-256");
        assertEntryInvalid(with(good, "x", good.get("x") + "="), "x is padded (expected: unpadded base64url)");
        assertEntryInvalid(with(good, "x", "+/" + ((String) good.get("x")).substring(2)), "x is not valid base64url");
        assertEntryInvalid(with(good, "crv", "P-192"), "crv \"P-192\" is not supported (expected: P-256, P-384 or P-521)");
        assertEntryInvalid(with(good, "crv", 256), "crv is not a string");
        Map<String, Object> rsa = new LinkedHashMap<>(Map.of("use", "jwt-svid", "kid", "r", "kty", "RSA", "e", "AQAB"));
        assertEntryInvalid(rsa, "n is missing");
        rsa.put("n", "");
        assertEntryInvalid(rsa, "n is empty");
        rsa.put("n", "AA");
        assertEntryInvalid(rsa, "RSA n is zero");
        assertThat(x).isNotEmpty();
    }

    @Test
    void readsP521JwtAuthorities() throws Exception {
        KeyPairGenerator generator = KeyPairGenerator.getInstance("EC");
        generator.initialize(new ECGenParameterSpec("secp521r1"));
        PublicKey p521 = generator.generateKeyPair().getPublic();
        Map<String, Object> jwk = new LinkedHashMap<>(Map.of("use", "jwt-svid", "kid", "p521"));
        jwk.putAll(Jwk.publicKeyMembers(p521));

        Bundle bundle = BundleJson.parse(TD, Json.write(Map.of("keys", List.of(jwk))));

        assertThat(jwk.get("crv")).isEqualTo("P-521");
        assertThat(bundle.jwtAuthority("p521")).contains(p521);
    }

    @Test
    void encodeRefusesUnsupportedKeys() throws Exception {
        PublicKey ed = KeyPairGenerator.getInstance("Ed25519").generateKeyPair().getPublic();

        assertThatThrownBy(() -> BundleJson.encode(Bundle.builder(TD).putJwtAuthority("ed", ed).build()))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("JWT authority \"ed\": key algorithm EdDSA (expected: EC or RSA)");
    }

    @SuppressWarnings("unchecked")
    private static List<Map<String, Object>> keys(String json) {
        return (List<Map<String, Object>>) ((Map<String, Object>) Json.parse(json, 16, 1 << 22)).get("keys");
    }

    private static Map<String, Object> with(Map<String, Object> jwk, String name, Object value) {
        Map<String, Object> copy = new LinkedHashMap<>(jwk);
        copy.put(name, value);
        return copy;
    }

    private static Map<String, Object> without(Map<String, Object> jwk, String name) {
        Map<String, Object> copy = new LinkedHashMap<>(jwk);
        copy.remove(name);
        return copy;
    }

    private static void assertEntryInvalid(Map<String, Object> entry, String fragment) {
        String json = Json.write(Map.of("keys", List.of(entry)));
        assertThatThrownBy(() -> BundleJson.parse(TD, json)).isInstanceOf(InvalidBundleException.class)
                .hasMessageContaining(fragment);
    }

    private static void assertInvalid(String json, String fragment) {
        assertThatThrownBy(() -> BundleJson.parse(TD, json)).isInstanceOf(InvalidBundleException.class)
                .hasMessageContaining(fragment);
    }

    private static byte[] encoded(X509Certificate certificate) {
        try {
            return certificate.getEncoded();
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    private static byte[] fixed(byte[] value, int size) {
        byte[] out = new byte[size];
        int copy = Math.min(size, value.length);
        System.arraycopy(value, value.length - copy, out, size - copy, copy);
        return out;
    }
}
