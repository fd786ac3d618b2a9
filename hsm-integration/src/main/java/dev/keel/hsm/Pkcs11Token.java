package dev.keel.hsm;

import java.io.IOException;
import java.nio.file.Files;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.Provider;
import java.security.ProviderException;
import java.security.Security;
import java.security.cert.Certificate;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import javax.security.auth.login.LoginException;

/**
 * One token of a PKCS#11 module, reached through a SunPKCS11 provider instance and logged in as the
 * user. Shared by every key on the token (the token's login state is per process anyway).
 *
 * <p>Thread-safety: SunPKCS11 keeps its own session pool, so signing needs no lock here; login,
 * re-login and key store access are serialized on this object.
 */
final class Pkcs11Token {

    /** Keys generated through a token provider are token objects, sensitive and never extractable. */
    private static final String GENERATE_ATTRIBUTES = """
            attributes(generate, CKO_PRIVATE_KEY, *) = {
              CKA_TOKEN = true
              CKA_PRIVATE = true
              CKA_SENSITIVE = true
              CKA_EXTRACTABLE = false
            }
            attributes(generate, CKO_PUBLIC_KEY, *) = {
              CKA_TOKEN = true
            }
            """;

    private static final int MAX_SLOTS_SCANNED = 16;
    private static final AtomicInteger PROVIDERS = new AtomicInteger();
    private static final Map<String, Pkcs11Token> OPEN = new ConcurrentHashMap<>();

    private final String description;
    private final Provider provider;
    private final PinSource pinSource;
    private KeyStore keyStore;
    private int generation;

    private Pkcs11Token(String description, Provider provider, PinSource pinSource) {
        this.description = description;
        this.provider = provider;
        this.pinSource = pinSource;
    }

    /**
     * The token {@code uri} names, logged in; one instance per module and slot selection per process.
     *
     * @throws IOException if the module cannot be loaded, the slot is ambiguous, or login fails
     */
    static Pkcs11Token open(Pkcs11Uri uri) throws IOException {
        String key = uri.modulePath() + "|" + (uri.slotId().isPresent() ? "slot " + uri.slotId().getAsLong()
                : "token " + uri.token().orElse("")) + "|" + uri.pinSource();
        Pkcs11Token token = OPEN.get(key);
        if (token == null) {
            synchronized (OPEN) {
                token = OPEN.get(key);
                if (token == null) {
                    token = create(uri);
                    OPEN.put(key, token);
                }
            }
        }
        token.ensureLoggedIn();
        return token;
    }

    private static Pkcs11Token create(Pkcs11Uri uri) throws IOException {
        if (!Files.isReadable(uri.modulePath())) {
            throw new IOException("PKCS#11 module " + uri.modulePath() + ": not found or not readable");
        }
        String where = uri.token().map(t -> "token " + t).orElse("token");
        if (uri.slotId().isPresent()) {
            String slot = "slot = " + Long.toUnsignedString(uri.slotId().getAsLong());
            try {
                return new Pkcs11Token(where + " in slot " + Long.toUnsignedString(uri.slotId().getAsLong()),
                        provider(uri, slot), uri.pinSource());
            } catch (ProviderException e) {
                throw new IOException("PKCS#11 " + where + ": slot " + Long.toUnsignedString(uri.slotId().getAsLong())
                        + " of " + uri.modulePath() + " holds no initialized token (" + e.getMessage() + ")", e);
            }
        }
        // SunPKCS11 cannot select a token by label and does not expose token labels; a PIN is never
        // tried on a token that might not be the one meant (a wrong PIN counts towards a lockout).
        // So without slot-id the module must hold exactly one initialized token.
        List<Provider> found = new java.util.ArrayList<>();
        for (int index = 0; index < MAX_SLOTS_SCANNED; index++) {
            try {
                found.add(provider(uri, "slotListIndex = " + index));
            } catch (ProviderException noInitializedToken) {
                // uninitialized or absent slot
            }
        }
        if (found.isEmpty()) {
            throw new IOException("PKCS#11 " + where + ": " + uri.modulePath() + " has no initialized token");
        }
        if (found.size() > 1) {
            throw new IOException("PKCS#11 " + where + ": " + uri.modulePath() + " has " + found.size()
                    + " initialized tokens; name one with slot-id=<n> in the URI (RFC 7512)");
        }
        return new Pkcs11Token(where, found.get(0), uri.pinSource());
    }

