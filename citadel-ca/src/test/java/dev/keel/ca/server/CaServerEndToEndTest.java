package dev.keel.ca.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.keel.ca.CaDirectory;
import dev.keel.ca.CitadelCa;
import dev.keel.ca.audit.AuditLogVerifier;
import dev.keel.ca.auth.KubernetesTokenReviewAuthenticator;
import dev.keel.ca.node.PodVerifier;
import dev.keel.identity.Bundle;
import dev.keel.identity.BundleJson;
import dev.keel.identity.Pem;
import dev.keel.identity.TrustDomain;
import dev.keel.proto.ca.v1.FetchBundleRequest;
import dev.keel.proto.ca.v1.KeelCertificateAuthorityGrpc;
import dev.keel.proto.ca.v1.MintJWTSVIDRequest;
import dev.keel.proto.ca.v1.MintJWTSVIDResponse;
import dev.keel.proto.istio.v1.auth.IstioCertificateRequest;
import dev.keel.proto.istio.v1.auth.IstioCertificateResponse;
import dev.keel.proto.istio.v1.auth.IstioCertificateServiceGrpc;
import dev.keel.testing.TestCsr;
import io.fabric8.kubernetes.api.model.authentication.TokenReview;
import io.fabric8.kubernetes.api.model.authentication.TokenReviewBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.MetadataUtils;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.jose4j.jwa.AlgorithmConstraints;
import org.jose4j.jwt.JwtClaims;
import org.jose4j.jwt.consumer.JwtConsumerBuilder;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The CA as a workload meets it: gRPC over TLS on loopback, a Kubernetes service-account token
 * checked by TokenReview (fabric8's mock API server: no cluster can run here), renewal over mTLS
 * with the SVID just issued, and the results checked by the real openssl and curl.
 */
class CaServerEndToEndTest {

    static final String X = "spiffe://cluster.local/ns/a/sa/x";
    static final String Y = "spiffe://cluster.local/ns/b/sa/y";
    static final String TOKEN_A_X = "token-of-a-x";

    @TempDir
    static Path dir;

    static KubernetesMockServer kubernetes;
    static KubernetesClient kubernetesClient;
    static TestCaServer fixture;
    static CitadelCa ca;
    static CaServer server;
    static X509Certificate root;

    @BeforeAll
    static void start() throws Exception {
        kubernetes = new KubernetesMockServer(false);
        kubernetes.init();
        kubernetes.expect().post().withPath("/apis/authentication.k8s.io/v1/tokenreviews")
                .andReply(201, request -> review(request.getBody().readUtf8())).always();
        kubernetesClient = kubernetes.createClient();
        fixture = TestCaServer.start(dir.resolve("ca"),
                List.of(KubernetesTokenReviewAuthenticator.builder(kubernetesClient, TrustDomain.CLUSTER_LOCAL).build()),
                PodVerifier.none());
        ca = fixture.ca;
        server = fixture.server;
        root = fixture.root;
    }

    /** The API server's answer: only TOKEN_A_X is a valid token, for service account a/x. */
    static TokenReview review(String body) {
        try {
            JsonNode request = new ObjectMapper().readTree(body);
            boolean valid = TOKEN_A_X.equals(request.at("/spec/token").asText());
            TokenReviewBuilder review = new TokenReviewBuilder().withNewStatus().withAuthenticated(valid)
                    .withAudiences("istio-ca").endStatus();
            if (valid) {
                review.editStatus().withNewUser().withUsername("system:serviceaccount:a:x").endUser().endStatus();
            } else {
                review.editStatus().withError("invalid bearer token").endStatus();
            }
            return review.build();
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    @AfterAll
    static void stop() {
        fixture.close();
        kubernetesClient.close();
        kubernetes.destroy();
    }

    static ManagedChannel channel(KeyPair clientKey, List<X509Certificate> clientChain) throws Exception {
        return fixture.channel(clientKey, clientChain);
    }

    static IstioCertificateServiceGrpc.IstioCertificateServiceBlockingStub withToken(ManagedChannel channel, String token) {
        Metadata headers = new Metadata();
        headers.put(Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER), "Bearer " + token);
        return IstioCertificateServiceGrpc.newBlockingStub(channel)
                .withInterceptors(MetadataUtils.newAttachHeadersInterceptor(headers))
                .withDeadlineAfter(10, TimeUnit.SECONDS);
    }

    static IstioCertificateRequest request(TestCsr csr) {
        return IstioCertificateRequest.newBuilder().setCsr(csr.pem()).setValidityDuration(3600).build();
    }

    @Test
    void serviceAccountTokenThenMtlsRenewalAndOpensslAcceptsTheChain() throws Exception {
        ManagedChannel tokenChannel = channel(null, null);
        try {
            TestCsr csr = TestCsr.builder().uriSan(X).build();
            IstioCertificateResponse response = withToken(tokenChannel, TOKEN_A_X).createCertificate(request(csr));
            List<String> pems = response.getCertChainList();
            assertThat(pems).hasSize(3); // leaf, intermediate, root last (Istio's order)
            List<X509Certificate> chain = new ArrayList<>();
            for (String pem : pems) {
                chain.add(Pem.decodeCertificate(pem));
            }
            assertThat(chain.get(2)).isEqualTo(root);

            Path chainFile = dir.resolve("chain.pem");
            Files.writeString(chainFile, String.join("", pems.subList(0, 2)));
            Path rootFile = dir.resolve("ca").resolve(CaDirectory.ROOT_CERT);
            Process verify = new ProcessBuilder("openssl", "verify", "-CAfile", rootFile.toString(), "-untrusted",
                    chainFile.toString(), chainFile.toString()).redirectErrorStream(true).start();
            String verified = new String(verify.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertThat(verify.waitFor()).as(verified).isZero();
            assertThat(verified).contains(chainFile + ": OK");

            Path leafFile = dir.resolve("leaf.pem");
            Files.writeString(leafFile, pems.get(0));
            Process x509 = new ProcessBuilder("openssl", "x509", "-in", leafFile.toString(), "-noout", "-ext",
                    "subjectAltName").redirectErrorStream(true).start();
            String sans = new String(x509.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertThat(x509.waitFor()).isZero();
            assertThat(sans).contains("URI:" + X);
            assertThat(sans.split("URI:", -1)).hasSize(2);
            assertThat(sans).doesNotContain("DNS:");

            // Renewal over mTLS with the SVID just issued: same identity only.
            ManagedChannel mtls = channel(csr.keyPair(), chain.subList(0, 2));
            try {
                var stub = IstioCertificateServiceGrpc.newBlockingStub(mtls).withDeadlineAfter(10, TimeUnit.SECONDS);
                IstioCertificateResponse renewed = stub.createCertificate(request(TestCsr.builder().uriSan(X).build()));
                assertThat(Pem.decodeCertificate(renewed.getCertChain(0)).getSubjectAlternativeNames().iterator().next()
                        .get(1)).isEqualTo(X);
                assertThatThrownBy(() -> stub.createCertificate(request(TestCsr.builder().uriSan(Y).build())))
                        .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
                            assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.PERMISSION_DENIED);
                            assertThat(e.getStatus().getDescription()).contains("may not obtain " + Y);
                        });

                MintJWTSVIDResponse jwt = KeelCertificateAuthorityGrpc.newBlockingStub(mtls)
                        .mintJWTSVID(MintJWTSVIDRequest.newBuilder().addAudience("payments").build());
                Bundle bundle = BundleJson.parse(TrustDomain.CLUSTER_LOCAL, KeelCertificateAuthorityGrpc.newBlockingStub(mtls)
                        .fetchBundle(FetchBundleRequest.getDefaultInstance()).getBundle().toStringUtf8());
                JwtClaims claims = new JwtConsumerBuilder()
                        .setVerificationKey(bundle.jwtAuthorities().values().iterator().next())
                        .setExpectedAudience("payments")
                        .setRequireExpirationTime()
                        .setJwsAlgorithmConstraints(AlgorithmConstraints.ConstraintType.PERMIT, "ES256")
                        .build().processToClaims(jwt.getToken());
                assertThat(claims.getSubject()).isEqualTo(X);
            } finally {
                mtls.shutdownNow();
            }
        } finally {
            tokenChannel.shutdownNow();
        }
        assertThat(AuditLogVerifier.verify(ca.loaded().auditLog()).ok()).isTrue();
    }

    @Test
    void aTokenForOneServiceAccountCannotObtainAnother() throws Exception {
        ManagedChannel channel = channel(null, null);
        try {
            assertThatThrownBy(() -> withToken(channel, TOKEN_A_X).createCertificate(request(TestCsr.builder().uriSan(Y).build())))
                    .isInstanceOfSatisfying(StatusRuntimeException.class,
                            e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.PERMISSION_DENIED));
            assertThatThrownBy(() -> withToken(channel, "forged").createCertificate(request(TestCsr.builder().uriSan(X).build())))
                    .isInstanceOfSatisfying(StatusRuntimeException.class,
                            e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAUTHENTICATED));
            assertThatThrownBy(() -> IstioCertificateServiceGrpc.newBlockingStub(channel)
                    .createCertificate(request(TestCsr.builder().uriSan(X).build())))
                    .isInstanceOfSatisfying(StatusRuntimeException.class,
                            e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAUTHENTICATED));
        } finally {
            channel.shutdownNow();
        }
    }

    @Test
    void malformedAndOversizedRequestsAreRefusedWithClearStatuses() throws Exception {
        ManagedChannel channel = channel(null, null);
        try {
            var stub = withToken(channel, TOKEN_A_X);
            assertThatThrownBy(() -> stub.createCertificate(IstioCertificateRequest.newBuilder().setCsr("nonsense").build()))
                    .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
                        assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
                        assertThat(e.getStatus().getDescription()).contains("csr:");
                    });
            assertThatThrownBy(() -> stub.createCertificate(IstioCertificateRequest.newBuilder()
                    .setCsr("x".repeat(100_000)).build()))
                    .isInstanceOfSatisfying(StatusRuntimeException.class,
                            e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED));
            assertThatThrownBy(() -> stub.createCertificate(IstioCertificateRequest.newBuilder()
                    .setCsr(TestCsr.builder().uriSan(X).build().pem()).setValidityDuration(-5).build()))
                    .isInstanceOfSatisfying(StatusRuntimeException.class,
                            e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT));
        } finally {
            channel.shutdownNow();
        }
    }

    @Test
    void bundleEndpointServesSpiffeBundleJsonToCurl() throws Exception {
        Path rootFile = dir.resolve("ca").resolve(CaDirectory.ROOT_CERT);
        Process curl = new ProcessBuilder("curl", "-sS", "--fail", "--cacert", rootFile.toString(),
                "https://localhost:" + server.bundlePort() + "/").redirectErrorStream(true).start();
        String body = new String(curl.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(curl.waitFor()).as(body).isZero();
        Bundle bundle = BundleJson.parse(TrustDomain.CLUSTER_LOCAL, body);
        assertThat(bundle.x509Authorities()).containsExactly(root);
        assertThat(bundle.jwtAuthorities()).containsKey(ca.loaded().jwtKeyId());
        assertThat(bundle.sequenceNumber()).isPresent();

        Process notFound = new ProcessBuilder("curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "--cacert",
                rootFile.toString(), "https://localhost:" + server.bundlePort() + "/admin").start();
        assertThat(new String(notFound.getInputStream().readAllBytes(), StandardCharsets.UTF_8)).isEqualTo("404");
        notFound.waitFor();
    }

    @Test
    void tlsHandshakeOffersTls13AndH2AndTheCasOwnSvid() throws Exception {
        Path rootFile = dir.resolve("ca").resolve(CaDirectory.ROOT_CERT);
        Process sClient = new ProcessBuilder("openssl", "s_client", "-connect", "127.0.0.1:" + server.grpcPort(),
                "-CAfile", rootFile.toString(), "-alpn", "h2", "-verify_return_error")
                .redirectErrorStream(true).start();
        sClient.getOutputStream().close();
        String out = new String(sClient.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        sClient.waitFor(20, TimeUnit.SECONDS);
        assertThat(out).contains("TLSv1.3").contains("ALPN protocol: h2").contains("Verify return code: 0 (ok)");
        assertThat(server.servingCertificate().getSubjectAlternativeNames().iterator().next().get(1))
                .isEqualTo("spiffe://cluster.local/keel/ca");
    }
}
