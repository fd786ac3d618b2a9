package dev.keel.proxy.identity;

import dev.keel.identity.Bundle;
import dev.keel.identity.BundleSource;
import dev.keel.identity.InvalidPemException;
import dev.keel.identity.Pem;
import dev.keel.identity.SpiffeId;
import dev.keel.identity.TrustDomain;
import dev.keel.identity.X509Svid;
import dev.keel.identity.X509SvidValidationException;
import dev.keel.identity.X509SvidVerifier;
import dev.keel.proxy.IdentitySource;
import dev.keel.proxy.ProxyConfig.FileIdentity;
import dev.keel.proxy.X509Material;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.security.GeneralSecurityException;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.Signature;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The proxy's identity from PEM files: its X.509-SVID chain and key, and the trust bundle of its
 * trust domain. Everything is checked before it is used, as an SVID from the node agent is: the chain
 * is a valid X.509-SVID that verifies against the bundle at the current time, the key belongs to the
 * leaf, and the trust domain is the configured one. {@link #open} fails when the files do not pass;
 * afterwards the files are checked every {@code refreshInterval} and a changed set that passes
 * replaces the material (listeners are told), while one that does not is logged and ignored, so a
 * half-written rotation never reaches the TLS contexts. Error messages name the file and never
 * contain key material.
 *
 * <p>Thread-safe; listeners are called on the refresh thread, one at a time.
 */
public final class FileIdentitySource implements IdentitySource, AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(FileIdentitySource.class);

    private final FileIdentity files;
    private final Clock clock;
    private final List<Consumer<X509Material>> listeners = new CopyOnWriteArrayList<>();
    private final ScheduledExecutorService refresher;
    private volatile X509Material material;
    /** The file versions of the last attempt, good or bad: an unchanged bad set is not retried or logged again. */
    private List<Object> attempted;

    private FileIdentitySource(FileIdentity files, Clock clock, boolean watch) {
        this.files = files;
        this.clock = clock;
        this.refresher = watch ? Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "keel-file-identity");
            t.setDaemon(true);
            return t;
        }) : null;
    }

    /**
     * Reads and checks the files now, then watches them.
     *
     * @throws IllegalArgumentException naming the file and the problem when the files do not make a valid identity
     */
    public static FileIdentitySource open(FileIdentity files) {
        return open(files, Clock.systemUTC(), true);
    }

    /** As {@link #open(FileIdentity)}, checking validity at {@code clock}'s time; {@code watch} false: no refresh thread. */
    public static FileIdentitySource open(FileIdentity files, Clock clock, boolean watch) {
        FileIdentitySource source = new FileIdentitySource(Objects.requireNonNull(files, "files"),
                Objects.requireNonNull(clock, "clock"), watch);
        synchronized (source) {
            source.attempted = source.versions();
            source.material = read(files, clock);
        }
        if (watch) {
            long every = files.refreshInterval().toMillis();
            source.refresher.scheduleWithFixedDelay(source::refresh, every, every, TimeUnit.MILLISECONDS);
        }
        return source;
    }

    /**
     * Reads and checks the files once.
     *
     * @throws IllegalArgumentException naming the file and the problem
     */
    public static X509Material read(FileIdentity files, Clock clock) {
        List<X509Certificate> chain = certificates(files.certificateChain(), "certificateChain");
        PrivateKey key;
        try {
            key = Pem.decodePrivateKey(text(files.privateKey(), "privateKey"));
        } catch (InvalidPemException e) {
            throw new IllegalArgumentException("identity.privateKey " + files.privateKey() + ": " + e.getMessage(), e);
        }
        List<X509Certificate> authorities = certificates(files.trustBundle(), "trustBundle");

        SpiffeId id;
        try {
            id = X509Svid.of(chain).spiffeId();
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("identity.certificateChain " + files.certificateChain() + ": "
                    + e.getMessage(), e);
        }
        TrustDomain td = id.trustDomain();
        if (files.trustDomain().isPresent() && !files.trustDomain().get().equals(td)) {
            throw new IllegalArgumentException("identity.certificateChain " + files.certificateChain() + ": SPIFFE ID " + id
                    + " is not in trust domain " + files.trustDomain().get().name() + " (identity.trustDomain)");
        }
        Bundle bundle = Bundle.of(td, authorities);
        try {
            X509SvidVerifier.create(BundleSource.of(bundle), clock).verify(chain);
        } catch (X509SvidValidationException e) {
            throw new IllegalArgumentException("identity.certificateChain " + files.certificateChain()
                    + ": does not verify against identity.trustBundle " + files.trustBundle() + ": " + e.getMessage(), e);
        }
        if (!keyMatches(key, chain.get(0))) {
            throw new IllegalArgumentException("identity.privateKey " + files.privateKey()
                    + ": not the key of the leaf certificate in identity.certificateChain " + files.certificateChain());
        }
        return new X509Material(id, chain, key, Map.of(td, bundle));
    }

    @Override
    public Optional<X509Material> current() {
        return Optional.of(material);
    }

    @Override
    public AutoCloseable subscribe(Consumer<X509Material> listener) {
        Objects.requireNonNull(listener, "listener");
        listeners.add(listener);
        return () -> listeners.remove(listener);
    }

    /**
     * Re-reads the files if any changed since the last attempt; true when new material is in use.
     * Called by the refresh thread; callable directly (tests, a SIGHUP handler).
     */
    public synchronized boolean refresh() {
        List<Object> now = versions();
        if (now.equals(attempted)) {
            return false;
        }
        attempted = now;
        X509Material next;
        try {
            next = read(files, clock);
        } catch (RuntimeException e) {
            LOG.warn("identity files changed but do not make a valid identity; keeping {}: {}", material, e.getMessage());
            return false;
        }
        if (next.equals(material)) {
            return false;
        }
        material = next;
        LOG.info("identity reloaded from files: {}", next);
        for (Consumer<X509Material> listener : listeners) {
            try {
                listener.accept(next);
            } catch (RuntimeException e) {
                LOG.error("an identity listener failed", e);
            }
        }
        return true;
    }

    @Override
    public void close() {
        if (refresher != null) {
            refresher.shutdownNow();
        }
        listeners.clear();
    }

    /** Size and modification time of each file (missing: null), which any rewrite changes in practice. */
    private List<Object> versions() {
        return List.of(version(files.certificateChain()), version(files.privateKey()), version(files.trustBundle()));
    }

    private static Object version(Path file) {
        try {
            BasicFileAttributes a = Files.readAttributes(file, BasicFileAttributes.class);
            return List.of(a.size(), a.lastModifiedTime(), String.valueOf(a.fileKey()));
        } catch (IOException e) {
            return List.of();
        }
    }

    private static String text(Path file, String field) {
        try {
            return Files.readString(file);
        } catch (NoSuchFileException e) {
            throw new IllegalArgumentException("identity." + field + " " + file + ": no such file", e);
        } catch (IOException e) {
            throw new IllegalArgumentException("identity." + field + " " + file + ": unreadable: " + e, e);
        }
    }

    private static List<X509Certificate> certificates(Path file, String field) {
        List<X509Certificate> certificates;
        try {
            certificates = Pem.decodeCertificates(text(file, field));
        } catch (InvalidPemException e) {
            throw new IllegalArgumentException("identity." + field + " " + file + ": " + e.getMessage(), e);
        }
        if (certificates.isEmpty()) {
            throw new IllegalArgumentException("identity." + field + " " + file + ": no CERTIFICATE block");
        }
        return certificates;
    }

    /** Signs a random challenge with the key and verifies it with the leaf's public key. */
    private static boolean keyMatches(PrivateKey key, X509Certificate leaf) {
        String type = leaf.getPublicKey().getAlgorithm();
        String algorithm = switch (type) {
            case "EC" -> "SHA256withECDSA";
            case "RSA" -> "SHA256withRSA";
            default -> null;
        };
        if (algorithm == null || !type.equals(key.getAlgorithm())) {
            return false;
        }
        try {
            byte[] challenge = new byte[32];
            new SecureRandom().nextBytes(challenge);
            Signature signer = Signature.getInstance(algorithm);
            signer.initSign(key);
            signer.update(challenge);
            byte[] signature = signer.sign();
            Signature verifier = Signature.getInstance(algorithm);
            verifier.initVerify(leaf.getPublicKey());
            verifier.update(challenge);
            return verifier.verify(signature);
        } catch (GeneralSecurityException e) {
            return false;
        }
    }
}
