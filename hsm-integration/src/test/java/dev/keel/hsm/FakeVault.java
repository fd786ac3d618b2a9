package dev.keel.hsm;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsServer;
import dev.keel.identity.KeyPairs;
import dev.keel.identity.KeyType;
import dev.keel.identity.Pem;
import dev.keel.testing.TestLeaf;
import dev.keel.testing.TestPki;
import io.github.jopenlibs.vault.json.Json;
import io.github.jopenlibs.vault.json.JsonObject;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.security.KeyPair;
import java.security.KeyStore;
import java.security.Signature;
import java.security.cert.Certificate;
import java.time.Duration;
import java.util.Base64;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import org.bouncycastle.asn1.DERNull;
import org.bouncycastle.asn1.nist.NISTObjectIdentifiers;
import org.bouncycastle.asn1.x509.AlgorithmIdentifier;
import org.bouncycastle.asn1.x509.DigestInfo;

/**
 * The part of Vault's HTTP API that Keel uses, over HTTPS, following Vault's API documentation
 * (no Vault server can be installed here): {@code POST /v1/auth/approle/login},
 * {@code GET /v1/transit/keys/:name}, {@code POST /v1/transit/sign/:name} (prehashed,
 * {@code hash_algorithm}, {@code key_version}, {@code marshaling_algorithm=asn1},
 * {@code signature_algorithm=pkcs1v15}). It signs with real keys it generated, and can be sealed,
 * made to deny permission, fail a number of calls, or answer slowly.
 */
final class FakeVault implements AutoCloseable {

    final String rootToken = "hvs.root-" + UUID.randomUUID();
    final String roleId = "role-" + UUID.randomUUID();
    final String secretId = "secret-" + UUID.randomUUID();
    final Set<String> validTokens = ConcurrentHashMap.newKeySet();
    final Map<String, KeyPair> keys = new ConcurrentHashMap<>();
    final Map<String, KeyType> types = new ConcurrentHashMap<>();
    final AtomicInteger signCalls = new AtomicInteger();
    final AtomicInteger requests = new AtomicInteger();
    final AtomicInteger logins = new AtomicInteger();
    final AtomicInteger failNext = new AtomicInteger();
    volatile boolean sealed;
    volatile boolean denied;
    volatile Duration delay = Duration.ZERO;
    volatile java.time.Clock clock = java.time.Clock.systemUTC();
    final AtomicInteger pkiCalls = new AtomicInteger();

    private final TestPki pki = TestPki.create();
    private final HttpsServer server;
    private final ExecutorService executor = Executors.newFixedThreadPool(8);

    FakeVault() throws Exception {
        validTokens.add(rootToken);
        TestLeaf tls = pki.leaf("spiffe://cluster.local/ns/vault/sa/vault").dnsSan("localhost").issue();
        KeyStore store = KeyStore.getInstance("PKCS12");
        store.load(null, null);
        store.setKeyEntry("vault", tls.privateKey(), new char[0], tls.chain().toArray(Certificate[]::new));
        KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        kmf.init(store, new char[0]);
        SSLContext context = SSLContext.getInstance("TLS");
        context.init(kmf.getKeyManagers(), null, null);
        server = HttpsServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.setHttpsConfigurator(new HttpsConfigurator(context));
        server.setExecutor(executor);
        server.createContext("/v1/", this::handle);
        server.start();
    }

    String address() {
        return "https://localhost:" + server.getAddress().getPort();
    }

    String caPem() {
        return pki.rootPem();
    }

    /** {@code vault write -f transit/keys/<name> type=<type>}. */
    void createKey(String name, KeyType type) {
        keys.put(name, KeyPairs.generate(type));
        types.put(name, type);
    }