    private static Provider provider(Pkcs11Uri uri, String slot) {
        String config = "--name = keel-" + PROVIDERS.incrementAndGet() + "\n"
                + "library = \"" + uri.modulePath() + "\"\n"
                + slot + "\n"
                + GENERATE_ATTRIBUTES;
        Provider base = Security.getProvider("SunPKCS11");
        if (base == null) {
            throw new ProviderException("the JDK's SunPKCS11 provider (module jdk.crypto.cryptoki) is not available");
        }
        return base.configure(config);
    }

    Provider provider() {
        return provider;
    }

    String description() {
        return description;
    }

    synchronized int generation() {
        return generation;
    }

    private synchronized void ensureLoggedIn() throws IOException {
        if (keyStore == null) {
            login();
        }
    }

    /** Logs in (again) and reloads the key store; a no-op if another thread did since {@code seen}. */
    synchronized void relogin(int seen) throws IOException {
        if (seen != generation) {
            return;
        }
        try {
            ((java.security.AuthProvider) provider).logout();
        } catch (LoginException | ProviderException ignored) {
            // the session may already be gone: that is why we are here
        }
        keyStore = null;
        login();
    }

    private void login() throws IOException {
        char[] pin = pinSource.read();
        try {
            KeyStore store = KeyStore.getInstance("PKCS11", provider);
            store.load(null, pin);
            keyStore = store;
            generation++;
        } catch (IOException | GeneralSecurityException | ProviderException e) {
            boolean wrongPin = e.getCause() instanceof java.security.UnrecoverableKeyException;
            throw new IOException("PKCS#11 " + description + ": login failed"
                    + (wrongPin ? " (wrong PIN from " + pinSource + ")" : " (" + rootCause(e) + ")"), e);
        } finally {
            Arrays.fill(pin, '\0');
        }
    }

    /** The private key labelled {@code label} and its certificate (holding its public key), if present. */
    synchronized KeyStore.PrivateKeyEntry entry(String label) throws IOException {
        ensureLoggedIn();
        try {
            if (!keyStore.isKeyEntry(label)) {
                return null;
            }
            PrivateKey key = (PrivateKey) keyStore.getKey(label, null);
            Certificate[] chain = keyStore.getCertificateChain(label);
            if (key == null || chain == null || chain.length == 0) {
                return null;
            }
            return new KeyStore.PrivateKeyEntry(key, chain);
        } catch (GeneralSecurityException | ProviderException e) {
            throw new IOException("PKCS#11 " + description + ": cannot read object " + label + " (" + rootCause(e) + ")", e);
        }
    }

    /** Stores {@code key}, generated on this token, under {@code label} with its holder certificate. */
    synchronized void label(String label, PrivateKey key, Certificate holder) throws IOException {
        ensureLoggedIn();
        try {
            keyStore.setKeyEntry(label, key, null, new Certificate[] {holder});
        } catch (GeneralSecurityException | ProviderException e) {
            throw new IOException("PKCS#11 " + description + ": cannot label object " + label + " (" + rootCause(e) + ")", e);
        }
    }

    static String rootCause(Throwable e) {
        Throwable root = e;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        String message = root.getMessage();
        return root.getClass().getSimpleName() + (message == null ? "" : ": " + message);
    }

    @Override
    public String toString() {
        return "Pkcs11Token{" + description + "}";
    }
}
