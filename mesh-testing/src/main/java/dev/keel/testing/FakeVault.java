package dev.keel.testing;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsServer;
import dev.keel.identity.KeyPairs;
import dev.keel.identity.KeyType;
import dev.keel.identity.Pem;
import io.github.jopenlibs.vault.json.Json;
import io.github.jopenlibs.vault.json.JsonObject;
import java.io.IOException;
import java.io.OutputStream;
import java.math.BigInteger;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.security.KeyFactory;
import java.security.KeyPair;
import java.security.KeyStore;
import java.security.PublicKey;
import java.security.Signature;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.security.spec.X509EncodedKeySpec;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.Date;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import org.bouncycastle.asn1.ASN1ObjectIdentifier;
import org.bouncycastle.asn1.DERNull;
import org.bouncycastle.asn1.nist.NISTObjectIdentifiers;
import org.bouncycastle.asn1.pkcs.Attribute;
import org.bouncycastle.asn1.pkcs.PKCSObjectIdentifiers;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.AlgorithmIdentifier;
import org.bouncycastle.asn1.x509.DigestInfo;
import org.bouncycastle.asn1.x509.Extensions;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.bouncycastle.operator.jcajce.JcaContentVerifierProviderBuilder;
import org.bouncycastle.pkcs.PKCS10CertificationRequest;

/**
 * The part of Vault's HTTP API that Keel uses, over HTTPS on 127.0.0.1, following Vault's API
 * documentation (no Vault server can be installed here): {@code POST /v1/auth/approle/login},
 * Transit's {@code POST|GET /v1/transit/keys/:name}, {@code POST /v1/transit/keys/:name/rotate} and
 * {@code POST /v1/transit/sign/:name} (prehashed, {@code hash_algorithm}, {@code key_version},
 * {@code marshaling_algorithm=asn1}, {@code signature_algorithm=pkcs1v15}), and PKI's
 * {@code POST /v1/pki/root/sign-intermediate}. It signs with real keys it generated (every Transit
 * key version is a new key), and can be sealed, made to deny permission, fail a number of calls, or
 * answer slowly. Shared by hsm-integration's unit tests and keel-cli's end-to-end tests.
 *
 * <p>Thread-safe; the knobs are read on every request.
 */
public final class FakeVault implements AutoCloseable {

    public final String rootToken = "hvs.root-" + UUID.randomUUID();
    public final String roleId = "role-" + UUID.randomUUID();
    public final String secretId = "secret-" + UUID.randomUUID();
    public final Set<String> validTokens = ConcurrentHashMap.newKeySet();
    public final AtomicInteger signCalls = new AtomicInteger();
    public final AtomicInteger requests = new AtomicInteger();
    public final AtomicInteger logins = new AtomicInteger();
    public final AtomicInteger pkiCalls = new AtomicInteger();
    /** The next this many sign and sign-intermediate calls answer 503. */
    public final AtomicInteger failNext = new AtomicInteger();
    public volatile boolean sealed;
    public volatile boolean denied;
    public volatile Duration delay = Duration.ZERO;
    /** The PKI engine's clock (validity of the intermediates it signs). */
    public volatile Clock clock = Clock.systemUTC();

    /** Versions of each Transit key, oldest first (version n at index n - 1). */
    private final Map<String, List<KeyPair>> keys = new ConcurrentHashMap<>();
    private final Map<String, KeyType> types = new ConcurrentHashMap<>();
    private final TestPki pki = TestPki.create();
    private final HttpsServer server;
    private final ExecutorService executor = Executors.newFixedThreadPool(8);

    public FakeVault() throws Exception {
        validTokens.add(rootToken);
        TestLeaf tls = pki.leaf("spiffe://cluster.local/ns/vault/sa/vault").dnsSan("localhost").issue();
        KeyStore store = KeyStore.getInstance("PKCS12");
        store.load(null, null);
        store.setKeyEntry("vault", tls.privateKey(), new char[0], tls.chain().toArray(Certificate[]::new));
        KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        kmf.init(store, new char[0]);
        SSLContext context = SSLContext.getInstance("TLS");
        context.init(kmf.getKeyManagers(), null, null);
        server = HttpsServer.create(new InetSocketAddress(InetAddress.getByName("127.0.0.1"), 0), 0);
        server.setHttpsConfigurator(new HttpsConfigurator(context));
        server.setExecutor(executor);
        server.createContext("/v1/", this::handle);
        server.start();
    }

