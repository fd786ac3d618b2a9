package dev.keel.proxy.pipeline;

import static org.assertj.core.api.Assertions.assertThat;

import dev.keel.authz.AuthzConfig;
import dev.keel.authz.AuthzRequest;
import dev.keel.authz.Protocol;
import dev.keel.authz.Workload;
import dev.keel.jwt.JwksCache;
import dev.keel.jwt.JwtRequest;
import dev.keel.jwt.JwtResult;
import dev.keel.policy.ParseResult;
import dev.keel.policy.PeerAuthentication.MutualTLS.Mode;
import dev.keel.policy.PolicyParser;
import dev.keel.policy.source.PolicySet;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class PipelineTest {

    static final PipelineSettings SETTINGS = new PipelineSettings(Workload.of("shop", Map.of("app", "cart")),
            AuthzConfig.defaults(), Mode.PERMISSIVE, Map.of(9000, Mode.DISABLE));
    static final JwksCache JWKS = JwksCache.create();

    static ParseResult parse(String yaml) {
        ParseResult r = PolicyParser.parse("test.yaml", yaml);
        assertThat(r.errors()).isEmpty();
        return r;
    }

    static AuthzRequest get(String path) {
        return AuthzRequest.builder(Protocol.HTTP).method("GET").path(path).build();
    }

    @Test
    void withoutPoliciesTheConfiguredModesApplyAndEverythingIsAllowed() {
        Pipeline p = Pipeline.compile(1, List.of(), SETTINGS, JWKS).pipeline();
        assertThat(p.mode(8080)).isEqualTo(Mode.PERMISSIVE);
        assertThat(p.mode(9000)).isEqualTo(Mode.DISABLE);
        assertThat(p.authorize(get("/")).allowed()).isTrue();
        assertThat(p.authenticate(JwtRequest.builder().build()).join()).isInstanceOf(JwtResult.Missing.class);
    }

    @Test
    void notLoadedFailsClosed() {
        Pipeline p = Pipeline.notLoaded(SETTINGS);
        assertThat(p.isLoaded()).isFalse();
        assertThat(p.authorize(get("/")).allowed()).isFalse();
    }

    @Test
    void peerAuthenticationWorkloadBeatsNamespaceBeatsMeshAndPortLevelBeatsAll() {
        ParseResult r = parse("""
                apiVersion: security.istio.io/v1
                kind: PeerAuthentication
                metadata: {name: mesh, namespace: istio-system}
                spec:
                  mtls: {mode: STRICT}
                ---
                apiVersion: security.istio.io/v1
                kind: PeerAuthentication
                metadata: {name: ns, namespace: shop}
                spec:
                  mtls: {mode: PERMISSIVE}
                ---
                apiVersion: security.istio.io/v1
                kind: PeerAuthentication
                metadata: {name: cart, namespace: shop}
                spec:
                  selector: {matchLabels: {app: cart}}
                  mtls: {mode: UNSET}
                  portLevelMtls:
                    8443: {mode: STRICT}
                    9000: {mode: DISABLE}
                ---
                apiVersion: security.istio.io/v1
                kind: PeerAuthentication
                metadata: {name: other, namespace: shop}
                spec:
                  selector: {matchLabels: {app: other}}
                  mtls: {mode: DISABLE}
                """);
        Pipeline p = Pipeline.compile(1, r.policies(), SETTINGS, JWKS).pipeline();
        assertThat(p.mode(8443)).isEqualTo(Mode.STRICT);
        assertThat(p.mode(9000)).isEqualTo(Mode.DISABLE);
        assertThat(p.mode(8080)).isEqualTo(Mode.PERMISSIVE); // workload UNSET inherits the namespace's

        ParseResult meshOnly = parse("""
                apiVersion: security.istio.io/v1
                kind: PeerAuthentication
                metadata: {name: mesh, namespace: istio-system}
                spec:
                  mtls: {mode: STRICT}
                """);
        assertThat(Pipeline.compile(2, meshOnly.policies(), SETTINGS, JWKS).pipeline().mode(9000)).isEqualTo(Mode.STRICT);
    }

    @Test
    void theHolderSwapsOnlyNewerLoadedSets() {
        PipelineHolder holder = PipelineHolder.of(Pipeline.notLoaded(SETTINGS), SETTINGS, JWKS);
        ParseResult deny = parse("""
                apiVersion: security.istio.io/v1
                kind: AuthorizationPolicy
                metadata: {name: deny-admin, namespace: shop}
                spec:
                  action: DENY
                  rules: [{to: [{operation: {paths: ["/admin"]}}]}]
                """);
        assertThat(holder.apply(PolicySet.notLoaded())).isFalse();
        assertThat(holder.current().isLoaded()).isFalse();

        assertThat(holder.apply(PolicySet.of(2, deny.parsedPolicies()))).isTrue();
        Pipeline v2 = holder.current();
        assertThat(v2.authorize(get("/admin")).policy()).isEqualTo("shop/deny-admin");
        assertThat(v2.authorize(get("/")).allowed()).isTrue();

        assertThat(holder.apply(PolicySet.of(1, List.of()))).isFalse();
        assertThat(holder.current()).isSameAs(v2);
    }

    @Test
    void pathNormalizationRefusesWhatMustBe400() {
        Pipeline p = Pipeline.compile(1, List.of(), SETTINGS, JWKS).pipeline();
        assertThat(p.normalizePath("/a/../b?x=1")).isEqualTo("/b");
        assertThat(p.normalizePath("/a%00")).isNull();
        assertThat(p.normalizePath("*")).isNull();
    }
}
