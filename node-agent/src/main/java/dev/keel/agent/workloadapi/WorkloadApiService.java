package dev.keel.agent.workloadapi;

import com.google.protobuf.ByteString;
import dev.keel.agent.AgentMetrics;
import dev.keel.agent.IdentitySnapshot;
import dev.keel.agent.JwtSvidToken;
import dev.keel.agent.RegistrationEntry;
import dev.keel.agent.WorkloadIdentities;
import dev.keel.agent.WorkloadIdentityException;
import dev.keel.agent.WorkloadProcess;
import dev.keel.agent.WorkloadSvid;
import dev.keel.identity.Bundle;
import dev.keel.identity.InvalidSpiffeIdException;
import dev.keel.identity.JwtSvid;
import dev.keel.identity.JwtSvidValidationException;
import dev.keel.identity.JwtSvidVerifier;
import dev.keel.identity.SpiffeId;
import dev.keel.proto.workload.JWTBundlesRequest;
import dev.keel.proto.workload.JWTBundlesResponse;
import dev.keel.proto.workload.JWTSVID;
import dev.keel.proto.workload.JWTSVIDRequest;
import dev.keel.proto.workload.JWTSVIDResponse;
import dev.keel.proto.workload.SpiffeWorkloadAPIGrpc;
import dev.keel.proto.workload.ValidateJWTSVIDRequest;
import dev.keel.proto.workload.ValidateJWTSVIDResponse;
import dev.keel.proto.workload.X509BundlesRequest;
import dev.keel.proto.workload.X509BundlesResponse;
import dev.keel.proto.workload.X509SVIDRequest;
import dev.keel.proto.workload.X509SVIDResponse;
import io.grpc.Status;
import io.grpc.StatusException;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The five RPCs of the SPIFFE Workload API, served from {@link WorkloadIdentities}. Every call is
 * attested first ({@link CallerAttestation}); X.509 and JWT bundle streams and the X.509-SVID stream
 * require the caller to be entitled to at least one registration entry, as SPIRE does.
 *
 * <p>Status codes (SPIFFE Workload API and Workload Endpoint specifications):
 * <ul>
 *   <li>InvalidArgument: missing security header ({@link CallerInterceptor}); FetchJWTSVID without
 *       audience or with a malformed {@code spiffe_id}; ValidateJWTSVID without audience or svid, or
 *       with a token that fails validation (the message says which rule).</li>
 *   <li>PermissionDenied: no peer credentials; no entry matches the caller ("no identity issued"), at
 *       the start of a call or later on a stream when its entries are deleted; FetchJWTSVID for a
 *       SPIFFE ID the caller is not entitled to; the CA refused to mint a JWT-SVID.</li>
 *   <li>Unavailable: an attestor failed; the CA could not be reached for a JWT-SVID; the server is
 *       shutting down (open streams end with it).</li>
 * </ul>
 *
 * <p>Threading: service methods run on the call executor and may block there only to attest; streams
 * then follow snapshots without holding a thread ({@link SnapshotStream}), and JWT-SVIDs complete
 * asynchronously.
 */
final class WorkloadApiService extends SpiffeWorkloadAPIGrpc.SpiffeWorkloadAPIImplBase {

    private static final Logger log = LoggerFactory.getLogger(WorkloadApiService.class);
    /** How often an open stream of a Kubernetes-mode caller renews its pod's admission (well under the idle timeout). */
    static final Duration POD_ADMISSION_RENEWAL = Duration.ofMinutes(5);

    static final String NO_IDENTITY = "no identity issued";
    static final String NO_LONGER_ENTITLED = NO_IDENTITY + ": the caller no longer matches any registration entry";
    /** As the CA's JWT-SVID minter: audiences are a few short strings. */
    static final int MAX_AUDIENCES = 16;
    static final int MAX_AUDIENCE_LENGTH = 512;

    private final WorkloadIdentities identities;
    private final CallerAttestation attestation;
    private final AgentMetrics metrics;
    private final Streams streams;
    private final JwtSvidVerifier jwtVerifier;
    /** The JWKS of the last bundle seen: every JWT bundle stream renders the same bundle after an update. */
    private volatile JwksCache jwksCache;

