package dev.keel.agent.workloadapi;

import static dev.keel.agent.workloadapi.FakeIdentities.entries;
import static dev.keel.agent.workloadapi.FakeIdentities.entry;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import dev.keel.agent.RegistrationEntry;
import dev.keel.agent.WorkloadSvid;
import io.grpc.Status;
import io.spiffe.bundle.jwtbundle.JwtBundle;
import io.spiffe.bundle.jwtbundle.JwtBundleSet;
import io.spiffe.bundle.x509bundle.X509Bundle;
import io.spiffe.bundle.x509bundle.X509BundleSet;
import io.spiffe.exception.JwtSvidException;
import io.spiffe.spiffeid.SpiffeId;
import io.spiffe.spiffeid.TrustDomain;
import io.spiffe.svid.jwtsvid.JwtSvid;
import io.spiffe.svid.x509svid.X509Svid;
import io.spiffe.workloadapi.DefaultWorkloadApiClient;
import io.spiffe.workloadapi.Watcher;
import io.spiffe.workloadapi.WorkloadApiClient;
import io.spiffe.workloadapi.X509Context;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The SPIFFE project's own Java client ({@code io.spiffe:java-spiffe-core}) against the agent's
 * socket: the proof of wire compatibility. The caller is attested by the Unix attestor from the
 * kernel's peer credentials of this very test process.
 */
class SpiffeClientInteropTest extends ServerTestBase {

    private static final TrustDomain TD = TrustDomain.parse("cluster.local");

    private RegistrationEntry web;
    private RegistrationEntry admin;
    private WorkloadSvid webSvid;
    private WorkloadSvid adminSvid;
    private WorkloadApiClient client;

    @BeforeEach
    void publishAndConnect() throws Exception {
        web = entry("e-web", "spiffe://cluster.local/ns/shop/sa/web", "internal", MY_UID);
        admin = entry("e-admin", "spiffe://cluster.local/ns/shop/sa/admin", "external", MY_UID);
        RegistrationEntry someoneElse = entry("e-other", "spiffe://cluster.local/ns/shop/sa/db", "", OTHER_UID);
        webSvid = identities.svid(web);
        adminSvid = identities.svid(admin);
        identities.publish(entries(web, someoneElse, admin), webSvid, adminSvid, identities.svid(someoneElse));
        client = DefaultWorkloadApiClient.newClient(DefaultWorkloadApiClient.ClientOptions.builder()
                .spiffeSocketPath("unix:" + socket).build());
    }

    @AfterEach
    void closeClient() throws Exception {
        client.close();
    }

    @Test
    void fetchesX509SvidsDefaultFirstWithKeysAndBundle() throws Exception {
        X509Context context = client.fetchX509Context();

        assertThat(context.getX509Svids()).extracting(svid -> svid.getSpiffeId().toString())
                .containsExactly("spiffe://cluster.local/ns/shop/sa/web", "spiffe://cluster.local/ns/shop/sa/admin");
        X509Svid first = context.getDefaultSvid();
        assertThat(first.getLeaf()).isEqualTo(webSvid.leaf());
        assertThat(first.getChain()).containsExactlyElementsOf(webSvid.chain());
        assertThat(first.getPrivateKey().getEncoded()).isEqualTo(webSvid.privateKey().getEncoded());
        assertThat(first.getHint()).isEqualTo("internal");
        assertThat(context.getX509BundleSet().getBundleForTrustDomain(TD).getX509Authorities())
                .containsExactly(pki.root());
        assertThat(metricsText()).contains("keel_agent_svids_served_total{type=\"x509_svid\"} 2.0");
    }

    @Test
    void fetchesX509Bundles() throws Exception {
        X509BundleSet bundles = client.fetchX509Bundles();

        X509Bundle bundle = bundles.getBundleForTrustDomain(TD);
        assertThat(bundle.getX509Authorities()).containsExactly(pki.root());
    }

