package dev.keel.ca.server;

import dev.keel.ca.CaService;
import dev.keel.ca.TrustBundle;
import dev.keel.identity.TrustDomain;
import dev.keel.proto.ca.v1.FetchBundleRequest;
import dev.keel.proto.ca.v1.FetchBundleResponse;
import dev.keel.proto.ca.v1.KeelCertificateAuthorityGrpc;
import dev.keel.proto.ca.v1.MintJWTSVIDRequest;
import dev.keel.proto.ca.v1.MintJWTSVIDResponse;
import com.google.protobuf.ByteString;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.Executor;

/**
 * Keel's own CA service, {@code keel.ca.v1.KeelCertificateAuthority}: the trust bundle and JWT-SVID
 * minting. Node attestation ({@code AttestNode}, {@code SignWorkloadSVID}) arrives with the node
 * agent and answers UNIMPLEMENTED until then.
 */
final class KeelCaGrpcService extends KeelCertificateAuthorityGrpc.KeelCertificateAuthorityImplBase {

    private final CaService ca;
    private final TrustBundle bundle;
    private final Executor responses;

    KeelCaGrpcService(CaService ca, TrustBundle bundle, Executor responses) {
        this.ca = ca;
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
        ca.mintJwtSvid(CallerCredentialsInterceptor.CREDENTIALS.get(), request.getSpiffeId(), request.getAudienceList(),
                        request.getTtlSeconds())
                .whenCompleteAsync((minted, failure) -> {
                    if (failure != null) {
                        observer.onError(GrpcStatuses.of(failure).asRuntimeException());
                        return;
                    }
                    try {
                        observer.onNext(MintJWTSVIDResponse.newBuilder()
                                .setToken(minted.token())
                                .setExpiresAt(minted.expiresAt().getEpochSecond())
                                .build());
                        observer.onCompleted();
                    } catch (RuntimeException e) {
                        observer.onError(GrpcStatuses.of(e).asRuntimeException());
                    }
                }, responses);
    }
}
