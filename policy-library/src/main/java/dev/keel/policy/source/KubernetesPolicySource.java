package dev.keel.policy.source;

import dev.keel.policy.ApiVersion;
import dev.keel.policy.ParseResult;
import dev.keel.policy.ParsedPolicy;
import dev.keel.policy.PolicyError;
import dev.keel.policy.PolicyKind;
import dev.keel.policy.PolicyParser;
import io.fabric8.kubernetes.api.model.APIResource;
import io.fabric8.kubernetes.api.model.APIResourceList;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.dsl.base.ResourceDefinitionContext;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import io.fabric8.kubernetes.client.informers.cache.Cache;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The {@code security.istio.io} objects of a Kubernetes cluster (AuthorizationPolicy,
 * RequestAuthentication, PeerAuthentication), kept current with fabric8 informers. Each object is turned
 * back into JSON and read by {@link PolicyParser}, so the same strictness applies as to files.
 *
 * <p>Unlike a directory, a cluster has no "whole set" to refuse: objects change one at a time, by
 * different owners. So last-good is per object: an object that fails to parse is reported in
 * {@link #errors()} (with its API path as the source name and the field path; lines are 0, since the
 * object has no file) and its last good version stays in force, or, if it never had one, it is left out.
 * Deleting an object removes it. Nothing is published until all three kinds have been listed once, so
 * a consumer never sees a partial first set.
 *
 * <p>One API version is watched, since a cluster serves the same objects under each: {@code v1} when the
 * API server serves it (Istio 1.22 and later), otherwise {@code v1beta1}, unless {@link Options#apiVersion()}
 * says which. Watches that break are resumed by the informers; meanwhile the last set stays in force.
 *
 * <p>Thread-safe. Informer events only queue the object's key; one daemon thread reads the object from
 * the informer's cache and updates the set, so events are handled in order and bursts publish once.
 * Listeners are called as {@link PolicySource} says. {@link #close()} stops the informers and both threads;
 * the client stays open (it belongs to the caller).
 */
public final class KubernetesPolicySource implements PolicySource {

    private static final Logger LOG = LoggerFactory.getLogger(KubernetesPolicySource.class);
    private static final List<PolicyKind> KINDS = List.of(PolicyKind.AUTHORIZATION_POLICY,
            PolicyKind.REQUEST_AUTHENTICATION, PolicyKind.PEER_AUTHENTICATION);

    /**
     * What to watch.
     *
     * @param namespace  one namespace, or empty for all
     * @param apiVersion the version to watch, or empty to prefer {@code v1} if served
     */
    public record Options(Optional<String> namespace, Optional<ApiVersion> apiVersion) {

        public Options {
            Objects.requireNonNull(namespace, "namespace");
            Objects.requireNonNull(apiVersion, "apiVersion");
        }

        /** Every namespace, {@code v1} if served. */
        public static Options allNamespaces() {
            return new Options(Optional.empty(), Optional.empty());
        }
    }

    private final KubernetesClient client;
    private final ApiVersion apiVersion;
    private final Publisher publisher;
    private final BlockingQueue<Runnable> queue = new LinkedBlockingQueue<>();
    private final Thread worker;
    private final List<SharedIndexInformer<GenericKubernetesResource>> informers = new CopyOnWriteArrayList<>();
    private volatile boolean closed;

    // Owned by the worker thread.
    private final Map<String, Tracked> objects = new HashMap<>();
    private final boolean[] synced = new boolean[KINDS.size()];
    private final Map<Integer, PolicyError> listErrors = new HashMap<>();
    private boolean changed;
    private long version;

    private KubernetesPolicySource(KubernetesClient client, ApiVersion apiVersion) {
        this.client = client;
        this.apiVersion = apiVersion;
        this.publisher = new Publisher("keel-policy-listeners-k8s");
        this.worker = new Thread(this::work, "keel-policy-k8s");
        this.worker.setDaemon(true);
    }

    /**
     * Starts the informers and returns at once; the first set is published once every kind is listed.
     *
     * @throws KubernetesClientException when the API server cannot be asked which versions it serves
     *                                   (only when {@link Options#apiVersion()} is empty)
     */
    public static KubernetesPolicySource start(KubernetesClient client, Options options) {
        Objects.requireNonNull(client, "client");
        Objects.requireNonNull(options, "options");
        ApiVersion version = options.apiVersion().orElseGet(() -> servedVersion(client));
        KubernetesPolicySource source = new KubernetesPolicySource(client, version);
        source.worker.start();
        for (int i = 0; i < KINDS.size(); i++) {
            source.inform(i, options.namespace());
        }
        return source;
    }

    /** The version being watched. */
    public ApiVersion apiVersion() {
        return apiVersion;
    }

    @Override
    public PolicySet current() {
        return publisher.current();
    }

    @Override
    public List<PolicyError> errors() {
        return publisher.errors();
    }

    @Override
    public Registration onChange(Consumer<? super PolicySet> listener) {
        return publisher.register(listener);
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        informers.forEach(SharedIndexInformer::close);
        publisher.closeAfter(worker);
    }

    private static ApiVersion servedVersion(KubernetesClient client) {
        String plural = plural(PolicyKind.AUTHORIZATION_POLICY);
        APIResourceList v1 = client.getApiResources(ApiVersion.V1.value());
        if (v1 != null && v1.getResources().stream().map(APIResource::getName).anyMatch(plural::equals)) {
            return ApiVersion.V1;
        }
        return ApiVersion.V1BETA1;
    }

    /** The resource name in API paths, as Istio's CRDs declare it. */
    private static String plural(PolicyKind kind) {
        switch (kind) {
            case AUTHORIZATION_POLICY:
                return "authorizationpolicies";
            case REQUEST_AUTHENTICATION:
                return "requestauthentications";
            case PEER_AUTHENTICATION:
                return "peerauthentications";
            default:
                throw new AssertionError(kind);
        }
    }

    private void inform(int index, Optional<String> namespace) {
        PolicyKind kind = KINDS.get(index);
        ResourceDefinitionContext context = new ResourceDefinitionContext.Builder()
                .withGroup(ApiVersion.GROUP)
                .withVersion(apiVersion.value().substring(ApiVersion.GROUP.length() + 1))
                .withKind(kind.value())
                .withPlural(plural(kind))
                .withNamespaced(true)
                .build();
        var resources = client.genericKubernetesResources(context);
        SharedIndexInformer<GenericKubernetesResource> informer = namespace
                .map(ns -> resources.inNamespace(ns).runnableInformer(0))
                .orElseGet(() -> resources.inAnyNamespace().runnableInformer(0));
        informer.addEventHandler(new ResourceEventHandler<>() {
            @Override
            public void onAdd(GenericKubernetesResource obj) {
                enqueue(index, informer, Cache.metaNamespaceKeyFunc(obj));
            }

            @Override
            public void onUpdate(GenericKubernetesResource oldObj, GenericKubernetesResource newObj) {
                enqueue(index, informer, Cache.metaNamespaceKeyFunc(newObj));
            }

            @Override
            public void onDelete(GenericKubernetesResource obj, boolean deletedFinalStateUnknown) {
                enqueue(index, informer, Cache.metaNamespaceKeyFunc(obj));
            }
        });
        informer.exceptionHandler((started, t) -> {
            // Keep retrying: the set in force stays while the API server is unreachable or refuses.
            queue.add(() -> {
                listErrors.put(index, new PolicyError(path(kind, "", ""), 0, 0, 0, "", "cannot list or watch "
                        + plural(kind) + ": " + t.getMessage()));
                changed = true;
            });
            return !closed;
        });
        informers.add(informer);
        informer.start().whenComplete((ok, failure) -> {
            if (failure == null) {
                queue.add(() -> synced(index, informer));
            }
        });
    }

    private void enqueue(int index, SharedIndexInformer<GenericKubernetesResource> informer, String key) {
        // The key only: the worker reads the object's latest state when it gets to it.
        queue.add(() -> reconcile(index, key, informer.getStore().getByKey(key)));
    }

    private void synced(int index, SharedIndexInformer<GenericKubernetesResource> informer) {
        synced[index] = true;
        listErrors.remove(index);
        changed = true;
        // Handler events may still be on their way; the cache is complete now, so read it.
        for (String key : informer.getStore().listKeys()) {
            reconcile(index, key, informer.getStore().getByKey(key));
        }
    }

    private void work() {
        List<Runnable> batch = new ArrayList<>();
        while (!closed) {
            try {
                batch.add(queue.take());
                queue.drainTo(batch);
                for (Runnable task : batch) {
                    task.run();
                }
                batch.clear();
                publishIfChanged();
            } catch (InterruptedException e) {
                return;
            } catch (RuntimeException e) {
                LOG.error("updating the Kubernetes policy set failed", e);
                batch.clear();
            }
        }
    }

    /** Brings one object's entry in line with the cache: {@code obj} is its current state, null if deleted. */
    private void reconcile(int index, String key, GenericKubernetesResource obj) {
        PolicyKind kind = KINDS.get(index);
        String id = kind.value() + " " + key;
        if (obj == null) {
            changed |= objects.remove(id) != null;
            return;
        }
        String resourceVersion = obj.getMetadata().getResourceVersion();
        Tracked tracked = objects.get(id);
        if (tracked != null && resourceVersion != null && resourceVersion.equals(tracked.resourceVersion)) {
            return;
        }
        String namespace = obj.getMetadata().getNamespace();
        String sourceName = path(kind, namespace, obj.getMetadata().getName());
        Map<String, Object> object = new LinkedHashMap<>();
        object.put("apiVersion", obj.getApiVersion() != null ? obj.getApiVersion() : apiVersion.value());
        object.put("kind", obj.getKind() != null ? obj.getKind() : kind.value());
        object.put("metadata", obj.getMetadata());
        object.putAll(obj.getAdditionalProperties());
        ParseResult result = PolicyParser.parse(sourceName, client.getKubernetesSerialization().asJson(object), namespace);
        ParsedPolicy good = tracked == null ? null : tracked.good;
        List<PolicyError> errors;
        if (result.isOk() && result.parsedPolicies().size() == 1) {
            good = result.parsedPolicies().get(0);
            errors = List.of();
        } else if (result.isOk()) {
            errors = List.of(new PolicyError(sourceName, 0, 0, 0, "", "not a " + apiVersion + " " + kind + ": "
                    + result.skipped()));
        } else {
            // The JSON is ours, not the user's: its lines would only mislead.
            errors = result.errors().stream()
                    .map(e -> new PolicyError(sourceName, 0, 0, 0, e.fieldPath(), e.message()))
                    .toList();
        }
        if (!errors.isEmpty()) {
            LOG.warn("refused {} resourceVersion {} ({}); {}: {}", sourceName, resourceVersion, errors.size() + " error(s)",
                    good != null ? "its last good version stays in force" : "it is not in force", errors.get(0));
        }
        objects.put(id, new Tracked(resourceVersion, good, errors));
        changed = true;
    }

    private void publishIfChanged() {
        if (!changed) {
            return;
        }
        changed = false;
        List<PolicyError> errors = new ArrayList<>(listErrors.values());
        List<ParsedPolicy> policies = new ArrayList<>();
        objects.entrySet().stream().sorted(Map.Entry.comparingByKey()).forEach(e -> {
            errors.addAll(e.getValue().errors);
            if (e.getValue().good != null) {
                policies.add(e.getValue().good);
            }
        });
        publisher.errors(errors);
        for (boolean s : synced) {
            if (!s) {
                return;
            }
        }
        PolicySet current = publisher.current();
        if (current.isLoaded() && sameObjects(current.parsedPolicies(), policies)) {
            return;
        }
        policies.sort(Comparator.comparing(ParsedPolicy::sourceName));
        PolicySet set = PolicySet.of(++version, policies);
        publisher.publish(set);
        LOG.info("loaded {} policies from Kubernetes (version {})", set.size(), set.version());
    }

    private static boolean sameObjects(List<ParsedPolicy> a, List<ParsedPolicy> b) {
        if (a.size() != b.size()) {
            return false;
        }
        java.util.Set<ParsedPolicy> identities = java.util.Collections.newSetFromMap(new java.util.IdentityHashMap<>());
        identities.addAll(a);
        return identities.containsAll(b);
    }

    /** The object's API path: where {@code kubectl get --raw} would find it. */
    private String path(PolicyKind kind, String namespace, String name) {
        String base = "/apis/" + apiVersion.value();
        return namespace.isEmpty() ? base + "/" + plural(kind) : base + "/namespaces/" + namespace + "/" + plural(kind) + "/" + name;
    }

    private record Tracked(String resourceVersion, ParsedPolicy good, List<PolicyError> errors) {
    }
}
