package dev.keel.agent.ca;

import dev.keel.identity.Bundle;
import dev.keel.identity.BundleJson;
import dev.keel.identity.Pem;
import dev.keel.identity.TrustDomain;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.Signature;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The node identity on disk, in the agent's data directory:
 * <dl>
 *   <dt>{@value #NODE_KEY}</dt><dd>the node's private key, PKCS#8 PEM ({@code PRIVATE KEY});</dd>
 *   <dt>{@value #NODE_SVID}</dt><dd>the node X.509-SVID, PEM certificates, leaf first, then
 *       intermediates;</dd>
 *   <dt>{@value #BUNDLE}</dt><dd>the trust domain's bundle as last received from the CA, SPIFFE bundle
 *       JSON.</dd>
 * </dl>
 * The directory is created {@code 0700}; every file is created {@code 0600} (set at creation, never
 * widened by the umask or loosened afterwards), written to a temporary file, flushed to disk and
 * renamed over the old one. The key and SVID change together: both are first written as
 * {@code *.new}, then renamed key first; {@link #loadNodeSvid()} finishes a pair that a crash left
 * half renamed, so the stored key always matches the stored certificate.
 *
 * <p>Thread-safe (one agent per directory).
 */
public final class NodeIdentityStore {

    private static final Logger log = LoggerFactory.getLogger(NodeIdentityStore.class);

    public static final String NODE_KEY = "node-key.pem";
    public static final String NODE_SVID = "node-svid.pem";
    public static final String BUNDLE = "bundle.json";

    static final Set<PosixFilePermission> FILE_MODE = PosixFilePermissions.fromString("rw-------");
    static final Set<PosixFilePermission> DIR_MODE = PosixFilePermissions.fromString("rwx------");
    private static final String PENDING = ".new";
    private static final String TEMP = ".tmp";
    private static final long MAX_FILE_BYTES = 4L * 1024 * 1024;

    private final Path dir;

    private NodeIdentityStore(Path dir) {
        this.dir = dir;
    }

    /** The store in {@code dir}, created {@code 0700} if missing. */
    public static NodeIdentityStore open(Path dir) throws IOException {
        Objects.requireNonNull(dir, "dir");
        if (!Files.isDirectory(dir)) {
            Files.createDirectories(dir, PosixFilePermissions.asFileAttribute(DIR_MODE));
        } else {
            Set<PosixFilePermission> mode = Files.getPosixFilePermissions(dir);
            if (mode.contains(PosixFilePermission.OTHERS_WRITE) || mode.contains(PosixFilePermission.GROUP_WRITE)) {
                log.warn("the agent data directory {} is writable by others ({}); expected 0700", dir,
                        PosixFilePermissions.toString(mode));
            }
        }
        return new NodeIdentityStore(dir);
    }

    public Path directory() {
        return dir;
    }

    /**
     * The stored node SVID with its key, or empty when there is none. Validity is not checked here.
     *
     * @throws IOException if the files cannot be read, are malformed, or the key does not match the
     *     certificate (the message names the file)
     */
    public synchronized Optional<NodeSvid> loadNodeSvid() throws IOException {
        recoverPendingPair();
        Path keyFile = dir.resolve(NODE_KEY);
        Path svidFile = dir.resolve(NODE_SVID);
        boolean hasKey = Files.exists(keyFile);
        boolean hasSvid = Files.exists(svidFile);
        if (!hasKey && !hasSvid) {
            return Optional.empty();
        }
        if (hasKey != hasSvid) {
            throw new IOException("agent data directory " + dir + ": " + (hasKey ? NODE_SVID : NODE_KEY)
                    + " is missing while " + (hasKey ? NODE_KEY : NODE_SVID) + " exists");
        }
        checkMode(keyFile);
        PrivateKey key = readKey(keyFile);
        List<X509Certificate> chain = readChain(svidFile);
        if (!matches(key, chain.get(0).getPublicKey())) {
            throw new IOException(keyFile + " does not hold the key of the certificate in " + svidFile);
        }
        try {
            return Optional.of(NodeSvid.of(chain, key));
        } catch (IllegalArgumentException e) {
            throw new IOException(svidFile + ": " + e.getMessage(), e);
        }
    }

    /** Replaces the stored node key and SVID, durably, before the caller starts using them. */
    public synchronized void saveNodeSvid(NodeSvid svid) throws IOException {
        Objects.requireNonNull(svid, "svid");
        Path keyPending = dir.resolve(NODE_KEY + PENDING);
        Path svidPending = dir.resolve(NODE_SVID + PENDING);
        writeAtomically(keyPending, Pem.encodePrivateKey(svid.privateKey()));
        writeAtomically(svidPending, Pem.encodeCertificates(svid.chain()));
        move(keyPending, dir.resolve(NODE_KEY));
        move(svidPending, dir.resolve(NODE_SVID));
        syncDirectory();
    }

    /** The stored bundle, or empty when there is none. */
    public synchronized Optional<Bundle> loadBundle(TrustDomain trustDomain) throws IOException {
        Path file = dir.resolve(BUNDLE);
        if (!Files.exists(file)) {
            return Optional.empty();
        }
        try {
            return Optional.of(BundleJson.parse(trustDomain, read(file)));
        } catch (IllegalArgumentException e) {
            throw new IOException(file + ": " + e.getMessage(), e);
        }
    }

    public synchronized void saveBundle(Bundle bundle) throws IOException {
        writeAtomically(dir.resolve(BUNDLE), BundleJson.encode(Objects.requireNonNull(bundle, "bundle")));
        syncDirectory();
    }

    /** Completes or discards a key and SVID pair that a crash left behind in {@code *.new} files. */
    private void recoverPendingPair() throws IOException {
        Path keyPending = dir.resolve(NODE_KEY + PENDING);
        Path svidPending = dir.resolve(NODE_SVID + PENDING);
        if (!Files.exists(svidPending)) {
            // Crashed before the pair was complete: the old pair is intact.
            Files.deleteIfExists(keyPending);
            return;
        }
        Path keySource = Files.exists(keyPending) ? keyPending : dir.resolve(NODE_KEY);
        boolean complete;
        try {
            complete = Files.exists(keySource)
                    && matches(readKey(keySource), readChain(svidPending).get(0).getPublicKey());
        } catch (IOException e) {
            complete = false;
        }
        if (complete) {
            log.info("completing the node SVID update interrupted in {}", dir);
            if (keySource == keyPending) {
                move(keyPending, dir.resolve(NODE_KEY));
            }
            move(svidPending, dir.resolve(NODE_SVID));
        } else {
            log.warn("discarding an incomplete node SVID update in {}", dir);
            Files.deleteIfExists(keyPending);
            Files.deleteIfExists(svidPending);
        }
        syncDirectory();
    }

    private static PrivateKey readKey(Path file) throws IOException {
        try {
            return Pem.decodePrivateKey(read(file));
        } catch (IllegalArgumentException e) {
            throw new IOException(file + ": " + e.getMessage(), e);
        }
    }

    private static List<X509Certificate> readChain(Path file) throws IOException {
        try {
            return Pem.decodeCertificates(read(file));
        } catch (IllegalArgumentException e) {
            throw new IOException(file + ": " + e.getMessage(), e);
        }
    }

    private static String read(Path file) throws IOException {
        if (Files.size(file) > MAX_FILE_BYTES) {
            throw new IOException(file + ": larger than " + MAX_FILE_BYTES + " bytes");
        }
        return Files.readString(file, StandardCharsets.UTF_8);
    }

    private static void checkMode(Path file) throws IOException {
        Set<PosixFilePermission> mode = Files.getPosixFilePermissions(file, LinkOption.NOFOLLOW_LINKS);
        if (!FILE_MODE.containsAll(mode)) {
            log.warn("{} has mode {} (expected: rw-------); it holds the node's private key", file,
                    PosixFilePermissions.toString(mode));
        }
    }

    /** Whether {@code key} is the private half of {@code publicKey}: sign and verify a random challenge. */
    static boolean matches(PrivateKey key, PublicKey publicKey) {
        if (!key.getAlgorithm().equals(publicKey.getAlgorithm())) {
            return false;
        }
        String algorithm = "EC".equals(key.getAlgorithm()) ? "SHA256withECDSA" : "SHA256withRSA";
        try {
            byte[] challenge = new byte[32];
            new SecureRandom().nextBytes(challenge);
            Signature signer = Signature.getInstance(algorithm);
            signer.initSign(key);
            signer.update(challenge);
            byte[] signature = signer.sign();
            Signature verifier = Signature.getInstance(algorithm);
            verifier.initVerify(publicKey);
            verifier.update(challenge);
            return verifier.verify(signature);
        } catch (GeneralSecurityException e) {
            return false;
        }
    }

    /** Writes {@code content} to a new {@code 0600} temporary file, flushes it, and renames it to {@code target}. */
    private static void writeAtomically(Path target, String content) throws IOException {
        Path temp = target.resolveSibling(target.getFileName() + TEMP);
        Files.deleteIfExists(temp);
        try {
            Files.createFile(temp, PosixFilePermissions.asFileAttribute(FILE_MODE));
        } catch (FileAlreadyExistsException e) {
            throw new IOException("cannot create " + temp + ": another process writes the agent data directory", e);
        }
        try (FileChannel channel = FileChannel.open(temp, StandardOpenOption.WRITE)) {
            ByteBuffer buffer = ByteBuffer.wrap(content.getBytes(StandardCharsets.UTF_8));
            while (buffer.hasRemaining()) {
                channel.write(buffer);
            }
            channel.force(true);
        } catch (IOException e) {
            Files.deleteIfExists(temp);
            throw e;
        }
        move(temp, target);
    }

    private static void move(Path source, Path target) throws IOException {
        try {
            Files.move(source, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
            throw new IOException("the file system of " + target + " cannot rename atomically", e);
        }
    }

    /** Makes the renames durable; best effort where the platform cannot open a directory. */
    private void syncDirectory() {
        try (FileChannel channel = FileChannel.open(dir, StandardOpenOption.READ)) {
            channel.force(true);
        } catch (IOException | UnsupportedOperationException e) {
            log.debug("cannot fsync {}: {}", dir, e.getMessage());
        }
    }
}
