package dev.keel.cli.internal.up;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.math.BigInteger;
import java.net.InetSocketAddress;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.Signature;
import java.security.interfaces.ECPublicKey;
import java.security.spec.ECGenParameterSpec;
import java.time.Clock;
import java.time.Duration;
import java.util.Arrays;
import java.util.Base64;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * The demo's identity provider: an ES256 key made at start (never written anywhere), its JWKS for the
 * frontend's RequestAuthentication, and {@code GET /token?sub=alice} handing out one-hour tokens on
 * loopback, so the demo can show a JWT accepted and a bad one refused without an outside IdP.
 */
public final class DemoTokenIssuer implements AutoCloseable {

    public static final String ISSUER = "https://id.keel.demo";
    public static final String AUDIENCE = "shop-frontend";
    private static final Pattern SUBJECT = Pattern.compile("[A-Za-z0-9._@-]{1,64}");
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Base64.Encoder B64 = Base64.getUrlEncoder().withoutPadding();

    private final KeyPair key;
    private final String kid;
    private final Clock clock;
    private HttpServer server;

    private DemoTokenIssuer(KeyPair key, Clock clock) {
        this.key = key;
        this.clock = clock;
        this.kid = HexFormat.of().formatHex(Arrays.copyOf(key.getPublic().getEncoded(), 4))
                + HexFormat.of().formatHex(key.getPublic().getEncoded(), key.getPublic().getEncoded().length - 4,
                        key.getPublic().getEncoded().length);
    }

    public static DemoTokenIssuer create(Clock clock) throws GeneralSecurityException {
        KeyPairGenerator generator = KeyPairGenerator.getInstance("EC");
        generator.initialize(new ECGenParameterSpec("secp256r1"));
        return new DemoTokenIssuer(generator.generateKeyPair(), clock);
    }

    /** The public key as a JWKS document (RFC 7517), for an inline {@code jwks} in a RequestAuthentication. */
    public String jwks() {
        ECPublicKey pub = (ECPublicKey) key.getPublic();
        ObjectNode jwk = JSON.createObjectNode().put("kty", "EC").put("crv", "P-256").put("kid", kid)
                .put("use", "sig").put("alg", "ES256")
                .put("x", B64.encodeToString(unsigned(pub.getW().getAffineX(), 32)))
                .put("y", B64.encodeToString(unsigned(pub.getW().getAffineY(), 32)));
        ObjectNode set = JSON.createObjectNode();
        set.putArray("keys").add(jwk);
        return set.toString();
    }

    /** A signed token for {@code subject}, audience {@value #AUDIENCE}, valid for {@code ttl}. */
    public String mint(String subject, Duration ttl) {
        if (!SUBJECT.matcher(subject).matches()) {
            throw new IllegalArgumentException("sub: letters, digits and ._@- only, at most 64");
        }
        long now = clock.instant().getEpochSecond();
        ObjectNode header = JSON.createObjectNode().put("alg", "ES256").put("typ", "JWT").put("kid", kid);
        ObjectNode claims = JSON.createObjectNode().put("iss", ISSUER).put("sub", subject).put("aud", AUDIENCE)
                .put("iat", now).put("nbf", now).put("exp", now + ttl.toSeconds());
        String signingInput = B64.encodeToString(header.toString().getBytes(StandardCharsets.UTF_8)) + "."
                + B64.encodeToString(claims.toString().getBytes(StandardCharsets.UTF_8));
        try {
            Signature signature = Signature.getInstance("SHA256withECDSAinP1363Format");
            signature.initSign(key.getPrivate());
            signature.update(signingInput.getBytes(StandardCharsets.US_ASCII));
            return signingInput + "." + B64.encodeToString(signature.sign());
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("ES256 signing failed", e);
        }
    }

    /** Serves {@code /token} and {@code /.well-known/jwks.json} on {@code address}. */
    public synchronized DemoTokenIssuer serve(InetSocketAddress address) throws IOException {
        server = HttpServer.create(address, 16);
        server.createContext("/", this::handle);
        server.start();
        return this;
    }

    private void handle(HttpExchange exchange) throws IOException {
        try (exchange) {
            String path = exchange.getRequestURI().getPath();
            if (!exchange.getRequestMethod().equals("GET")) {
                send(exchange, 405, "text/plain", "GET only\n");
            } else if (path.equals("/.well-known/jwks.json")) {
                send(exchange, 200, "application/json", jwks() + "\n");
            } else if (path.equals("/token")) {
                String subject = query(exchange.getRequestURI().getRawQuery()).getOrDefault("sub", "alice");
                try {
                    send(exchange, 200, "text/plain", mint(subject, Duration.ofHours(1)));
                } catch (IllegalArgumentException e) {
                    send(exchange, 400, "text/plain", e.getMessage() + "\n");
                }
            } else {
                send(exchange, 404, "text/plain", "try /token?sub=alice or /.well-known/jwks.json\n");
            }
        }
    }

    private static Map<String, String> query(String raw) {
        Map<String, String> out = new HashMap<>();
        if (raw == null) {
            return out;
        }
        for (String pair : raw.split("&")) {
            int eq = pair.indexOf('=');
            if (eq > 0) {
                out.put(URLDecoder.decode(pair.substring(0, eq), StandardCharsets.UTF_8),
                        URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8));
            }
        }
        return out;
    }

    static void send(HttpExchange exchange, int status, String type, String body) throws IOException {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        exchange.getResponseHeaders().set("Content-Type", type + "; charset=utf-8");
        exchange.sendResponseHeaders(status, bytes.length);
        try (OutputStream out = exchange.getResponseBody()) {
            out.write(bytes);
        }
    }

    private static byte[] unsigned(BigInteger value, int length) {
        byte[] raw = value.toByteArray();
        byte[] out = new byte[length];
        int copy = Math.min(raw.length, length);
        System.arraycopy(raw, raw.length - copy, out, length - copy, copy);
        return out;
    }

    @Override
    public synchronized void close() {
        if (server != null) {
            server.stop(0);
            server = null;
        }
    }
}
