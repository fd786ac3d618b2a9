package dev.keel.authz;

import static dev.keel.authz.Policies.http;
import static dev.keel.authz.Policies.policy;
import static org.assertj.core.api.Assertions.assertThat;

import dev.keel.policy.ApiVersion;
import dev.keel.policy.AuthorizationPolicy;
import dev.keel.policy.ParsedPolicy;
import dev.keel.policy.PolicyMetadata;
import dev.keel.policy.PolicyParser;
import dev.keel.policy.Rule;
import dev.keel.policy.Source;
import dev.keel.policy.source.PolicySet;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/** ARCHITECTURE "Failure stance": a bad policy update must not replace a good one; nothing loaded fails closed. */
class AuthorizationEngineTest {

    private static PolicySet set(long version, String yaml) {
        List<ParsedPolicy> parsed = new ArrayList<>(PolicyParser.parse("p.yaml", yaml).parsedPolicies());
        return PolicySet.of(version, parsed);
    }

    @Test
    @DisplayName("Before the first policy set every request is denied (PolicySet.notLoaded: fail closed)")
    void notLoadedDenies() {
        AuthorizationEngine engine = new AuthorizationEngine(Policies.HTTPBIN, AuthzConfig.defaults());
        assertThat(engine.decide(http().build()).reason()).isEqualTo(Decision.Reason.NOT_LOADED);
        assertThat(engine.update(PolicySet.notLoaded()).accepted()).isFalse();
        assertThat(engine.decide(http().build()).allowed()).isFalse();
    }

    @Test
    @DisplayName("A good set is swapped in atomically; an invalid one is refused and the last good program stays")
    void lastGoodKept() {
        AuthorizationEngine engine = new AuthorizationEngine(Policies.HTTPBIN, AuthzConfig.defaults());
        AuthorizationEngine.UpdateResult ok = engine.update(set(1, policy("deny-admin", """
                action: DENY
                rules:
                - to:
                  - operation:
                      paths: ["/admin"]""")));
        assertThat(ok.accepted()).isTrue();
        assertThat(engine.version()).isEqualTo(1);
        assertThat(engine.decide(http().path("/admin").build()).allowed()).isFalse();
        DecisionProgram before = engine.program();

        // built in code so that it reaches the engine: an empty source, which Istio refuses
        Source empty = new Source(List.of(), List.of(), List.of(), List.of(), List.of(), List.of(), List.of(), List.of(),
                List.of(), List.of(), List.of(), List.of());
        AuthorizationPolicy bad = new AuthorizationPolicy(ApiVersion.V1, PolicyMetadata.of("foo", "bad"), Optional.empty(),
                Optional.empty(), List.of(), List.of(new Rule(List.of(empty), List.of(), List.of())),
                AuthorizationPolicy.Action.ALLOW, Optional.empty());
        AuthorizationEngine.UpdateResult refused = engine.update(2, List.of(bad));
        assertThat(refused.accepted()).isFalse();
        assertThat(refused.version()).isEqualTo(1);
        assertThat(refused.errors()).singleElement().asString().startsWith("<code>: foo/bad: spec.rules[0].from[0].source");
        assertThat(engine.program()).isSameAs(before);
        assertThat(engine.decide(http().path("/admin").build()).allowed()).as("old program still enforced").isFalse();

        AuthorizationEngine.UpdateResult stale = engine.update(set(1, policy("allow-all", "rules:\n- {}")));
        assertThat(stale.accepted()).isFalse();
        assertThat(stale.errors()).containsExactly("version 1 is not newer than the current version 1");
        assertThat(engine.program()).isSameAs(before);

        assertThat(engine.update(set(2, policy("allow-all", "rules:\n- {}"))).accepted()).isTrue();
        assertThat(engine.version()).isEqualTo(2);
        assertThat(engine.decide(http().path("/admin").build()).allowed()).isTrue();
    }

    @Test
    @DisplayName("Swaps are atomic: deciding threads see the old program or the new one, never a mix or an error")
    void atomicSwapUnderLoad() throws Exception {
        AuthorizationEngine engine = new AuthorizationEngine(Policies.HTTPBIN, AuthzConfig.defaults());
        String denyAll = policy("deny-all", "action: DENY\nrules:\n- {}");
        String allowAll = policy("allow-all", "rules:\n- {}");
        engine.update(set(1, denyAll));
        java.util.concurrent.atomic.AtomicBoolean stop = new java.util.concurrent.atomic.AtomicBoolean();
        java.util.concurrent.ConcurrentLinkedQueue<String> seen = new java.util.concurrent.ConcurrentLinkedQueue<>();
        Thread reader = new Thread(() -> {
            AuthzRequest request = http().build();
            DecisionReport report = new DecisionReport();
            while (!stop.get()) {
                Decision d = engine.decide(request, report);
                String who = d.policy();
                if (!(("foo/deny-all".equals(who) && !d.allowed()) || ("foo/allow-all".equals(who) && d.allowed()))) {
                    seen.add("inconsistent: " + d);
                }
            }
        });
        reader.start();
        for (int v = 2; v < 200; v++) {
            assertThat(engine.update(set(v, v % 2 == 0 ? allowAll : denyAll)).accepted()).isTrue();
        }
        stop.set(true);
        reader.join();
        assertThat(seen).isEmpty();
        assertThat(engine.version()).isEqualTo(199);
    }
}
