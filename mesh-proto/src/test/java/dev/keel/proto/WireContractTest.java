package dev.keel.proto;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import com.google.protobuf.Descriptors.Descriptor;
import com.google.protobuf.Descriptors.FieldDescriptor;
import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import dev.keel.proto.ca.v1.AttestNodeRequest;
import dev.keel.proto.ca.v1.FetchBundleResponse;
import dev.keel.proto.ca.v1.KeelCertificateAuthorityGrpc;
import dev.keel.proto.ca.v1.MintJWTSVIDRequest;
import dev.keel.proto.ca.v1.SignWorkloadSVIDRequest;
import dev.keel.proto.istio.v1.auth.IstioCertificateRequest;
import dev.keel.proto.istio.v1.auth.IstioCertificateResponse;
import dev.keel.proto.istio.v1.auth.IstioCertificateServiceGrpc;
import dev.keel.proto.workload.JWTSVID;
import dev.keel.proto.workload.JWTSVIDRequest;
import dev.keel.proto.workload.SpiffeWorkloadAPIGrpc;
import dev.keel.proto.workload.ValidateJWTSVIDResponse;
import dev.keel.proto.workload.X509BundlesResponse;
import dev.keel.proto.workload.X509SVID;
import dev.keel.proto.workload.X509SVIDResponse;
import io.grpc.MethodDescriptor.MethodType;
import org.junit.jupiter.api.Test;

/** Pins the wire contract: method paths, streaming kinds and field numbers must never drift. */
class WireContractTest {

  @Test
  void istioMethodPath() {
    assertThat(IstioCertificateServiceGrpc.SERVICE_NAME).isEqualTo("istio.v1.auth.IstioCertificateService");
    var m = IstioCertificateServiceGrpc.getCreateCertificateMethod();
    assertThat(m.getFullMethodName()).isEqualTo("istio.v1.auth.IstioCertificateService/CreateCertificate");
    assertThat(m.getType()).isEqualTo(MethodType.UNARY);
  }

  @Test
  void workloadApiMethodPathsHaveNoPackage() {
    assertThat(SpiffeWorkloadAPIGrpc.SERVICE_NAME).isEqualTo("SpiffeWorkloadAPI");
    assertThat(SpiffeWorkloadAPIGrpc.getFetchX509SVIDMethod().getFullMethodName())
        .isEqualTo("SpiffeWorkloadAPI/FetchX509SVID");
    assertThat(SpiffeWorkloadAPIGrpc.getFetchX509SVIDMethod().getType()).isEqualTo(MethodType.SERVER_STREAMING);
    assertThat(SpiffeWorkloadAPIGrpc.getFetchX509BundlesMethod().getFullMethodName())
        .isEqualTo("SpiffeWorkloadAPI/FetchX509Bundles");
    assertThat(SpiffeWorkloadAPIGrpc.getFetchX509BundlesMethod().getType()).isEqualTo(MethodType.SERVER_STREAMING);
    assertThat(SpiffeWorkloadAPIGrpc.getFetchJWTSVIDMethod().getFullMethodName())
        .isEqualTo("SpiffeWorkloadAPI/FetchJWTSVID");
    assertThat(SpiffeWorkloadAPIGrpc.getFetchJWTSVIDMethod().getType()).isEqualTo(MethodType.UNARY);
    assertThat(SpiffeWorkloadAPIGrpc.getFetchJWTBundlesMethod().getFullMethodName())
        .isEqualTo("SpiffeWorkloadAPI/FetchJWTBundles");
    assertThat(SpiffeWorkloadAPIGrpc.getFetchJWTBundlesMethod().getType()).isEqualTo(MethodType.SERVER_STREAMING);
    assertThat(SpiffeWorkloadAPIGrpc.getValidateJWTSVIDMethod().getFullMethodName())
        .isEqualTo("SpiffeWorkloadAPI/ValidateJWTSVID");
    assertThat(SpiffeWorkloadAPIGrpc.getValidateJWTSVIDMethod().getType()).isEqualTo(MethodType.UNARY);
  }

  @Test
  void keelCaMethodPaths() {
    assertThat(KeelCertificateAuthorityGrpc.getAttestNodeMethod().getFullMethodName())
        .isEqualTo("keel.ca.v1.KeelCertificateAuthority/AttestNode");
    assertThat(KeelCertificateAuthorityGrpc.getMintJWTSVIDMethod().getFullMethodName())
        .isEqualTo("keel.ca.v1.KeelCertificateAuthority/MintJWTSVID");
    assertThat(KeelCertificateAuthorityGrpc.getFetchBundleMethod().getFullMethodName())
        .isEqualTo("keel.ca.v1.KeelCertificateAuthority/FetchBundle");
    assertThat(KeelCertificateAuthorityGrpc.getSignWorkloadSVIDMethod().getFullMethodName())
        .isEqualTo("keel.ca.v1.KeelCertificateAuthority/SignWorkloadSVID");
    assertThat(KeelCertificateAuthorityGrpc.getServiceDescriptor().getMethods())
        .allSatisfy(m -> assertThat(m.getType()).isEqualTo(MethodType.UNARY));
  }

