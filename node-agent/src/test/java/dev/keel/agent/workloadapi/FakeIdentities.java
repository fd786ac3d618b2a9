package dev.keel.agent.workloadapi;

import dev.keel.agent.IdentitySnapshot;
import dev.keel.agent.JwtSvidToken;
import dev.keel.agent.KubernetesPod;
import dev.keel.agent.RegistrationEntry;
import dev.keel.agent.Selector;
import dev.keel.agent.WorkloadIdentities;
import dev.keel.agent.WorkloadIdentityException;
import dev.keel.agent.WorkloadSvid;
import dev.keel.identity.Bundle;
import dev.keel.identity.KeyPairs;
import dev.keel.identity.KeyType;
import dev.keel.identity.SpiffeId;
import dev.keel.testing.TestLeaf;
import dev.keel.testing.TestPki;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.Signature;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import java.util.stream.Collectors;

/**
 * An in-memory {@link WorkloadIdentities}: the test publishes snapshots; JWT-SVIDs are ES256 tokens
 * signed at test time under a JWT authority that {@link #bundle()} publishes.
 */
final class FakeIdentities implements WorkloadIdentities {

    static final String JWT_KID = "jwt-authority-1";

    private final TestPki pki;
    private final KeyPair jwtKey = KeyPairs.generate(KeyType.EC_P256);
    private final Bundle bundle;
    private final AtomicLong versions = new AtomicLong();
    private final AtomicReference<IdentitySnapshot> current = new AtomicReference<>(IdentitySnapshot.EMPTY);
    private final Set<Consumer<IdentitySnapshot>> listeners = ConcurrentHashMap.newKeySet();
    final List<KubernetesPod> admitted = new CopyOnWriteArrayList<>();
    final List<List<String>> jwtAudiences = new CopyOnWriteArrayList<>();
    volatile WorkloadIdentityException jwtFailure;

    FakeIdentities(TestPki pki) {
        this.pki = pki;
        this.bundle = pki.bundle().toBuilder().putJwtAuthority(JWT_KID, jwtKey.getPublic()).build();
    }

    Bundle bundle() {
        return bundle;
    }

    static RegistrationEntry entry(String id, String spiffeId, String hint, String... selectors) {
        return new RegistrationEntry(id, SpiffeId.parse(spiffeId),
                Arrays.stream(selectors).map(Selector::parse).collect(Collectors.toSet()), Duration.ZERO, Duration.ZERO, hint);
    }

    WorkloadSvid svid(RegistrationEntry entry) {
        return svid(entry, pki.leaf(entry.spiffeId()).issue());
    }

    static WorkloadSvid svid(RegistrationEntry entry, TestLeaf leaf) {
        return new WorkloadSvid(entry, leaf.chain(), leaf.privateKey());
    }

    /** Publishes a snapshot of these entries and SVIDs with {@link #bundle()}. */
    IdentitySnapshot publish(List<RegistrationEntry> entries, WorkloadSvid... svids) {
        Map<String, WorkloadSvid> byEntry = new LinkedHashMap<>();
        for (WorkloadSvid svid : svids) {
            byEntry.put(svid.entry().id(), svid);
        }
        return publish(new IdentitySnapshot(versions.incrementAndGet(), entries, byEntry, Optional.of(bundle)));
    }

    IdentitySnapshot publish(IdentitySnapshot snapshot) {
        current.set(snapshot);
        for (Consumer<IdentitySnapshot> listener : listeners) {
            listener.accept(snapshot);
        }
        return snapshot;
    }

    long nextVersion() {
        return versions.incrementAndGet();
    }

    int subscribers() {
        return listeners.size();
    }

    @Override
    public IdentitySnapshot current() {
        return current.get();
    }

    @Override
    public AutoCloseable subscribe(Consumer<IdentitySnapshot> listener) {
        // A fresh wrapper per subscription: the same method reference may subscribe twice.
        Consumer<IdentitySnapshot> handle = listener::accept;
        listeners.add(handle);
        return () -> listeners.remove(handle);
    }

    @Override
    public CompletableFuture<JwtSvidToken> fetchJwtSvid(RegistrationEntry entry, List<String> audience) {
        jwtAudiences.add(List.copyOf(audience));
        if (jwtFailure != null) {
            return CompletableFuture.failedFuture(jwtFailure);
        }
        Instant now = Instant.now();
        Instant exp = now.plus(Duration.ofMinutes(5));
        String aud = audience.stream().map(a -> "\"" + a + "\"").collect(Collectors.joining(",", "[", "]"));
        String header = b64("{\"alg\":\"ES256\",\"kid\":\"" + JWT_KID + "\",\"typ\":\"JWT\"}");
        String payload = b64("{\"sub\":\"" + entry.spiffeId() + "\",\"aud\":" + aud + ",\"exp\":" + exp.getEpochSecond()
                + ",\"iat\":" + now.getEpochSecond() + ",\"jti\":\"" + versions.incrementAndGet() + "\"}");
        try {
            Signature signer = Signature.getInstance("SHA256withECDSAinP1363Format");
            signer.initSign(jwtKey.getPrivate());
            signer.update((header + "." + payload).getBytes(StandardCharsets.US_ASCII));
            String token = header + "." + payload + "." + Base64.getUrlEncoder().withoutPadding().encodeToString(signer.sign());
            return CompletableFuture.completedFuture(new JwtSvidToken(entry.spiffeId(), audience, token,
                    Instant.ofEpochSecond(exp.getEpochSecond()), entry.hint()));
        } catch (GeneralSecurityException e) {
            return CompletableFuture.failedFuture(e);
        }
    }

    @Override
    public RegistrationEntry admitPod(KubernetesPod pod) {
        admitted.add(pod);
        return podEntry(pod);
    }

    /** The entry a pod is admitted as, per the {@link WorkloadIdentities#admitPod} contract. */
    static RegistrationEntry podEntry(KubernetesPod pod) {
        return new RegistrationEntry("k8s:" + pod.uid(),
                SpiffeId.parse("spiffe://cluster.local/ns/" + pod.namespace() + "/sa/" + pod.serviceAccount()),
                Set.of(Selector.of("k8s", "pod-uid:" + pod.uid())), Duration.ZERO, Duration.ZERO, "");
    }

    static List<RegistrationEntry> entries(RegistrationEntry... entries) {
        return new ArrayList<>(List.of(entries));
    }

    private static String b64(String s) {
        return Base64.getUrlEncoder().withoutPadding().encodeToString(s.getBytes(StandardCharsets.UTF_8));
    }
}
