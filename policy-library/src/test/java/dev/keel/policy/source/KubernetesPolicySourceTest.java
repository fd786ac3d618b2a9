package dev.keel.policy.source;

import static org.assertj.core.api.Assertions.assertThat;

import dev.keel.policy.ApiVersion;
import dev.keel.policy.AuthorizationPolicy;
import dev.keel.policy.PolicyError;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.dsl.base.CustomResourceDefinitionContext;
import io.fabric8.kubernetes.client.dsl.base.ResourceDefinitionContext;
import io.fabric8.kubernetes.client.server.mock.KubernetesCrudDispatcher;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.fabric8.mockwebserver.Context;
import io.fabric8.mockwebserver.MockWebServer;
import java.net.InetAddress;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The Kubernetes source against fabric8's mock API server in CRUD mode (a small in-memory API server). */
class KubernetesPolicySourceTest {

    private static final Map<String, String> PLURALS = Map.of("AuthorizationPolicy", "authorizationpolicies",
            "RequestAuthentication", "requestauthentications", "PeerAuthentication", "peerauthentications");

    private KubernetesMockServer server;
    private KubernetesClient client;
    private KubernetesPolicySource source;

    @AfterEach
    void stop() {
        if (source != null) {
            source.close();
        }
        if (client != null) {
            client.close();
        }
        if (server != null) {
            server.destroy();
        }
    }

    private void startServer(String version) throws Exception {
        server = new KubernetesMockServer(new Context(), new MockWebServer(), new HashMap<>(), new KubernetesCrudDispatcher(),
                false);
        server.init(InetAddress.getByName("127.0.0.1"), 0);
        PLURALS.forEach((kind, plural) -> server.expectCustomResource(new CustomResourceDefinitionContext.Builder()
                .withGroup(ApiVersion.GROUP).withVersion(version).withKind(kind).withPlural(plural).withScope("Namespaced")
                .build()));
        client = server.createClient();
    }

    private static ResourceDefinitionContext context(String version, String kind) {
        return new ResourceDefinitionContext.Builder().withGroup(ApiVersion.GROUP).withVersion(version).withKind(kind)
                .withPlural(PLURALS.get(kind)).withNamespaced(true).build();
    }

    private GenericKubernetesResource object(String yaml) {
        return client.getKubernetesSerialization().unmarshal(yaml, GenericKubernetesResource.class);
    }

    private void create(String version, String yaml) {
        GenericKubernetesResource r = object(yaml);
        client.genericKubernetesResources(context(version, r.getKind())).inNamespace(r.getMetadata().getNamespace())
                .resource(r).create();
    }

    private void update(String yaml) {
        GenericKubernetesResource r = object(yaml);
        client.genericKubernetesResources(context("v1", r.getKind())).inNamespace(r.getMetadata().getNamespace())
                .withName(r.getMetadata().getName())
                .edit(current -> {
                    current.setAdditionalProperties(r.getAdditionalProperties());
                    return current;
                });
    }

    private void delete(String kind, String namespace, String name) {
        client.genericKubernetesResources(context("v1", kind)).inNamespace(namespace).withName(name).delete();
    }

    static String allow(String version, String namespace, String name, String principal) {
        return "apiVersion: security.istio.io/" + version + "\nkind: AuthorizationPolicy\nmetadata:\n  name: " + name
                + "\n  namespace: " + namespace + "\nspec:\n  rules:\n  - from:\n    - source:\n        principals: [\""
                + principal + "\"]\n";
    }

    static final String STRICT = "apiVersion: security.istio.io/v1\nkind: PeerAuthentication\n"
            + "metadata: {name: default, namespace: istio-system}\nspec: {mtls: {mode: STRICT}}\n";

    static final String JWT = "apiVersion: security.istio.io/v1\nkind: RequestAuthentication\n"
            + "metadata: {name: jwt, namespace: shop}\nspec:\n  jwtRules:\n  - issuer: https://issuer.example\n"
            + "    jwksUri: https://issuer.example/keys\n";

    private static List<String> names(PolicySet set) {
        return set.policies().stream().map(p -> p.kind() + " " + p.metadata().qualifiedName()).sorted()
                .collect(Collectors.toList());
    }

    private String state() {
        return "current " + source.current() + " " + names(source.current()) + ", errors " + source.errors();
    }

    private void awaitNames(String... names) {
        Await.until("policies " + List.of(names), () -> names(source.current()).equals(List.of(names)), this::state);
    }

    private String principalOf(String name) {
        return source.current().policies(AuthorizationPolicy.class).stream().filter(p -> p.metadata().name().equals(name))
                .map(p -> p.rules().get(0).from().get(0).principals().get(0)).findFirst().orElse("(absent)");
    }

