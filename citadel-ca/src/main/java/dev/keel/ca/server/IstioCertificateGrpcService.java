package dev.keel.ca.server;

import dev.keel.ca.CaService;
import dev.keel.identity.Pem;
import dev.keel.proto.istio.v1.auth.IstioCertificateRequest;
import dev.keel.proto.istio.v1.auth.IstioCertificateResponse;
import dev.keel.proto.istio.v1.auth.IstioCertificateServiceGrpc;
import io.grpc.stub.StreamObserver;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.concurrent.Executor;

/**
 * Istio's {@code istio.v1.auth.IstioCertificateService}, wire-compatible: an Istio agent can get its
 * workload certificate from Keel. As in Istio, {@code validity_duration} is in seconds and the
 * returned {@code cert_chain} holds the leaf first and the root last, one PEM certificate each.
 */
final class IstioCertificateGrpcService extends IstioCertificateServiceGrpc.IstioCertificateServiceImplBase {

    private final CaService ca;
    private final Executor responses;

    IstioCertificateGrpcService(CaService ca, Executor responses) {
        this.ca = ca;
        this.responses = responses;
    }

    @Override
    public void createCertificate(IstioCertificateRequest request, StreamObserver<IstioCertificateResponse> observer) {
        ca.createCertificate(CallerCredentialsInterceptor.CREDENTIALS.get(), request.getCsr(),
                        Duration.ofSeconds(request.getValidityDuration()))
                // complete off the audit writer's thread, so encoding responses never delays the next commit
                .whenCompleteAsync((svid, failure) -> {
                    if (failure != null) {
                        observer.onError(GrpcStatuses.of(failure).asRuntimeException());
                        return;
                    }
                    try {
                        IstioCertificateResponse.Builder response = IstioCertificateResponse.newBuilder();
                        for (X509Certificate certificate : svid.chain()) {
                            response.addCertChain(Pem.encodeCertificate(certificate));
                        }
                        response.addCertChain(Pem.encodeCertificate(svid.roots().get(0)));
                        observer.onNext(response.build());
                        observer.onCompleted();
                    } catch (RuntimeException e) {
                        // never leave a call open: a cancelled call or an encoding failure still ends it
                        observer.onError(GrpcStatuses.of(e).asRuntimeException());
                    }
                }, responses);
    }
}
