package dev.keel.ca.server;

import java.net.Socket;
import java.security.KeyPair;
import java.security.Principal;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.Objects;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.X509ExtendedKeyManager;

/**
 * A server key manager whose certificate can be replaced while the server runs: new handshakes get
 * the new certificate, established connections keep theirs. BoringSSL (through netty-tcnative) asks
 * it for the alias, then the chain and key, per handshake; the previous material stays reachable by
 * its alias so a handshake that straddles a swap still completes. Thread-safe.
 */
final class RotatingKeyManager extends X509ExtendedKeyManager {

    private record Material(String alias, PrivateKey key, X509Certificate[] chain) {
    }

    private volatile Material current;
    private volatile Material previous;

    RotatingKeyManager(KeyPair pair, List<X509Certificate> chain) {
        this.current = material(pair, chain);
    }

    void rotate(KeyPair pair, List<X509Certificate> chain) {
        Material next = material(pair, chain);
        previous = current;
        current = next;
    }

    X509Certificate leaf() {
        return current.chain()[0];
    }

    private static Material material(KeyPair pair, List<X509Certificate> chain) {
        Objects.requireNonNull(pair, "pair");
        if (chain.isEmpty()) {
            throw new IllegalArgumentException("chain: empty");
        }
        return new Material("keel-" + chain.get(0).getSerialNumber().toString(16), pair.getPrivate(),
                chain.toArray(new X509Certificate[0]));
    }

    private Material find(String alias) {
        Material c = current;
        if (c.alias().equals(alias)) {
            return c;
        }
        Material p = previous;
        return p != null && p.alias().equals(alias) ? p : null;
    }

    @Override
    public String chooseEngineServerAlias(String keyType, Principal[] issuers, SSLEngine engine) {
        return current.alias();
    }

    @Override
    public String chooseServerAlias(String keyType, Principal[] issuers, Socket socket) {
        return current.alias();
    }

    @Override
    public String[] getServerAliases(String keyType, Principal[] issuers) {
        return new String[] {current.alias()};
    }

    @Override
    public X509Certificate[] getCertificateChain(String alias) {
        Material m = find(alias);
        return m == null ? null : m.chain().clone();
    }

    @Override
    public PrivateKey getPrivateKey(String alias) {
        Material m = find(alias);
        return m == null ? null : m.key();
    }

    @Override
    public String[] getClientAliases(String keyType, Principal[] issuers) {
        return null;
    }

    @Override
    public String chooseClientAlias(String[] keyType, Principal[] issuers, Socket socket) {
        return null;
    }
}
