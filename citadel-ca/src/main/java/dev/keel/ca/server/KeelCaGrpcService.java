package dev.keel.ca.server;

import com.google.protobuf.ByteString;
import dev.keel.ca.CaService;
import dev.keel.ca.IssuedX509Svid;
import dev.keel.ca.MintedJwtSvid;
import dev.keel.ca.NodeEntries;
import dev.keel.ca.NodeService;
import dev.keel.ca.TrustBundle;
import dev.keel.ca.WorkloadJwtRequest;
import dev.keel.ca.WorkloadSvidRequest;
import dev.keel.ca.node.PodReference;
import dev.keel.ca.node.RegistrationEntry;
import dev.keel.identity.Pem;
import dev.keel.identity.TrustDomain;
import dev.keel.proto.ca.v1.AttestNodeRequest;
import dev.keel.proto.ca.v1.AttestNodeResponse;
import dev.keel.proto.ca.v1.FetchBundleRequest;
import dev.keel.proto.ca.v1.FetchBundleResponse;
import dev.keel.proto.ca.v1.FetchEntriesRequest;
import dev.keel.proto.ca.v1.FetchEntriesResponse;
import dev.keel.proto.ca.v1.KeelCertificateAuthorityGrpc;
import dev.keel.proto.ca.v1.KubernetesPod;
import dev.keel.proto.ca.v1.MintJWTSVIDRequest;
import dev.keel.proto.ca.v1.MintJWTSVIDResponse;
import dev.keel.proto.ca.v1.SignWorkloadSVIDRequest;
import dev.keel.proto.ca.v1.SignWorkloadSVIDResponse;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import java.nio.charset.StandardCharsets;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.function.Function;

/**
 * Keel's own CA service, {@code keel.ca.v1.KeelCertificateAuthority}: the trust bundle, JWT-SVID
 * minting, and node attestation. A thin adapter: it turns messages into {@link CaService} and
 * {@link NodeService} calls and their results or {@link dev.keel.ca.CaException}s into messages and
 * statuses; every decision is made, and audited, there. Without a node service the node RPCs answer
 * UNIMPLEMENTED.
 */
final class KeelCaGrpcService extends KeelCertificateAuthorityGrpc.KeelCertificateAuthorityImplBase {

    private final CaService ca;
    private final NodeService nodes;
    private final TrustBundle bundle;
    private final Executor responses;

    /** @param nodes null when this server does not serve node attestation */
    KeelCaGrpcService(CaService ca, NodeService nodes, TrustBundle bundle, Executor responses) {
        this.ca = ca;
        this.nodes = nodes;
        this.bundle = bundle;
        this.responses = responses;
    }

    @Override
    public void fetchBundle(FetchBundleRequest request, StreamObserver<FetchBundleResponse> observer) {
        TrustDomain own = bundle.bundle().trustDomain();
        if (!request.getTrustDomain().isEmpty() && !request.getTrustDomain().equals(own.name())) {
            observer.onError(Status.NOT_FOUND.withDescription("trust domain " + request.getTrustDomain()
                    + " is not served here (this CA serves " + own + ")").asRuntimeException());
            return;
        }
        observer.onNext(FetchBundleResponse.newBuilder()
                .setBundle(ByteString.copyFrom(bundle.json(), StandardCharsets.UTF_8))
                .setSequence(bundle.bundle().sequenceNumber().orElse(0))
                .build());
        observer.onCompleted();
    }

    @Override
    public void mintJWTSVID(MintJWTSVIDRequest request, StreamObserver<MintJWTSVIDResponse> observer) {
        if (request.getEntryId().isEmpty() && !request.hasKubernetesPod()) {
            // The caller's own identity.
            respond(ca.mintJwtSvid(CallerCredentialsInterceptor.CREDENTIALS.get(), request.getSpiffeId(),
                    request.getAudienceList(), request.getTtlSeconds()), observer, KeelCaGrpcService::jwt);
            return;
        }
        if (unimplemented(observer)) {
            return;
        }
        WorkloadJwtRequest workload = new WorkloadJwtRequest(request.getSpiffeId(), request.getEntryId(),
                pod(request.hasKubernetesPod(), request.getKubernetesPod()), request.getAudienceList(),
                request.getTtlSeconds());
        respond(nodes.mintWorkloadJwtSvid(CallerCredentialsInterceptor.CREDENTIALS.get(), workload), observer,
                KeelCaGrpcService::jwt);
    }