  @Test
  void istioFieldNumbers() {
    Descriptor d = IstioCertificateRequest.getDescriptor();
    assertField(d, "csr", 1, FieldDescriptor.Type.STRING);
    assertField(d, "validity_duration", 3, FieldDescriptor.Type.INT64);
    assertField(d, "metadata", 4, FieldDescriptor.Type.MESSAGE);
    assertThat(d.findFieldByNumber(2)).isNull();
    assertThat(d.findFieldByName("metadata").getMessageType().getFullName()).isEqualTo("google.protobuf.Struct");
    assertField(IstioCertificateResponse.getDescriptor(), "cert_chain", 1, FieldDescriptor.Type.STRING);
  }

  @Test
  void workloadFieldNumbers() {
    Descriptor svid = X509SVID.getDescriptor();
    assertThat(svid.getFullName()).isEqualTo("X509SVID");
    assertField(svid, "spiffe_id", 1, FieldDescriptor.Type.STRING);
    assertField(svid, "x509_svid", 2, FieldDescriptor.Type.BYTES);
    assertField(svid, "x509_svid_key", 3, FieldDescriptor.Type.BYTES);
    assertField(svid, "bundle", 4, FieldDescriptor.Type.BYTES);
    assertField(svid, "hint", 5, FieldDescriptor.Type.STRING);

    Descriptor resp = X509SVIDResponse.getDescriptor();
    assertField(resp, "svids", 1, FieldDescriptor.Type.MESSAGE);
    assertField(resp, "crl", 2, FieldDescriptor.Type.BYTES);
    assertField(resp, "federated_bundles", 3, FieldDescriptor.Type.MESSAGE);
    assertThat(resp.findFieldByName("federated_bundles").isMapField()).isTrue();

    assertField(X509BundlesResponse.getDescriptor(), "crl", 1, FieldDescriptor.Type.BYTES);
    assertField(X509BundlesResponse.getDescriptor(), "bundles", 2, FieldDescriptor.Type.MESSAGE);
    assertField(JWTSVIDRequest.getDescriptor(), "audience", 1, FieldDescriptor.Type.STRING);
    assertField(JWTSVIDRequest.getDescriptor(), "spiffe_id", 2, FieldDescriptor.Type.STRING);
    assertField(JWTSVID.getDescriptor(), "hint", 3, FieldDescriptor.Type.STRING);
    assertField(ValidateJWTSVIDResponse.getDescriptor(), "claims", 2, FieldDescriptor.Type.MESSAGE);
  }

  @Test
  void keelCaFieldNumbers() {
    assertField(AttestNodeRequest.getDescriptor(), "join_token", 1, FieldDescriptor.Type.STRING);
    assertField(AttestNodeRequest.getDescriptor(), "validity_seconds", 3, FieldDescriptor.Type.INT64);
    assertField(MintJWTSVIDRequest.getDescriptor(), "ttl_seconds", 3, FieldDescriptor.Type.INT64);
    assertField(FetchBundleResponse.getDescriptor(), "sequence", 2, FieldDescriptor.Type.INT64);
    assertField(SignWorkloadSVIDRequest.getDescriptor(), "entry_id", 4, FieldDescriptor.Type.STRING);
  }

  @Test
  void roundTrips() throws Exception {
    var req = IstioCertificateRequest.newBuilder()
        .setCsr("-----BEGIN CERTIFICATE REQUEST-----\n...")
        .setValidityDuration(3600)
        .setMetadata(Struct.newBuilder()
            .putFields("ClusterID", Value.newBuilder().setStringValue("Kubernetes").build()))
        .build();
    assertThat(IstioCertificateRequest.parseFrom(req.toByteArray())).isEqualTo(req);

    var x509 = X509SVIDResponse.newBuilder()
        .addSvids(X509SVID.newBuilder()
            .setSpiffeId("spiffe://example.org/ns/default/sa/web")
            .setX509Svid(ByteString.copyFrom(new byte[] {0x30, 0x01}))
            .setX509SvidKey(ByteString.copyFrom(new byte[] {0x30, 0x02}))
            .setBundle(ByteString.copyFrom(new byte[] {0x30, 0x03}))
            .setHint("internal"))
        .addCrl(ByteString.copyFrom(new byte[] {0x30, 0x04}))
        .putFederatedBundles("spiffe://other.org", ByteString.copyFrom(new byte[] {0x30, 0x05}))
        .build();
    assertThat(X509SVIDResponse.parseFrom(x509.toByteString())).isEqualTo(x509);

    var attest = AttestNodeRequest.newBuilder()
        .setJoinToken("tok").setCsr("csr").setValiditySeconds(600).build();
    assertThat(AttestNodeRequest.parseFrom(attest.toByteArray())).isEqualTo(attest);
  }

  @Test
  void encodesExpectedWireBytes() {
    // field 3 (validity_duration), varint wire type => tag 0x18; value 1.
    byte[] bytes = IstioCertificateRequest.newBuilder().setValidityDuration(1).build().toByteArray();
    assertThat(bytes).containsExactly(0x18, 0x01);
    // X509SVID.hint is field 5, length-delimited => tag 0x2a.
    byte[] hint = X509SVID.newBuilder().setHint("a").build().toByteArray();
    assertThat(hint).containsExactly(0x2a, 0x01, 'a');
  }

  private static void assertField(Descriptor d, String name, int number, FieldDescriptor.Type type) {
    FieldDescriptor f = d.findFieldByName(name);
    assertThat(f).as("%s.%s", d.getFullName(), name).isNotNull();
    assertThat(f.getNumber()).as("%s.%s number", d.getFullName(), name).isEqualTo(number);
    assertThat(f.getType()).as("%s.%s type", d.getFullName(), name).isEqualTo(type);
  }
}
