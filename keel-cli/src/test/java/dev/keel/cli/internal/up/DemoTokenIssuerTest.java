package dev.keel.cli.internal.up;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.keel.jwt.JwksCache;
import dev.keel.jwt.JwtAuthenticator;
import dev.keel.jwt.JwtRequest;
import dev.keel.jwt.JwtResult;
import dev.keel.policy.ParsedPolicy;
import dev.keel.policy.RequestAuthentication;
import dev.keel.policy.source.PolicyFiles;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The demo issuer's tokens against the RequestAuthentication keel up writes, through the real jwt-authn engine. */
class DemoTokenIssuerTest {

    @TempDir
    Path tmp;

    @Test
    void itsTokensPassTheGeneratedRequestAuthenticationAndOthersDoNot() throws Exception {
        DemoTokenIssuer issuer = DemoTokenIssuer.create(Clock.systemUTC());
        Path source = Files.createDirectories(tmp.resolve("examples"));
        Files.writeString(source.resolve("mesh.yaml"), """
                apiVersion: security.istio.io/v1
                kind: PeerAuthentication
                metadata: {name: default, namespace: istio-system}
                spec: {mtls: {mode: STRICT}}
                """);
        Path target = tmp.resolve("policies");
        assertThat(DemoPolicies.assemble(source, target, issuer.jwks())).isEqualTo(2);

        PolicyFiles.Result files = PolicyFiles.read(target, "default");
        assertThat(files.isOk()).as("%s", files.errors()).isTrue();
        List<RequestAuthentication> rules = files.policies().stream().map(ParsedPolicy::policy)
                .filter(RequestAuthentication.class::isInstance).map(RequestAuthentication.class::cast).toList();
        assertThat(rules).hasSize(1);
        JwtAuthenticator authn = JwtAuthenticator.builder().policies(rules).jwksCache(JwksCache.create()).build();
        assertThat(authn.warnings()).isEmpty();

        JwtResult ok = authn.authenticate(bearer(issuer.mint("alice", Duration.ofHours(1)))).get();
        assertThat(ok).isInstanceOf(JwtResult.Ok.class);
        assertThat(((JwtResult.Ok) ok).jwt().principal()).isEqualTo(DemoTokenIssuer.ISSUER + "/alice");

        DemoTokenIssuer stranger = DemoTokenIssuer.create(Clock.systemUTC());
        assertThat(authn.authenticate(bearer(stranger.mint("alice", Duration.ofHours(1)))).get())
                .isInstanceOf(JwtResult.Invalid.class);
        DemoTokenIssuer past = DemoTokenIssuer.create(Clock.fixed(Instant.now().minus(Duration.ofHours(3)), ZoneOffset.UTC));
        assertThat(authn.authenticate(bearer(past.mint("alice", Duration.ofHours(1)))).get())
                .as("expired").isInstanceOf(JwtResult.Invalid.class);
    }

    @Test
    void refusesSubjectsThatWouldNeedEscaping() throws Exception {
        DemoTokenIssuer issuer = DemoTokenIssuer.create(Clock.systemUTC());
        assertThatThrownBy(() -> issuer.mint("a\"b", Duration.ofMinutes(1))).hasMessageContaining("sub");
        assertThatThrownBy(() -> issuer.mint("", Duration.ofMinutes(1))).hasMessageContaining("sub");
    }

    @Test
    void aPolicyThatDoesNotLoadStopsTheAssemblyAndLeavesTheTargetAlone() throws Exception {
        Path source = Files.createDirectories(tmp.resolve("bad"));
        Files.writeString(source.resolve("typo.yaml"), """
                apiVersion: security.istio.io/v1
                kind: AuthorizationPolicy
                metadata: {name: x, namespace: shop}
                spec: {action: ALOW}
                """);
        Path target = Files.createDirectories(tmp.resolve("target"));
        Files.writeString(target.resolve("kept.yaml"), "# the last good set\n");
        assertThatThrownBy(() -> DemoPolicies.assemble(source, target, "{\"keys\":[]}"))
                .hasMessageContaining("typo.yaml").hasMessageContaining("action");
        assertThat(target.resolve("kept.yaml")).exists();
    }

    private static JwtRequest bearer(String token) {
        return JwtRequest.builder().header("authorization", "Bearer " + token).build();
    }
}