    @Test
    void followsCreatesUpdatesAndDeletes() throws Exception {
        startServer("v1");
        create("v1", allow("v1", "shop", "a", "cluster.local/ns/shop/sa/a"));
        create("v1", STRICT);

        source = KubernetesPolicySource.start(client, KubernetesPolicySource.Options.allNamespaces());
        assertThat(source.apiVersion()).isEqualTo(ApiVersion.V1);
        awaitNames("AuthorizationPolicy shop/a", "PeerAuthentication istio-system/default");
        assertThat(source.errors()).isEmpty();
        assertThat(source.current().sources())
                .contains("/apis/security.istio.io/v1/namespaces/shop/authorizationpolicies/a");

        create("v1", JWT);
        awaitNames("AuthorizationPolicy shop/a", "PeerAuthentication istio-system/default", "RequestAuthentication shop/jwt");

        update(allow("v1", "shop", "a", "cluster.local/ns/shop/sa/changed"));
        Await.until("the update", () -> principalOf("a").equals("cluster.local/ns/shop/sa/changed"), this::state);

        delete("PeerAuthentication", "istio-system", "default");
        awaitNames("AuthorizationPolicy shop/a", "RequestAuthentication shop/jwt");
        assertThat(source.errors()).isEmpty();
    }

    @Test
    void aBadObjectIsReportedAndLeftOutAndABadUpdateKeepsTheLastGoodVersion() throws Exception {
        startServer("v1");
        create("v1", allow("v1", "shop", "a", "cluster.local/ns/shop/sa/a"));
        // Istio refuses a DENY policy without rules; Kubernetes' CRUD mock stores it anyway.
        create("v1", "apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: bad, namespace: shop}\n"
                + "spec: {action: DENY}\n");
        source = KubernetesPolicySource.start(client, KubernetesPolicySource.Options.allNamespaces());
        awaitNames("AuthorizationPolicy shop/a");
        assertThat(source.errors()).singleElement().satisfies(e -> {
            assertThat(e.sourceName()).isEqualTo("/apis/security.istio.io/v1/namespaces/shop/authorizationpolicies/bad");
            assertThat(e.fieldPath()).isEqualTo("spec.action");
            assertThat(e.line()).isZero();
            assertThat(e.message()).contains("DENY action without rules");
        });

        long before = source.current().version();
        update(allow("v1", "shop", "a", "spiffe://cluster.local/ns/shop/sa/a"));
        Await.until("the bad update to be reported", () -> source.errors().size() == 2, this::state);
        assertThat(source.errors()).extracting(PolicyError::fieldPath)
                .contains("spec.rules[0].from[0].source.principals[0]");
        assertThat(principalOf("a")).isEqualTo("cluster.local/ns/shop/sa/a");
        assertThat(source.current().version()).isEqualTo(before);

        update(allow("v1", "shop", "a", "cluster.local/ns/shop/sa/fixed"));
        Await.until("the fix", () -> principalOf("a").equals("cluster.local/ns/shop/sa/fixed"), this::state);
        assertThat(source.errors()).singleElement().satisfies(e -> assertThat(e.sourceName()).endsWith("/bad"));

        delete("AuthorizationPolicy", "shop", "bad");
        Await.until("the bad object's error to go", () -> source.errors().isEmpty(), this::state);
    }

    @Test
    void watchesV1beta1WhenTheClusterDoesNotServeV1() throws Exception {
        startServer("v1beta1");
        create("v1beta1", allow("v1beta1", "shop", "old", "cluster.local/ns/shop/sa/a"));
        source = KubernetesPolicySource.start(client, KubernetesPolicySource.Options.allNamespaces());
        assertThat(source.apiVersion()).isEqualTo(ApiVersion.V1BETA1);
        awaitNames("AuthorizationPolicy shop/old");
    }

    @Test
    void oneNamespaceOnlyWhenAsked() throws Exception {
        startServer("v1");
        create("v1", allow("v1", "shop", "a", "cluster.local/ns/shop/sa/a"));
        create("v1", allow("v1", "other", "b", "cluster.local/ns/other/sa/b"));
        source = KubernetesPolicySource.start(client, new KubernetesPolicySource.Options(Optional.of("shop"),
                Optional.of(ApiVersion.V1)));
        awaitNames("AuthorizationPolicy shop/a");
    }

    @Test
    void closeStopsFollowing() throws Exception {
        startServer("v1");
        create("v1", allow("v1", "shop", "a", "cluster.local/ns/shop/sa/a"));
        source = KubernetesPolicySource.start(client, KubernetesPolicySource.Options.allNamespaces());
        awaitNames("AuthorizationPolicy shop/a");
        source.close();
        create("v1", allow("v1", "shop", "b", "cluster.local/ns/shop/sa/b"));
        // The client still works; the closed source no longer follows it.
        assertThat(client.genericKubernetesResources(context("v1", "AuthorizationPolicy")).inNamespace("shop").list()
                .getItems()).hasSize(2);
        assertThat(names(source.current())).containsExactly("AuthorizationPolicy shop/a");
    }
}