    WorkloadApiService(WorkloadIdentities identities, CallerAttestation attestation, AgentMetrics metrics,
            Streams streams) {
        this.identities = identities;
        this.attestation = attestation;
        this.metrics = metrics;
        this.streams = streams;
        this.jwtVerifier = JwtSvidVerifier.create(
                trustDomain -> identities.current().bundle().filter(b -> b.trustDomain().equals(trustDomain)),
                streams.clock());
    }

    @Override
    public void fetchX509SVID(X509SVIDRequest request, StreamObserver<X509SVIDResponse> responseObserver) {
        ServerCallStreamObserver<X509SVIDResponse> observer = (ServerCallStreamObserver<X509SVIDResponse>) responseObserver;
        Caller caller = entitledCaller(observer);
        if (caller == null) {
            return;
        }
        new SnapshotStream<>(streams, observer, (snapshot, now) -> renderX509Svids(caller, snapshot, now),
                response -> metrics.served("x509_svid", response.getSvidsCount())).start(identities);
    }

    @Override
    public void fetchX509Bundles(X509BundlesRequest request, StreamObserver<X509BundlesResponse> responseObserver) {
        ServerCallStreamObserver<X509BundlesResponse> observer =
                (ServerCallStreamObserver<X509BundlesResponse>) responseObserver;
        Caller caller = entitledCaller(observer);
        if (caller == null) {
            return;
        }
        new SnapshotStream<>(streams, observer, (snapshot, now) -> renderBundle(caller, snapshot, Responses::x509Bundles),
                response -> metrics.served("x509_bundle", response.getBundlesCount())).start(identities);
    }

    @Override
    public void fetchJWTBundles(JWTBundlesRequest request, StreamObserver<JWTBundlesResponse> responseObserver) {
        ServerCallStreamObserver<JWTBundlesResponse> observer = (ServerCallStreamObserver<JWTBundlesResponse>) responseObserver;
        Caller caller = entitledCaller(observer);
        if (caller == null) {
            return;
        }
        new SnapshotStream<>(streams, observer, (snapshot, now) -> renderBundle(caller, snapshot,
                bundle -> JWTBundlesResponse.newBuilder()
                        .putBundles(bundle.trustDomain().spiffeId().toString(), jwks(bundle)).build()),
                response -> metrics.served("jwt_bundle", response.getBundlesCount())).start(identities);
    }

    @Override
    public void fetchJWTSVID(JWTSVIDRequest request, StreamObserver<JWTSVIDResponse> responseObserver) {
        ServerCallStreamObserver<JWTSVIDResponse> observer = (ServerCallStreamObserver<JWTSVIDResponse>) responseObserver;
        observer.setOnCancelHandler(() -> { });
        List<String> audience;
        SpiffeId requested = null;
        try {
            audience = audience(request.getAudienceList());
            if (!request.getSpiffeId().isEmpty()) {
                requested = SpiffeId.parse(request.getSpiffeId());
            }
        } catch (StatusException e) {
            observer.onError(e);
            return;
        } catch (InvalidSpiffeIdException e) {
            observer.onError(Status.INVALID_ARGUMENT.withDescription("spiffe_id: " + e.getMessage()).asException());
            return;
        }
        Caller caller = entitledCaller(observer);
        if (caller == null) {
            return;
        }
        List<RegistrationEntry> chosen = new ArrayList<>();
        Set<SpiffeId> ids = new HashSet<>();
        for (RegistrationEntry entry : caller.entitled(identities.current())) {
            // One token per SPIFFE ID: two entries granting the same ID would mint the same identity twice.
            if ((requested == null || entry.spiffeId().equals(requested)) && ids.add(entry.spiffeId())) {
                chosen.add(entry);
            }
        }
        if (chosen.isEmpty()) {
            log.debug("JWT-SVID for {} refused to {}: not entitled", requested, caller);
            observer.onError(Status.PERMISSION_DENIED.withDescription(
                    requested == null ? NO_IDENTITY : NO_IDENTITY + " for " + requested).asException());
            return;
        }
        List<CompletableFuture<JwtSvidToken>> futures = new ArrayList<>();
        try {
            for (RegistrationEntry entry : chosen) {
                futures.add(identities.fetchJwtSvid(entry, audience));
            }
        } catch (RuntimeException e) {
            futures.add(CompletableFuture.failedFuture(e));
        }
        CompletableFuture.allOf(futures.toArray(new CompletableFuture<?>[0]))
                .whenCompleteAsync((ignored, error) -> completeJwtSvids(observer, chosen, futures), streams.executor());
    }