    @Override
    public void attestNode(AttestNodeRequest request, StreamObserver<AttestNodeResponse> observer) {
        if (unimplemented(observer)) {
            return;
        }
        // No client certificate is needed or looked at: the join token is the credential.
        respond(nodes.attestNode(request.getJoinToken(), request.getCsr(), request.getValiditySeconds()), observer,
                svid -> AttestNodeResponse.newBuilder()
                        .addAllCertChain(chain(svid))
                        .setBundle(ByteString.copyFrom(bundle.json(), StandardCharsets.UTF_8))
                        .build());
    }

    @Override
    public void fetchEntries(FetchEntriesRequest request, StreamObserver<FetchEntriesResponse> observer) {
        if (unimplemented(observer)) {
            return;
        }
        respond(nodes.fetchEntries(CallerCredentialsInterceptor.CREDENTIALS.get(), request.getKnownRevision()), observer,
                KeelCaGrpcService::entries);
    }

    @Override
    public void signWorkloadSVID(SignWorkloadSVIDRequest request, StreamObserver<SignWorkloadSVIDResponse> observer) {
        if (unimplemented(observer)) {
            return;
        }
        WorkloadSvidRequest workload = new WorkloadSvidRequest(request.getSpiffeId(), request.getEntryId(),
                pod(request.hasKubernetesPod(), request.getKubernetesPod()), request.getCsr(),
                request.getValiditySeconds());
        respond(nodes.signWorkloadSvid(CallerCredentialsInterceptor.CREDENTIALS.get(), workload), observer,
                svid -> SignWorkloadSVIDResponse.newBuilder().addAllCertChain(chain(svid)).build());
    }

    private boolean unimplemented(StreamObserver<?> observer) {
        if (nodes != null) {
            return false;
        }
        observer.onError(Status.UNIMPLEMENTED.withDescription("this CA server does not serve node attestation")
                .asRuntimeException());
        return true;
    }

    /**
     * Completes the call from {@code result} off the audit writer's thread, so encoding responses
     * never delays the next commit; a failure, a cancelled call or an encoding error still ends it.
     */
    private <T, R> void respond(CompletableFuture<T> result, StreamObserver<R> observer, Function<T, R> encode) {
        result.whenCompleteAsync((value, failure) -> {
            if (failure != null) {
                observer.onError(GrpcStatuses.of(failure).asRuntimeException());
                return;
            }
            try {
                observer.onNext(encode.apply(value));
                observer.onCompleted();
            } catch (RuntimeException e) {
                observer.onError(GrpcStatuses.of(e).asRuntimeException());
            }
        }, responses);
    }

    private static PodReference pod(boolean present, KubernetesPod pod) {
        return present ? new PodReference(pod.getNamespace(), pod.getName(), pod.getUid()) : null;
    }

    private static MintJWTSVIDResponse jwt(MintedJwtSvid minted) {
        return MintJWTSVIDResponse.newBuilder()
                .setToken(minted.token())
                .setExpiresAt(minted.expiresAt().getEpochSecond())
                .build();
    }

    /** Leaf first, then the intermediates; the root travels in the bundle. */
    private static List<String> chain(IssuedX509Svid svid) {
        List<String> pems = new ArrayList<>(svid.chain().size());
        for (X509Certificate certificate : svid.chain()) {
            pems.add(Pem.encodeCertificate(certificate));
        }
        return pems;
    }

    private static FetchEntriesResponse entries(NodeEntries entries) {
        FetchEntriesResponse.Builder response = FetchEntriesResponse.newBuilder()
                .setRevision(entries.revision())
                .setNotModified(entries.notModified());
        for (RegistrationEntry entry : entries.entries()) {
            response.addEntries(dev.keel.proto.ca.v1.RegistrationEntry.newBuilder()
                    .setId(entry.id())
                    .setSpiffeId(entry.spiffeId().toString())
                    .setParentId(entry.parentId())
                    .addAllSelectors(entry.selectors())
                    .setX509SvidTtlSeconds(entry.x509SvidTtl().toSeconds())
                    .setJwtSvidTtlSeconds(entry.jwtSvidTtl().toSeconds())
                    .setHint(entry.hint()));
        }
        return response.build();
    }
}
