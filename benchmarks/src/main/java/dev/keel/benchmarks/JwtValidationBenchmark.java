package dev.keel.benchmarks;

import dev.keel.jwt.JwtAuthenticator;
import dev.keel.jwt.JwtRequest;
import dev.keel.jwt.JwtResult;
import dev.keel.policy.JWTRule;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PublicKey;
import java.security.spec.ECGenParameterSpec;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.jose4j.jwk.PublicJsonWebKey;
import org.jose4j.jws.JsonWebSignature;
import org.jose4j.jwt.JwtClaims;
import org.jose4j.jwt.consumer.JwtConsumer;
import org.jose4j.jwt.consumer.JwtConsumerBuilder;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;

/**
 * RequestAuthentication of one bearer token, one thread, by algorithm:
 * <ul>
 *   <li>{@code keelCold}: {@link JwtAuthenticator} with its verified-token cache off, so every call extracts,
 *       parses, checks the claims and verifies the signature (ES256 through identity-core's BoringSSL path);
 *       keys are inline, as after the first JWKS fetch;</li>
 *   <li>{@code keelCached}: the same token again with the cache on: SHA-256 of the token and a lookup;</li>
 *   <li>{@code jose4jDefault}: jose4j's {@link JwtConsumer} with the same checks (issuer, audience, exp), its
 *       default verification through the JDK providers: the reference.</li>
 * </ul>
 */
@Threads(1)
@Fork(value = 1, jvmArgsAppend = {"-Xms1g", "-Xmx1g"})
@Warmup(iterations = 2, time = 2)
@Measurement(iterations = 3, time = 2)
@State(Scope.Thread)
public class JwtValidationBenchmark {

    private static final String ISSUER = "https://issuer.example";

    @Param({"ES256", "RS256"})
    public String alg;

    private JwtAuthenticator cold;
    private JwtAuthenticator cached;
    private JwtConsumer jose4j;
    private JwtRequest request;
    private String token;

    @Setup(Level.Trial)
    public void setUp() throws Exception {
        KeyPair pair;
        if (alg.startsWith("ES")) {
            KeyPairGenerator generator = KeyPairGenerator.getInstance("EC");
            generator.initialize(new ECGenParameterSpec("secp256r1"));
            pair = generator.generateKeyPair();
        } else {
            KeyPairGenerator generator = KeyPairGenerator.getInstance("RSA");
            generator.initialize(2048);
            pair = generator.generateKeyPair();
        }
        PublicJsonWebKey jwk = PublicJsonWebKey.Factory.newPublicJwk(pair.getPublic());
        jwk.setKeyId("bench");
        String jwks = "{\"keys\":[" + jwk.toJson() + "]}";

        JwtClaims claims = new JwtClaims();
        claims.setIssuer(ISSUER);
        claims.setSubject("alice");
        claims.setAudience("api");
        claims.setIssuedAtToNow();
        claims.setExpirationTimeMinutesInTheFuture(600);
        claims.setClaim("scope", "read write");
        JsonWebSignature jws = new JsonWebSignature();
        jws.setPayload(claims.toJson());
        jws.setAlgorithmHeaderValue(alg);
        jws.setKeyIdHeaderValue("bench");
        jws.setKey(pair.getPrivate());
        token = jws.getCompactSerialization();
        request = JwtRequest.builder().header("authorization", "Bearer " + token).build();

        JWTRule rule = new JWTRule(ISSUER, List.of("api"), "", jwks, List.of(), List.of(), "", false, List.of(),
                Optional.empty(), List.of(), List.of());
        cold = JwtAuthenticator.builder().rule("bench", rule).verifiedTokenCacheSize(0).build();
        cached = JwtAuthenticator.builder().rule("bench", rule).build();
        jose4j = jose4jConsumer(pair.getPublic());
        check(cold.authenticate(request).join());
        check(cached.authenticate(request).join());
        if (!"alice".equals(jose4j.processToClaims(token).getSubject())) {
            throw new IllegalStateException("jose4j did not verify the token");
        }
        if (Instant.now().isAfter(Instant.ofEpochSecond(claims.getExpirationTime().getValue()))) {
            throw new IllegalStateException("token already expired");
        }
    }

    private static JwtConsumer jose4jConsumer(PublicKey key) {
        return new JwtConsumerBuilder().setVerificationKey(key).setExpectedIssuer(ISSUER).setExpectedAudience("api")
                .setRequireExpirationTime().setAllowedClockSkewInSeconds(60).build();
    }

    private static void check(JwtResult result) {
        if (!(result instanceof JwtResult.Ok)) {
            throw new IllegalStateException("token refused: " + result);
        }
    }

    @Benchmark
    @BenchmarkMode(Mode.Throughput)
    @OutputTimeUnit(TimeUnit.SECONDS)
    public JwtResult keelCold() {
        return cold.authenticate(request).join();
    }

    @Benchmark
    @BenchmarkMode(Mode.AverageTime)
    @OutputTimeUnit(TimeUnit.NANOSECONDS)
    public JwtResult keelCached() {
        return cached.authenticate(request).join();
    }

    @Benchmark
    @BenchmarkMode(Mode.Throughput)
    @OutputTimeUnit(TimeUnit.SECONDS)
    public JwtClaims jose4jDefault() throws Exception {
        return jose4j.processToClaims(token);
    }
}
