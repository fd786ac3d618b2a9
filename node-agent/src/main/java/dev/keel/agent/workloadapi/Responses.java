package dev.keel.agent.workloadapi;

import com.google.protobuf.ByteString;
import com.google.protobuf.ListValue;
import com.google.protobuf.NullValue;
import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import dev.keel.agent.WorkloadSvid;
import dev.keel.identity.Bundle;
import dev.keel.identity.BundleJson;
import dev.keel.proto.workload.X509BundlesResponse;
import dev.keel.proto.workload.X509SVID;
import dev.keel.proto.workload.X509SVIDResponse;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.security.PrivateKey;
import java.security.cert.CertificateEncodingException;
import java.security.cert.X509Certificate;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Builds Workload API messages from the agent's types, exactly as the specification lays them out. Stateless. */
final class Responses {

    private static final Logger log = LoggerFactory.getLogger(Responses.class);

    private Responses() {
    }

    /**
     * The X.509-SVIDs in the given order (the first is the default identity), each with its chain
     * (leaf first), its PKCS#8 key and the DER bundle of its trust domain (an SVID of another trust
     * domain is left out: the agent holds no federated bundles). A non-empty hint is kept
     * unique as the specification requires: a later SVID with a hint already used is left out, as
     * SPIRE does.
     */
    static X509SVIDResponse x509Svids(List<WorkloadSvid> svids, Bundle bundle) {
        ByteString bundleDer = der(bundle.x509Authorities());
        X509SVIDResponse.Builder response = X509SVIDResponse.newBuilder();
        Set<String> hints = new HashSet<>();
        for (WorkloadSvid svid : svids) {
            if (!svid.entry().spiffeId().memberOf(bundle.trustDomain())) {
                // Each X509SVID carries the bundle of its own trust domain; the agent holds only its own.
                log.warn("Entry {} ({}) is not in trust domain {}; left out (federation is not supported)",
                        svid.entry().id(), svid.entry().spiffeId(), bundle.trustDomain());
                continue;
            }
            String hint = svid.entry().hint();
            if (!hint.isEmpty() && !hints.add(hint)) {
                log.warn("Entry {} ({}) has hint \"{}\" already used by another SVID of the same workload; left out",
                        svid.entry().id(), svid.entry().spiffeId(), hint);
                continue;
            }
            response.addSvids(X509SVID.newBuilder()
                    .setSpiffeId(svid.entry().spiffeId().toString())
                    .setX509Svid(der(svid.chain()))
                    .setX509SvidKey(pkcs8(svid.privateKey(), svid))
                    .setBundle(bundleDer)
                    .setHint(hint));
        }
        return response.build();
    }

    /** The bundle's X.509 authorities, DER, keyed by the trust domain's SPIFFE ID. */
    static X509BundlesResponse x509Bundles(Bundle bundle) {
        return X509BundlesResponse.newBuilder()
                .putBundles(bundle.trustDomain().spiffeId().toString(), der(bundle.x509Authorities()))
                .build();
    }

    /**
     * The bundle's JWT authorities only, as a JWK Set ({@code kty}, {@code kid}, {@code use: jwt-svid},
     * key parameters): the specification forbids keys of other uses in JWT bundles.
     */
    static ByteString jwks(Bundle bundle) {
        Bundle jwtOnly = Bundle.builder(bundle.trustDomain()).jwtAuthorities(bundle.jwtAuthorities()).build();
        return ByteString.copyFrom(BundleJson.encode(jwtOnly), StandardCharsets.UTF_8);
    }

    /** JWT claims as a protobuf Struct; numbers become doubles, as Struct allows nothing else. */
    static Struct struct(Map<String, Object> claims) {
        Struct.Builder struct = Struct.newBuilder();
        claims.forEach((name, value) -> struct.putFields(name, value(value)));
        return struct.build();
    }

    private static Value value(Object value) {
        if (value == null) {
            return Value.newBuilder().setNullValue(NullValue.NULL_VALUE).build();
        }
        if (value instanceof String) {
            return Value.newBuilder().setStringValue((String) value).build();
        }
        if (value instanceof Boolean) {
            return Value.newBuilder().setBoolValue((Boolean) value).build();
        }
        if (value instanceof BigDecimal) {
            return Value.newBuilder().setNumberValue(((BigDecimal) value).doubleValue()).build();
        }
        if (value instanceof Number) {
            return Value.newBuilder().setNumberValue(((Number) value).doubleValue()).build();
        }
        if (value instanceof List) {
            ListValue.Builder list = ListValue.newBuilder();
            for (Object element : (List<?>) value) {
                list.addValues(value(element));
            }
            return Value.newBuilder().setListValue(list).build();
        }
        if (value instanceof Map) {
            Struct.Builder struct = Struct.newBuilder();
            ((Map<?, ?>) value).forEach((k, v) -> struct.putFields(String.valueOf(k), value(v)));
            return Value.newBuilder().setStructValue(struct).build();
        }
        throw new IllegalArgumentException("claim value of type " + value.getClass().getName());
    }

    /** Certificates DER-encoded and concatenated, as the Workload API carries chains and bundles. */
    static ByteString der(List<X509Certificate> certificates) {
        ByteString.Output out = ByteString.newOutput(certificates.size() * 1024);
        for (X509Certificate certificate : certificates) {
            try {
                byte[] encoded = certificate.getEncoded();
                out.write(encoded, 0, encoded.length);
            } catch (CertificateEncodingException e) {
                throw new IllegalStateException("cannot DER-encode " + certificate.getSubjectX500Principal(), e);
            }
        }
        return out.toByteString();
    }

    private static ByteString pkcs8(PrivateKey key, WorkloadSvid svid) {
        byte[] encoded = key.getEncoded();
        if (encoded == null || !"PKCS#8".equals(key.getFormat())) {
            throw new IllegalStateException("the private key of " + svid + " is not exportable as PKCS#8");
        }
        return ByteString.copyFrom(encoded);
    }
}
