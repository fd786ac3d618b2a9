package dev.keel.proxy.pipeline;

import dev.keel.jwt.HeaderMutations;
import dev.keel.jwt.JwtAuthenticator;
import dev.keel.jwt.JwtRequest;
import dev.keel.jwt.JwtResult;
import java.util.concurrent.CompletableFuture;

/**
 * Stage 2: RequestAuthentication over jwt-authn. Without a policy selecting the workload every request
 * is {@link JwtResult.Missing} at no cost. Thread-safe.
 */
final class JwtStage {

    private static final CompletableFuture<JwtResult> MISSING =
            CompletableFuture.completedFuture(new JwtResult.Missing(HeaderMutations.NONE));

    private final JwtAuthenticator authenticator;

    /** @param authenticator null when no RequestAuthentication selects the workload */
    JwtStage(JwtAuthenticator authenticator) {
        this.authenticator = authenticator;
    }

    /** May complete on another thread when a key set must be fetched. */
    CompletableFuture<JwtResult> authenticate(JwtRequest request) {
        return authenticator == null ? MISSING : authenticator.authenticate(request);
    }
}
