package dev.keel.policy.lint;

import dev.keel.policy.Condition;
import dev.keel.policy.Operation;
import dev.keel.policy.Source;
import java.util.List;
import java.util.function.Function;

/** The value fields of Source and Operation as pairs ({@code x}, {@code notX}), with how they match. */
final class Fields {

    /** A field and its negation. */
    record Pair<T>(String name, String notName, Function<T, List<String>> values, Function<T, List<String>> notValues,
                   Match match, boolean httpOnly) {
    }

    static final List<Pair<Source>> SOURCE = List.of(
            new Pair<>("principals", "notPrincipals", Source::principals, Source::notPrincipals, Match.PATTERN, false),
            new Pair<>("requestPrincipals", "notRequestPrincipals", Source::requestPrincipals, Source::notRequestPrincipals,
                    Match.PATTERN, true),
            new Pair<>("namespaces", "notNamespaces", Source::namespaces, Source::notNamespaces, Match.PATTERN, false),
            new Pair<>("serviceAccounts", "notServiceAccounts", Source::serviceAccounts, Source::notServiceAccounts,
                    Match.OPAQUE, false),
            new Pair<>("ipBlocks", "notIpBlocks", Source::ipBlocks, Source::notIpBlocks, Match.OPAQUE, false),
            new Pair<>("remoteIpBlocks", "notRemoteIpBlocks", Source::remoteIpBlocks, Source::notRemoteIpBlocks,
                    Match.OPAQUE, false));

    static final List<Pair<Operation>> OPERATION = List.of(
            new Pair<>("hosts", "notHosts", Operation::hosts, Operation::notHosts, Match.PATTERN_IGNORE_CASE, true),
            new Pair<>("ports", "notPorts", Operation::ports, Operation::notPorts, Match.PORT, false),
            new Pair<>("methods", "notMethods", Operation::methods, Operation::notMethods, Match.PATTERN, true),
            new Pair<>("paths", "notPaths", Operation::paths, Operation::notPaths, Match.PATH, true));

    private Fields() {
    }

    /** Istio's conditions page: these keys exist for HTTP requests only. */
    static boolean isHttpOnly(Condition c) {
        return c.key().startsWith("request.headers") || c.key().startsWith("request.auth.");
    }

    /** How a condition's values match; exact where Istio's matching for the key is not a plain string match. */
    static Match match(Condition c) {
        String key = c.key();
        if (key.startsWith("request.headers[") || key.equals("source.principal") || key.equals("source.namespace")
                || key.equals("request.auth.principal") || key.equals("request.auth.audiences")
                || key.equals("request.auth.presenter") || key.equals("connection.sni")) {
            return Match.PATTERN;
        }
        if (key.equals("destination.port")) {
            return Match.PORT;
        }
        return Match.OPAQUE;
    }

    static boolean isEmpty(Source s) {
        return SOURCE.stream().allMatch(p -> p.values().apply(s).isEmpty() && p.notValues().apply(s).isEmpty());
    }
}
