package dev.keel.proxy.tls;

import dev.keel.identity.SpiffeId;
import dev.keel.proxy.IdentitySource;
import dev.keel.proxy.X509Material;
import dev.keel.testing.TestLeaf;
import dev.keel.testing.TestPki;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;

/** An {@link IdentitySource} the test sets by hand; shared by the proxy's TLS, outbound and admin tests. */
public final class MutableIdentitySource implements IdentitySource {

    private final Set<Consumer<X509Material>> listeners = ConcurrentHashMap.newKeySet();
    private volatile X509Material current;

    /** Material for {@code id}, freshly issued by {@code pki}, trusting {@code pki}'s bundle. */
    public static X509Material material(TestPki pki, SpiffeId id) {
        return material(pki, pki.leaf(id).issue());
    }

    public static X509Material material(TestPki pki, TestLeaf leaf) {
        return new X509Material(leaf.svid().spiffeId(), leaf.chain(), leaf.privateKey(),
                Map.of(pki.trustDomain(), pki.bundle()));
    }

    public static MutableIdentitySource of(X509Material material) {
        MutableIdentitySource source = new MutableIdentitySource();
        source.set(material);
        return source;
    }

    public void set(X509Material material) {
        current = material;
        listeners.forEach(l -> l.accept(material));
    }

    @Override
    public Optional<X509Material> current() {
        return Optional.ofNullable(current);
    }

    @Override
    public AutoCloseable subscribe(Consumer<X509Material> listener) {
        Consumer<X509Material> handle = listener::accept;
        listeners.add(handle);
        return () -> listeners.remove(handle);
    }
}