    @Override
    public void validateJWTSVID(ValidateJWTSVIDRequest request, StreamObserver<ValidateJWTSVIDResponse> responseObserver) {
        if (request.getAudience().isEmpty()) {
            responseObserver.onError(Status.INVALID_ARGUMENT.withDescription("audience must be specified").asException());
            return;
        }
        if (request.getSvid().isEmpty()) {
            responseObserver.onError(Status.INVALID_ARGUMENT.withDescription("svid must be specified").asException());
            return;
        }
        // Validation needs no identity (the bundle is public), but an unattestable caller is still refused.
        if (attestedCaller(responseObserver) == null) {
            return;
        }
        JwtSvid svid;
        try {
            svid = jwtVerifier.verify(request.getSvid(), request.getAudience());
        } catch (JwtSvidValidationException e) {
            responseObserver.onError(Status.INVALID_ARGUMENT.withDescription(e.getMessage()).asException());
            return;
        }
        responseObserver.onNext(ValidateJWTSVIDResponse.newBuilder()
                .setSpiffeId(svid.spiffeId().toString())
                .setClaims(Responses.struct(svid.claims()))
                .build());
        responseObserver.onCompleted();
    }

    private SnapshotStream.Step<X509SVIDResponse> renderX509Svids(Caller caller, IdentitySnapshot snapshot, Instant now) {
        List<RegistrationEntry> entitled = caller.entitled(snapshot);
        if (entitled.isEmpty()) {
            log.info("Ending X.509-SVID stream of {}: {}", caller, NO_LONGER_ENTITLED);
            return SnapshotStream.Step.end(Status.PERMISSION_DENIED.withDescription(NO_LONGER_ENTITLED));
        }
        Instant recheckAt = nextValidityChange(snapshot, entitled, now);
        if (caller.pod().isPresent()) {
            // The agent forgets a pod's identity after a while without requests; an open stream is a
            // request that lasts, so it renews the admission (and comes back to do so again).
            try {
                identities.admitPod(caller.pod().get());
            } catch (RuntimeException e) {
                log.warn("Cannot renew the admission of {}'s pod: {}", caller, e.toString());
            }
            Instant renewal = now.plus(POD_ADMISSION_RENEWAL);
            recheckAt = recheckAt == null || renewal.isBefore(recheckAt) ? renewal : recheckAt;
        }
        List<WorkloadSvid> svids = snapshot.validSvidsFor(entitled, now);
        if (svids.isEmpty() || snapshot.bundle().isEmpty()) {
            // A cold agent still issuing, or every SVID expired while the CA is away: wait, send nothing stale.
            return SnapshotStream.Step.hold(recheckAt);
        }
        return SnapshotStream.Step.send(Responses.x509Svids(svids, snapshot.bundle().get()), recheckAt);
    }

    private static <R> SnapshotStream.Step<R> renderBundle(Caller caller, IdentitySnapshot snapshot,
            Function<Bundle, R> render) {
        if (caller.entitled(snapshot).isEmpty()) {
            log.info("Ending bundle stream of {}: {}", caller, NO_LONGER_ENTITLED);
            return SnapshotStream.Step.end(Status.PERMISSION_DENIED.withDescription(NO_LONGER_ENTITLED));
        }
        Optional<Bundle> bundle = snapshot.bundle();
        return bundle.isEmpty() ? SnapshotStream.Step.hold(null) : SnapshotStream.Step.send(render.apply(bundle.get()), null);
    }

    /** The next instant after {@code now} at which an entitled SVID becomes valid or expires, or null. */
    private static Instant nextValidityChange(IdentitySnapshot snapshot, List<RegistrationEntry> entitled, Instant now) {
        Instant next = null;
        for (RegistrationEntry entry : entitled) {
            WorkloadSvid svid = snapshot.svidsByEntryId().get(entry.id());
            if (svid == null) {
                continue;
            }
            Instant change = now.isBefore(svid.notBefore()) ? svid.notBefore()
                    : now.isBefore(svid.notAfter()) ? svid.notAfter() : null;
            if (change != null && (next == null || change.isBefore(next))) {
                next = change;
            }
        }
        return next;
    }