    /** {@code https://localhost:<port>} (the server certificate names localhost; the socket is on 127.0.0.1). */
    public String address() {
        return "https://localhost:" + server.getAddress().getPort();
    }

    /** The CA of Vault's TLS certificate, as {@code VAULT_CACERT} would hold it. */
    public String caPem() {
        return pki.rootPem();
    }

    /** The PKI engine's root, the anchor of intermediates it signs. */
    public X509Certificate pkiRoot() {
        return pki.root();
    }

    /** {@code vault write -f transit/keys/<name> type=<type>}. */
    public void createKey(String name, KeyType type) {
        types.put(name, type);
        keys.put(name, new CopyOnWriteArrayList<>(List.of(KeyPairs.generate(type))));
    }

    /** {@code vault write transit/keys/<name>/config exportable=true}: the key may now leave Vault. */
    public void makeExportable(String name) {
        exportable.add(name);
    }

    private final java.util.Set<String> exportable = java.util.concurrent.ConcurrentHashMap.newKeySet();

    /** The number of versions of Transit key {@code name} (0 if there is none). */
    public int versions(String name) {
        List<KeyPair> versions = keys.get(name);
        return versions == null ? 0 : versions.size();
    }

    private void handle(HttpExchange exchange) throws IOException {
        try (exchange) {
            requests.incrementAndGet();
            if (!delay.isZero()) {
                Thread.sleep(delay.toMillis());
            }
            String path = exchange.getRequestURI().getPath().substring("/v1/".length());
            String method = exchange.getRequestMethod();
            String body = new String(exchange.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);
            if (sealed) {
                reply(exchange, 503, error("Vault is sealed"));
                return;
            }
            if (path.equals("auth/approle/login") && method.equals("POST")) {
                login(exchange, Json.parse(body).asObject());
                return;
            }
            String token = exchange.getRequestHeaders().getFirst("X-Vault-Token");
            if (denied || token == null || !validTokens.contains(token)) {
                reply(exchange, 403, error("permission denied"));
                return;
            }
            if (path.startsWith("transit/keys/") && path.endsWith("/rotate") && method.equals("POST")) {
                String name = path.substring("transit/keys/".length(), path.length() - "/rotate".length());
                List<KeyPair> versions = keys.get(name);
                if (versions == null) {
                    reply(exchange, 400, error("key not found"));
                    return;
                }
                versions.add(KeyPairs.generate(types.get(name)));
                reply(exchange, 200, keyInfo(name));
                return;
            }
            if (path.startsWith("transit/keys/") && method.equals("POST")) {
                String name = path.substring("transit/keys/".length());
                String type = body.isBlank() ? "aes256-gcm96" : Json.parse(body).asObject().getString("type", "aes256-gcm96");
                KeyType keyType = keyType(type);
                if (keyType == null) {
                    reply(exchange, 400, error("unsupported key type in this fake: " + type));
                    return;
                }
                // Vault: creating a key that exists leaves it alone.
                types.putIfAbsent(name, keyType);
                keys.computeIfAbsent(name, n -> new CopyOnWriteArrayList<>(List.of(KeyPairs.generate(keyType))));
                reply(exchange, 200, keyInfo(name));
                return;
            }
            if (path.startsWith("transit/keys/") && method.equals("GET")) {
                String name = path.substring("transit/keys/".length());
                if (!keys.containsKey(name)) {
                    reply(exchange, 404, "{\"errors\":[]}");
                    return;
                }
                reply(exchange, 200, keyInfo(name));
                return;
            }
            if (path.startsWith("transit/sign/") && method.equals("POST")) {
                signCalls.incrementAndGet();
                if (failNext.getAndUpdate(n -> Math.max(0, n - 1)) > 0) {
                    reply(exchange, 503, error("Vault is sealed"));
                    return;
                }
                sign(exchange, path.substring("transit/sign/".length()), Json.parse(body).asObject());
                return;
            }
            if (path.equals("pki/root/sign-intermediate") && method.equals("POST")) {
                pkiCalls.incrementAndGet();
                if (failNext.getAndUpdate(n -> Math.max(0, n - 1)) > 0) {
                    reply(exchange, 503, error("Vault is sealed"));
                    return;
                }
                signIntermediate(exchange, Json.parse(body).asObject());
                return;
            }
            reply(exchange, 404, "{\"errors\":[]}");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (Exception e) {
            reply(exchange, 500, error("internal error: " + e));
        }
    }

    private void login(HttpExchange exchange, JsonObject request) throws IOException {
        if (!roleId.equals(request.getString("role_id", "")) || !secretId.equals(request.getString("secret_id", ""))) {
            reply(exchange, 400, error("invalid role or secret ID"));
            return;
        }
        String token = "hvs.approle-" + UUID.randomUUID();
        validTokens.add(token);
        logins.incrementAndGet();
        // The full response shape of Vault's docs (auth/approle/login).
        reply(exchange, 200, "{\"request_id\":\"" + UUID.randomUUID() + "\",\"lease_id\":\"\",\"renewable\":false,"
                + "\"lease_duration\":0,\"data\":null,\"wrap_info\":null,\"warnings\":null,\"auth\":{"
                + "\"client_token\":\"" + token + "\",\"accessor\":\"acc-" + UUID.randomUUID() + "\","
                + "\"policies\":[\"default\",\"keel-ca\"],\"token_policies\":[\"default\",\"keel-ca\"],"
                + "\"metadata\":{\"role_name\":\"keel-ca\"},\"lease_duration\":3600,\"renewable\":true,"
                + "\"entity_id\":\"e\",\"token_type\":\"service\",\"orphan\":true}}");
    }

    private static KeyType keyType(String vaultType) {
        return switch (vaultType) {
            case "ecdsa-p256" -> KeyType.EC_P256;
            case "ecdsa-p384" -> KeyType.EC_P384;
            case "rsa-2048" -> KeyType.RSA_2048;
            case "rsa-3072" -> KeyType.RSA_3072;
            case "rsa-4096" -> KeyType.RSA_4096;
            default -> null;
        };
    }

    /** The answer of {@code GET transit/keys/:name} for a signing key: every version's public key. */
    private String keyInfo(String name) {
        KeyType keyType = types.get(name);
        String type = switch (keyType) {
            case EC_P256 -> "ecdsa-p256";
            case EC_P384 -> "ecdsa-p384";
            default -> "rsa-" + keyType.bits();
        };
        List<KeyPair> versions = keys.get(name);
        StringBuilder json = new StringBuilder("{\"data\":{\"name\":\"" + name + "\",\"type\":\"" + type
                + "\",\"exportable\":" + exportable.contains(name) + ",\"latest_version\":" + versions.size() + ",\"min_decryption_version\":1,\"keys\":{");
        for (int v = 1; v <= versions.size(); v++) {
            String pem = Pem.encode("PUBLIC KEY", versions.get(v - 1).getPublic().getEncoded()).replace("\n", "\\n");
            json.append(v > 1 ? "," : "").append("\"").append(v).append("\":{\"creation_time\":\"2026-11-23T00:00:00Z\",")
                    .append("\"name\":\"").append(type).append("\",\"public_key\":\"").append(pem).append("\"}");
        }
        return json.append("}}}").toString();
    }

    private void sign(HttpExchange exchange, String name, JsonObject request) throws Exception {
        List<KeyPair> versions = keys.get(name);
        if (versions == null) {
            reply(exchange, 400, error("signing key not found"));
            return;
        }
        int version = request.getInt("key_version", versions.size());
        if (!request.getBoolean("prehashed", false) || version < 1 || version > versions.size()) {
            reply(exchange, 400, error("expected a prehashed input for an existing key version"));
            return;
        }
        KeyPair pair = versions.get(version - 1);
        byte[] digest = Base64.getDecoder().decode(request.getString("input", ""));
        String hash = request.getString("hash_algorithm", "sha2-256");
        int expectedLength = switch (hash) {
            case "sha2-256" -> 32;
            case "sha2-384" -> 48;
            case "sha2-512" -> 64;
            default -> -1;
        };
        if (digest.length != expectedLength) {
            reply(exchange, 400, error("input length does not match hash_algorithm"));
            return;
        }
        byte[] signature;
        if (types.get(name).family() == KeyType.Family.EC) {
            if (!"asn1".equals(request.getString("marshaling_algorithm", "asn1"))) {
                reply(exchange, 400, error("only asn1 marshaling in this fake"));
                return;
            }
            Signature ecdsa = Signature.getInstance("NONEwithECDSA"); // signs the given digest, DER output
            ecdsa.initSign(pair.getPrivate());
            ecdsa.update(digest);
            signature = ecdsa.sign();
        } else {
            if (!"pkcs1v15".equals(request.getString("signature_algorithm", "pss"))) {
                reply(exchange, 400, error("only pkcs1v15 in this fake"));
                return;
            }
            AlgorithmIdentifier digestAlgorithm = new AlgorithmIdentifier(switch (hash) {
                case "sha2-256" -> NISTObjectIdentifiers.id_sha256;
                case "sha2-384" -> NISTObjectIdentifiers.id_sha384;
                default -> NISTObjectIdentifiers.id_sha512;
            }, DERNull.INSTANCE);
            Signature rsa = Signature.getInstance("NONEwithRSA");
            rsa.initSign(pair.getPrivate());
            rsa.update(new DigestInfo(digestAlgorithm, digest).getEncoded());
            signature = rsa.sign();
        }
        reply(exchange, 200, "{\"data\":{\"key_version\":" + version + ",\"signature\":\"vault:v" + version + ":"
                + Base64.getEncoder().encodeToString(signature) + "\"}}");
    }

    /** {@code pki/root/sign-intermediate} with use_csr_values: the CSR's subject and requested extensions. */
    private void signIntermediate(HttpExchange exchange, JsonObject request) throws Exception {
        PKCS10CertificationRequest csr = new PKCS10CertificationRequest(
                Pem.decodeCertificateRequest(request.getString("csr", "")));
        boolean ec = csr.getSubjectPublicKeyInfo().getAlgorithm().getAlgorithm().getId().equals("1.2.840.10045.2.1");
        PublicKey requester = KeyFactory.getInstance(ec ? "EC" : "RSA")
                .generatePublic(new X509EncodedKeySpec(csr.getSubjectPublicKeyInfo().getEncoded()));
        if (!csr.isSignatureValid(new JcaContentVerifierProviderBuilder().build(requester))) {
            reply(exchange, 400, error("CSR signature is invalid"));
            return;
        }
        Duration lifetime = parseTtl(request.getString("ttl", "720h"));
        Instant now = clock.instant();
        X509v3CertificateBuilder builder = new X509v3CertificateBuilder(
                X500Name.getInstance(pki.root().getSubjectX500Principal().getEncoded()),
                BigInteger.valueOf(System.nanoTime()), Date.from(now.minusSeconds(30)), Date.from(now.plus(lifetime)),
                csr.getSubject(), csr.getSubjectPublicKeyInfo());
        for (Attribute attribute : csr.getAttributes(PKCSObjectIdentifiers.pkcs_9_at_extensionRequest)) {
            Extensions extensions = Extensions.getInstance(attribute.getAttrValues().getObjectAt(0));
            for (ASN1ObjectIdentifier oid : extensions.getExtensionOIDs()) {
                builder.addExtension(extensions.getExtension(oid));
            }
        }
        X509Certificate certificate = new JcaX509CertificateConverter().getCertificate(builder.build(
                new JcaContentSignerBuilder(pki.keyType().defaultSignatureAlgorithm().jcaName())
                        .build(pki.rootKeyPair().getPrivate())));
        String cert = Pem.encodeCertificate(certificate).replace("\n", "\\n");
        String root = Pem.encodeCertificate(pki.root()).replace("\n", "\\n");
        reply(exchange, 200, "{\"data\":{\"certificate\":\"" + cert + "\",\"issuing_ca\":\"" + root
                + "\",\"ca_chain\":[\"" + root + "\"],\"serial_number\":\"" + certificate.getSerialNumber().toString(16)
                + "\",\"expiration\":" + certificate.getNotAfter().toInstant().getEpochSecond() + "}}");
    }

    /** Vault's duration strings as Keel sends them: {@code <n>s}, {@code <n>m} or {@code <n>h}. */
    private static Duration parseTtl(String ttl) {
        long n = Long.parseLong(ttl.substring(0, ttl.length() - 1));
        return switch (ttl.charAt(ttl.length() - 1)) {
            case 's' -> Duration.ofSeconds(n);
            case 'm' -> Duration.ofMinutes(n);
            default -> Duration.ofHours(n);
        };
    }

    private static String error(String message) {
        return "{\"errors\":[\"" + message.replace("\"", "'") + "\"]}";
    }

    private static void reply(HttpExchange exchange, int status, String json) throws IOException {
        byte[] bytes = json.getBytes(StandardCharsets.UTF_8);
        exchange.getResponseHeaders().set("Content-Type", "application/json");
        exchange.sendResponseHeaders(status, bytes.length);
        try (OutputStream out = exchange.getResponseBody()) {
            out.write(bytes);
        }
    }

    @Override
    public void close() {
        server.stop(0);
        executor.shutdownNow();
    }
}
