package dev.keel.identity.internal;

import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PrivateKey;
import java.security.Provider;
import java.security.PublicKey;
import java.security.spec.PKCS8EncodedKeySpec;
import java.security.spec.X509EncodedKeySpec;
import org.conscrypt.Conscrypt;

/**
 * BoringSSL's ECDSA through Conscrypt's JCA provider, when its native library loads on this
 * platform. A CA verifies a CSR under a key it has never seen and signs once per issuance: there
 * BoringSSL is three to four times faster than BouncyCastle, which stays the fallback (a platform
 * without the library, or {@code -Dkeel.crypto.native=false}).
 *
 * <p>The provider is private to Keel, never installed in the JVM's provider list, so nothing else
 * in the process changes behaviour.
 */
public final class NativeCrypto {

    /** Set to {@code false} to force BouncyCastle, e.g. to compare or to rule native code out. */
    public static final String PROPERTY = "keel.crypto.native";

    private static final Provider PROVIDER = load();

    private NativeCrypto() {
    }

    private static Provider load() {
        if ("false".equalsIgnoreCase(System.getProperty(PROPERTY))) {
            return null;
        }
        try {
            return Conscrypt.isAvailable() ? Conscrypt.newProvider() : null;
        } catch (LinkageError | RuntimeException e) {
            // No native library for this OS or CPU: BouncyCastle serves.
            return null;
        }
    }

    /** The native provider, or null when BouncyCastle must serve. */
    public static Provider provider() {
        return PROVIDER;
    }

    public static boolean available() {
        return PROVIDER != null;
    }

    /** The key re-made as the native provider's own, so it is parsed into BoringSSL once, not per signature. */
    static PrivateKey nativePrivateKey(PrivateKey key) throws GeneralSecurityException {
        return KeyFactory.getInstance("EC", PROVIDER).generatePrivate(new PKCS8EncodedKeySpec(key.getEncoded()));
    }

    static PublicKey nativePublicKey(PublicKey key) throws GeneralSecurityException {
        return KeyFactory.getInstance("EC", PROVIDER).generatePublic(new X509EncodedKeySpec(key.getEncoded()));
    }
}
