package dev.keel.proxy.pipeline;

import dev.keel.authz.AuthzRequest;
import dev.keel.authz.Decision;
import dev.keel.authz.DecisionProgram;
import dev.keel.jwt.JwksCache;
import dev.keel.jwt.JwtAuthenticator;
import dev.keel.jwt.JwtRequest;
import dev.keel.jwt.JwtResult;
import dev.keel.policy.AuthorizationPolicy;
import dev.keel.policy.IstioPolicy;
import dev.keel.policy.PeerAuthentication;
import dev.keel.policy.PeerAuthentication.MutualTLS.Mode;
import dev.keel.policy.PolicyError;
import dev.keel.policy.PolicyValidator;
import dev.keel.policy.RequestAuthentication;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;

/**
 * The compiled filter pipeline of the inbound side, one value per policy version: path normalization
 * → JWT authentication → authorization, plus the PeerAuthentication mode of each port. The proxy's
 * HTTP and TCP adapters call the stages in that order and then route to the app. Built once per policy
 * change by {@link #compile} and swapped whole by {@link PipelineHolder}; immutable and thread-safe.
 */
public final class Pipeline {

    /** A compiled pipeline, or why the policies could not be compiled ({@code pipeline} then null). */
    public record Compiled(Pipeline pipeline, List<String> errors) {
        public Compiled {
            errors = List.copyOf(errors);
        }

        public boolean isOk() {
            return pipeline != null;
        }
    }

    private final long version;
    private final boolean loaded;
    private final PathStage path;
    private final JwtStage authn;
    private final AuthzStage authz;
    private final PeerAuthenticationStage peers;

    private Pipeline(long version, boolean loaded, PathStage path, JwtStage authn, AuthzStage authz,
            PeerAuthenticationStage peers) {
        this.version = version;
        this.loaded = loaded;
        this.path = path;
        this.authn = authn;
        this.authz = authz;
        this.peers = peers;
    }

    /**
     * The pipeline before any policy loaded: authorization denies everything (fail closed), no JWT rule,
     * the configured mTLS modes.
     */
    public static Pipeline notLoaded(PipelineSettings settings) {
        return new Pipeline(0, false, new PathStage(settings.authzConfig().pathNormalization()), new JwtStage(null),
                new AuthzStage(DecisionProgram.notLoaded(settings.workload(), settings.authzConfig())),
                new PeerAuthenticationStage(List.of(), settings));
    }

    /**
     * Compiles {@code policies} (of every kind; those that do not select the workload are ignored) as
     * version {@code version}. Never throws for bad policies: they are returned as errors.
     */
    public static Compiled compile(long version, List<? extends IstioPolicy> policies, PipelineSettings settings,
            JwksCache jwks) {
        Objects.requireNonNull(policies, "policies");
        Objects.requireNonNull(settings, "settings");
        Objects.requireNonNull(jwks, "jwks");
        List<String> errors = new ArrayList<>();
        List<AuthorizationPolicy> authzPolicies = new ArrayList<>();
        List<RequestAuthentication> requestAuthns = new ArrayList<>();
        List<PeerAuthentication> peerAuthns = new ArrayList<>();
        for (IstioPolicy p : policies) {
            for (PolicyError e : PolicyValidator.validate(p)) {
                errors.add(p.metadata().qualifiedName() + ": " + e.fieldPath() + ": " + e.message());
            }
            if (p instanceof AuthorizationPolicy ap) {
                authzPolicies.add(ap);
            } else if (p instanceof RequestAuthentication ra) {
                requestAuthns.add(ra);
            } else if (p instanceof PeerAuthentication pa) {
                peerAuthns.add(pa);
            }
        }
        if (!errors.isEmpty()) {
            return new Compiled(null, errors);
        }
        try {
            DecisionProgram program = DecisionProgram.compile(authzPolicies, settings.workload(), settings.authzConfig());
            JwtAuthenticator authenticator = null;
            if (!requestAuthns.isEmpty()) {
                authenticator = JwtAuthenticator.builder()
                        .policiesSelecting(requestAuthns, settings.workload().namespace(), settings.workload().labels(),
                                settings.authzConfig().rootNamespace())
                        .jwksCache(jwks)
                        .build();
            }
            return new Compiled(new Pipeline(version, true, new PathStage(settings.authzConfig().pathNormalization()),
                    new JwtStage(authenticator), new AuthzStage(program), new PeerAuthenticationStage(peerAuthns, settings)),
                    List.of());
        } catch (IllegalArgumentException | IllegalStateException e) {
            return new Compiled(null, List.of(String.valueOf(e.getMessage())));
        }
    }

    /** The policy version this pipeline was compiled from; 0 before any. */
    public long version() {
        return version;
    }

    /** False for {@link #notLoaded}. */
    public boolean isLoaded() {
        return loaded;
    }

    /** The mutual TLS mode for connections to app port {@code port}. */
    public Mode mode(int port) {
        return peers.mode(port);
    }

    /** Stage 1: the normalized path, or null: answer 400. */
    public String normalizePath(String rawPath) {
        return path.normalize(rawPath);
    }

    /** Stage 2: may complete on another thread; never completes exceptionally for a bad token. */
    public CompletableFuture<JwtResult> authenticate(JwtRequest request) {
        return authn.authenticate(request);
    }

    /** Stage 3, for HTTP requests and TCP connections alike. */
    public Decision authorize(AuthzRequest request) {
        return authz.decide(request);
    }

    @Override
    public String toString() {
        return "Pipeline[version " + version + (loaded ? ", " + authz.program() : ", not loaded") + "]";
    }
}