    private void handle(HttpExchange exchange) throws IOException {
        try (exchange) {
            requests.incrementAndGet();
            if (!delay.isZero()) {
                Thread.sleep(delay.toMillis());
            }
            String path = exchange.getRequestURI().getPath().substring("/v1/".length());
            String body = new String(exchange.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);
            if (sealed) {
                reply(exchange, 503, error("Vault is sealed"));
                return;
            }
            if (path.equals("auth/approle/login") && exchange.getRequestMethod().equals("POST")) {
                JsonObject request = Json.parse(body).asObject();
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
                return;
            }
            String token = exchange.getRequestHeaders().getFirst("X-Vault-Token");
            if (denied || token == null || !validTokens.contains(token)) {
                reply(exchange, 403, error("permission denied"));
                return;
            }
            if (path.startsWith("transit/keys/") && exchange.getRequestMethod().equals("GET")) {
                String name = path.substring("transit/keys/".length());
                KeyPair pair = keys.get(name);
                if (pair == null) {
                    reply(exchange, 404, "{\"errors\":[]}");
                    return;
                }
                String type = switch (types.get(name)) {
                    case EC_P256 -> "ecdsa-p256";
                    case EC_P384 -> "ecdsa-p384";
                    default -> "rsa-" + types.get(name).bits();
                };
                String pem = Pem.encode("PUBLIC KEY", pair.getPublic().getEncoded()).replace("\n", "\\n");
                reply(exchange, 200, "{\"data\":{\"name\":\"" + name + "\",\"type\":\"" + type + "\",\"latest_version\":1,"
                        + "\"min_decryption_version\":1,\"keys\":{\"1\":{\"creation_time\":\"2026-11-23T00:00:00Z\","
                        + "\"name\":\"" + type + "\",\"public_key\":\"" + pem + "\"}}}}");
                return;
            }
            if (path.startsWith("transit/sign/") && exchange.getRequestMethod().equals("POST")) {
                signCalls.incrementAndGet();
                if (failNext.getAndUpdate(n -> Math.max(0, n - 1)) > 0) {
                    reply(exchange, 503, error("Vault is sealed"));
                    return;
                }
                sign(exchange, path.substring("transit/sign/".length()), Json.parse(body).asObject());
                return;
            }
            if (path.equals("pki/root/sign-intermediate") && exchange.getRequestMethod().equals("POST")) {
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

    private void sign(HttpExchange exchange, String name, JsonObject request) throws Exception {
        KeyPair pair = keys.get(name);
        if (pair == null) {
            reply(exchange, 400, error("signing key not found"));
            return;
        }
        if (!request.getBoolean("prehashed", false) || request.getInt("key_version", 1) != 1) {
            reply(exchange, 400, error("expected a prehashed input for key version 1"));
            return;
        }
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
        reply(exchange, 200, "{\"data\":{\"key_version\":1,\"signature\":\"vault:v1:"
                + Base64.getEncoder().encodeToString(signature) + "\"}}");
    }

    /** The PKI engine's root, the anchor of intermediates it signs. */
    java.security.cert.X509Certificate pkiRoot() {
        return pki.root();
    }

    /** {@code pki/root/sign-intermediate} with use_csr_values: the CSR's subject and requested extensions. */
    private void signIntermediate(HttpExchange exchange, JsonObject request) throws Exception {
        org.bouncycastle.pkcs.PKCS10CertificationRequest csr = new org.bouncycastle.pkcs.PKCS10CertificationRequest(
                Pem.decodeCertificateRequest(request.getString("csr", "")));
        java.security.PublicKey requester = java.security.KeyFactory.getInstance(
                csr.getSubjectPublicKeyInfo().getAlgorithm().getAlgorithm().getId().equals("1.2.840.10045.2.1") ? "EC" : "RSA")
                .generatePublic(new java.security.spec.X509EncodedKeySpec(csr.getSubjectPublicKeyInfo().getEncoded()));
        if (!csr.isSignatureValid(new org.bouncycastle.operator.jcajce.JcaContentVerifierProviderBuilder().build(requester))) {
            reply(exchange, 400, error("CSR signature is invalid"));
            return;
        }
        String ttl = request.getString("ttl", "720h");
        Duration lifetime = ttl.endsWith("s") ? Duration.ofSeconds(Long.parseLong(ttl.substring(0, ttl.length() - 1)))
                : Duration.ofHours(Long.parseLong(ttl.substring(0, ttl.length() - 1)));
        java.time.Instant now = clock.instant();
        org.bouncycastle.cert.X509v3CertificateBuilder builder = new org.bouncycastle.cert.X509v3CertificateBuilder(
                org.bouncycastle.asn1.x500.X500Name.getInstance(pki.root().getSubjectX500Principal().getEncoded()),
                java.math.BigInteger.valueOf(System.nanoTime()), java.util.Date.from(now.minusSeconds(30)),
                java.util.Date.from(now.plus(lifetime)), csr.getSubject(), csr.getSubjectPublicKeyInfo());
        for (org.bouncycastle.asn1.pkcs.Attribute attribute : csr.getAttributes(
                org.bouncycastle.asn1.pkcs.PKCSObjectIdentifiers.pkcs_9_at_extensionRequest)) {
            org.bouncycastle.asn1.x509.Extensions extensions = org.bouncycastle.asn1.x509.Extensions.getInstance(
                    attribute.getAttrValues().getObjectAt(0));
            for (org.bouncycastle.asn1.ASN1ObjectIdentifier oid : extensions.getExtensionOIDs()) {
                builder.addExtension(extensions.getExtension(oid));
            }
        }
        java.security.cert.X509Certificate certificate = new org.bouncycastle.cert.jcajce.JcaX509CertificateConverter()
                .getCertificate(builder.build(new org.bouncycastle.operator.jcajce.JcaContentSignerBuilder(
                        pki.keyType().defaultSignatureAlgorithm().jcaName()).build(pki.rootKeyPair().getPrivate())));
        String cert = Pem.encodeCertificate(certificate).replace("\n", "\\n");
        String root = Pem.encodeCertificate(pki.root()).replace("\n", "\\n");
        reply(exchange, 200, "{\"data\":{\"certificate\":\"" + cert + "\",\"issuing_ca\":\"" + root
                + "\",\"ca_chain\":[\"" + root + "\"],\"serial_number\":\"" + certificate.getSerialNumber().toString(16)
                + "\",\"expiration\":" + certificate.getNotAfter().toInstant().getEpochSecond() + "}}");
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