    @Test
    void fetchesJwtSvidsAndBundlesAndValidates() throws Exception {
        JwtSvid jwt = client.fetchJwtSvid("spiffe://cluster.local/ns/shop/sa/db");
        JwtSvid forAdmin = client.fetchJwtSvid(SpiffeId.parse("spiffe://cluster.local/ns/shop/sa/admin"), "db");
        JwtBundleSet jwtBundles = client.fetchJwtBundles();

        assertThat(jwt.getSpiffeId().toString()).isEqualTo("spiffe://cluster.local/ns/shop/sa/web");
        assertThat(jwt.getAudience()).containsExactly("spiffe://cluster.local/ns/shop/sa/db");
        assertThat(forAdmin.getSpiffeId().toString()).isEqualTo("spiffe://cluster.local/ns/shop/sa/admin");
        JwtBundle jwtBundle = jwtBundles.getBundleForTrustDomain(TD);
        assertThat(jwtBundle.getJwtAuthorities()).containsOnlyKeys(FakeIdentities.JWT_KID);
        assertThat(jwtBundle.findJwtAuthority(FakeIdentities.JWT_KID).getEncoded())
                .isEqualTo(identities.bundle().jwtAuthorities().get(FakeIdentities.JWT_KID).getEncoded());
        // java-spiffe itself verifies the token against the JWKS the agent served.
        assertThat(JwtSvid.parseAndValidate(jwt.getToken(), jwtBundles, java.util.Set.of("spiffe://cluster.local/ns/shop/sa/db"))
                .getSpiffeId()).isEqualTo(jwt.getSpiffeId());

        JwtSvid validated = client.validateJwtSvid(jwt.getToken(), "spiffe://cluster.local/ns/shop/sa/db");
        assertThat(validated.getSpiffeId()).isEqualTo(jwt.getSpiffeId());

        Throwable wrongAudience = catchThrowable(() -> client.validateJwtSvid(jwt.getToken(), "someone-else"));
        assertThat(wrongAudience).isInstanceOf(JwtSvidException.class);
        Status status = Status.fromThrowable(wrongAudience);
        assertThat(status.getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
        assertThat(status.getDescription()).contains("JWT-SVID rejected [AUDIENCE]");
        // The audience-only fetch returns a token per entitled identity (web and admin), then one for admin.
        assertThat(metricsText()).contains("keel_agent_svids_served_total{type=\"jwt_svid\"} 3.0")
                .contains("keel_agent_svids_served_total{type=\"jwt_bundle\"} 1.0");
    }

    @Test
    void watcherSeesARotation() throws Exception {
        BlockingQueue<Object> updates = new LinkedBlockingQueue<>();
        client.watchX509Context(new Watcher<>() {
            @Override
            public void onUpdate(X509Context update) {
                updates.add(update);
            }

            @Override
            public void onError(Throwable error) {
                updates.add(error);
            }
        });
        X509Context first = (X509Context) updates.poll(10, TimeUnit.SECONDS);
        assertThat(first).isNotNull();
        assertThat(first.getDefaultSvid().getLeaf()).isEqualTo(webSvid.leaf());

        WorkloadSvid rotated = identities.svid(web);
        identities.publish(entries(web, admin), rotated, adminSvid);

        Object second = updates.poll(10, TimeUnit.SECONDS);
        assertThat(second).isInstanceOf(X509Context.class);
        assertThat(((X509Context) second).getDefaultSvid().getLeaf()).isEqualTo(rotated.leaf());
        assertThat(((X509Context) second).getX509Svids()).hasSize(2);
    }

    @Test
    void aCallerMatchingNoEntryIsDenied() throws Exception {
        identities.publish(entries(entry("e-other", "spiffe://cluster.local/ns/shop/sa/db", "", OTHER_UID)));

        Throwable error = catchThrowable(client::fetchX509Context);

        assertThat(Status.fromThrowable(error).getCode()).isEqualTo(Status.Code.PERMISSION_DENIED);
        assertThat(Status.fromThrowable(error).getDescription()).isEqualTo("no identity issued");
    }
}