    private void completeJwtSvids(ServerCallStreamObserver<JWTSVIDResponse> observer, List<RegistrationEntry> chosen,
            List<CompletableFuture<JwtSvidToken>> futures) {
        if (observer.isCancelled()) {
            return;
        }
        Instant now = streams.clock().instant();
        JWTSVIDResponse.Builder response = JWTSVIDResponse.newBuilder();
        Set<String> hints = new HashSet<>();
        for (int i = 0; i < futures.size(); i++) {
            JwtSvidToken token;
            try {
                token = futures.get(i).get();
            } catch (ExecutionException | CompletionException e) {
                observer.onError(mintFailure(chosen.get(Math.min(i, chosen.size() - 1)), e.getCause()));
                return;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                observer.onError(Status.UNAVAILABLE.withDescription("interrupted").asException());
                return;
            }
            if (!token.expiresAt().isAfter(now)) {
                log.warn("Refusing to serve an expired JWT-SVID for {} ({})", token.spiffeId(), token.expiresAt());
                observer.onError(Status.UNAVAILABLE.withDescription("the JWT-SVID for " + token.spiffeId()
                        + " expired before it could be served; retry").asException());
                return;
            }
            if (!token.hint().isEmpty() && !hints.add(token.hint())) {
                continue;
            }
            response.addSvids(JWTSVID.newBuilder().setSpiffeId(token.spiffeId().toString()).setSvid(token.token())
                    .setHint(token.hint()));
        }
        try {
            observer.onNext(response.build());
            observer.onCompleted();
            metrics.served("jwt_svid", response.getSvidsCount());
        } catch (RuntimeException e) {
            log.debug("JWT-SVID call closed before the response: {}", e.toString());
        }
    }

    private static StatusException mintFailure(RegistrationEntry entry, Throwable cause) {
        Throwable e = cause instanceof CompletionException && cause.getCause() != null ? cause.getCause() : cause;
        String what = "could not get a JWT-SVID for " + entry.spiffeId() + ": " + e.getMessage();
        if (e instanceof WorkloadIdentityException && !((WorkloadIdentityException) e).isTransient()) {
            log.warn("JWT-SVID for entry {} refused: {}", entry.id(), e.getMessage());
            return Status.PERMISSION_DENIED.withDescription(what).asException();
        }
        log.warn("JWT-SVID for entry {} unavailable: {}", entry.id(), e.toString());
        return Status.UNAVAILABLE.withDescription(what).asException();
    }

    private static List<String> audience(List<String> requested) throws StatusException {
        if (requested.isEmpty()) {
            throw Status.INVALID_ARGUMENT.withDescription("audience must be specified").asException();
        }
        Set<String> unique = new LinkedHashSet<>();
        for (String value : requested) {
            if (value.isEmpty() || value.length() > MAX_AUDIENCE_LENGTH) {
                throw Status.INVALID_ARGUMENT.withDescription("audience: a value is empty or longer than "
                        + MAX_AUDIENCE_LENGTH + " characters").asException();
            }
            unique.add(value);
        }
        if (unique.size() > MAX_AUDIENCES) {
            throw Status.INVALID_ARGUMENT.withDescription("audience: " + unique.size() + " values (expected: <= "
                    + MAX_AUDIENCES + ")").asException();
        }
        return List.copyOf(unique);
    }

    /** The attested caller, or null after failing the call (PermissionDenied when it matches no entry). */
    private Caller entitledCaller(StreamObserver<?> observer) {
        Caller caller = attestedCaller(observer);
        if (caller != null && caller.entitled(identities.current()).isEmpty()) {
            log.debug("Workload API call from {} refused: {}", caller, NO_IDENTITY);
            observer.onError(Status.PERMISSION_DENIED.withDescription(NO_IDENTITY).asException());
            return null;
        }
        return caller;
    }

    /** The attested caller, or null after failing the call. */
    private Caller attestedCaller(StreamObserver<?> observer) {
        WorkloadProcess process = CallerInterceptor.PROCESS.get();
        if (process == null) {
            observer.onError(Status.PERMISSION_DENIED.withDescription(CallerInterceptor.NO_PEER_CREDENTIALS).asException());
            return null;
        }
        try {
            return attestation.attest(process);
        } catch (StatusException e) {
            observer.onError(e);
            return null;
        }
    }

    private ByteString jwks(Bundle bundle) {
        JwksCache cached = jwksCache;
        if (cached == null || cached.bundle != bundle) {
            cached = new JwksCache(bundle, Responses.jwks(bundle));
            jwksCache = cached;
        }
        return cached.jwks;
    }

    private record JwksCache(Bundle bundle, ByteString jwks) {
    }
}
