package dev.keel.authz;

import dev.keel.policy.ApiVersion;
import dev.keel.policy.AuthorizationPolicy;
import dev.keel.policy.Operation;
import dev.keel.policy.PolicyMetadata;
import dev.keel.policy.Rule;
import dev.keel.policy.Source;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * An RBAC-with-domains policy set of any size, as Istio rules: rule i allows the principals holding role
 * {@code role<i % 10>} in tenant {@code t<i % tenants>} to {@code GET /api/t<tenant>/r<i>/{*}}. The same
 * shape as a Casbin RBAC-with-domains model with keyMatch2 ({@code /api/t1/r7/:id}).
 */
final class RbacPolicies {

    private RbacPolicies() {
    }

    static List<AuthorizationPolicy> of(int rules) {
        int tenants = Math.max(1, rules / 100);
        List<AuthorizationPolicy> out = new ArrayList<>();
        int perPolicy = 10;
        for (int p = 0; p * perPolicy < rules; p++) {
            List<Rule> rs = new ArrayList<>();
            for (int i = p * perPolicy; i < Math.min(rules, (p + 1) * perPolicy); i++) {
                int tenant = i % tenants;
                Source source = new Source(List.of(principal(tenant, i % 10, 0), principal(tenant, i % 10, 1)), List.of(),
                        List.of(), List.of(), List.of(), List.of(), List.of(), List.of(), List.of(), List.of(), List.of(),
                        List.of());
                Operation op = new Operation(List.of(), List.of(), List.of(), List.of(), List.of("GET"), List.of(),
                        List.of(path(tenant, i) + "/{*}"), List.of());
                rs.add(new Rule(List.of(source), List.of(op), List.of()));
            }
            out.add(new AuthorizationPolicy(ApiVersion.V1, PolicyMetadata.of("foo", String.format("rbac-%05d", p)),
                    Optional.empty(), Optional.empty(), List.of(), rs, AuthorizationPolicy.Action.ALLOW, Optional.empty()));
        }
        return out;
    }

    static String principal(int tenant, int role, int user) {
        return "cluster.local/ns/t" + tenant + "/sa/role" + role + "-user" + user;
    }

    static String path(int tenant, int rule) {
        return "/api/t" + tenant + "/r" + rule;
    }
}
