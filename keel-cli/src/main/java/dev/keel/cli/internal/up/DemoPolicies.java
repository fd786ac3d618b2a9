package dev.keel.cli.internal.up;

import dev.keel.policy.PolicyError;
import dev.keel.policy.source.PolicyFiles;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * The policy directory the demo's proxies watch: the user's policies (by default
 * {@code examples/policies}) copied in at start, plus {@code demo-idp.yaml}, the RequestAuthentication
 * of the demo token issuer with its freshly generated key inline. The copy is checked first: a policy
 * that does not parse stops {@code keel up} with the file, line and field, before anything starts.
 */
public final class DemoPolicies {

    public static final String GENERATED = "demo-idp.yaml";

    private DemoPolicies() {
    }

    /** Replaces the policy files in {@code target} with those of {@code source} and the generated one. */
    public static int assemble(Path source, Path target, String jwks) throws IOException {
        if (!Files.isDirectory(source)) {
            throw new IOException("no policy directory " + source + " (pass --policies DIR)");
        }
        PolicyFiles.Result checked = PolicyFiles.read(source, "default");
        if (!checked.isOk()) {
            throw new IOException("the policies in " + source + " do not load:\n  " + checked.errors().stream()
                    .map(PolicyError::toString).collect(Collectors.joining("\n  ")));
        }
        Files.createDirectories(target);
        try (Stream<Path> old = Files.list(target)) {
            for (Path file : old.filter(p -> PolicyFiles.isPolicyFileName(p.getFileName().toString())).toList()) {
                Files.delete(file);
            }
        }
        List<Path> files;
        try (Stream<Path> list = Files.list(source)) {
            files = list.filter(p -> PolicyFiles.isPolicyFileName(p.getFileName().toString())).sorted().toList();
        }
        for (Path file : files) {
            Files.copy(file, target.resolve(file.getFileName()), StandardCopyOption.REPLACE_EXISTING);
        }
        Path generated = target.resolve(GENERATED);
        Path tmp = target.resolve("." + GENERATED + ".tmp");
        Files.writeString(tmp, requestAuthentication(jwks));
        Files.move(tmp, generated, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        return files.size() + 1;
    }

    static String requestAuthentication(String jwks) {
        // The JWKS is JSON, which is valid YAML in single quotes once its own single quotes are doubled.
        return """
                # Written by keel up at start: the demo token issuer's key changes on every start.
                apiVersion: security.istio.io/v1
                kind: RequestAuthentication
                metadata:
                  name: frontend-jwt
                  namespace: shop
                spec:
                  selector:
                    matchLabels:
                      app: frontend
                  jwtRules:
                  - issuer: "%s"
                    audiences: ["%s"]
                    jwks: '%s'
                """.formatted(DemoTokenIssuer.ISSUER, DemoTokenIssuer.AUDIENCE, jwks.replace("'", "''"));
    }
}
