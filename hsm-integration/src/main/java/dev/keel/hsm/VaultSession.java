package dev.keel.hsm;

import io.github.jopenlibs.vault.SslConfig;
import io.github.jopenlibs.vault.Vault;
import io.github.jopenlibs.vault.VaultConfig;
import io.github.jopenlibs.vault.VaultException;
import io.github.jopenlibs.vault.json.JsonObject;
import io.github.jopenlibs.vault.response.LogicalResponse;
import java.time.Duration;
import java.util.Map;
import java.util.Objects;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A logged-in connection to Vault through vault-java-driver, shared by the Transit signer and the
 * PKI upstream authority: bounded retries of transient failures (no answer, 429, 5xx including a
 * sealed Vault's 503), one fresh AppRole login on 403, and messages that carry the HTTP status,
 * never a token, secret id or response body.
 *
 * <p>Thread-safe; a re-login is serialized.
 */
final class VaultSession {

    private static final Logger LOG = LoggerFactory.getLogger(VaultSession.class);

    /** A call failed; {@link #unavailable} tells a transient outage from a permanent refusal. */
    static final class Failure extends Exception {
        private static final long serialVersionUID = 1L;
        final boolean unavailable;
        /** Vault answered and said no (permission denied, no such key or mount, bad request). */
        final boolean refused;

        Failure(String message, boolean unavailable, Throwable cause) {
            this(message, unavailable, false, cause);
        }

        Failure(String message, boolean unavailable, boolean refused, Throwable cause) {
            super(message, cause);
            this.unavailable = unavailable;
            this.refused = refused;
        }
    }

    /**
     * The connection settings the Transit and PKI builders share, each checked as it is set;
     * {@link #open()} makes the session. Not thread-safe.
     */
    static final class Settings {
        private final String address;
        private String caPem;
        private VaultCredentials credentials;
        private Duration timeout;
        private int maxAttempts = 3;
        private Duration backoff;

        Settings(String address, Duration timeout, Duration backoff) {
            this.address = Objects.requireNonNull(address, "address");
            this.timeout = timeout;
            this.backoff = backoff;
        }

        void trustedCertificatesPem(String pem) {
            this.caPem = Objects.requireNonNull(pem, "pem");
        }

        void credentials(VaultCredentials credentials) {
            this.credentials = Objects.requireNonNull(credentials, "credentials");
        }

        void timeout(Duration timeout) {
            if (timeout.isNegative() || timeout.isZero()) {
                throw new IllegalArgumentException("timeout: " + timeout + " (expected: > 0)");
            }
            this.timeout = timeout;
        }

        void retries(int maxAttempts, Duration backoff) {
            if (maxAttempts < 1 || maxAttempts > 10) {
                throw new IllegalArgumentException("maxAttempts: " + maxAttempts + " (expected: 1..10)");
            }
            this.maxAttempts = maxAttempts;
            this.backoff = Objects.requireNonNull(backoff, "backoff");
        }

        VaultSession open() {
            if (credentials == null) {
                throw new IllegalArgumentException("credentials: missing (expected: a token or an AppRole)");
            }
            return new VaultSession(address, caPem, credentials, timeout, maxAttempts, backoff);
        }
    }

    /** A secrets engine's mount path without leading or trailing slashes. */
    static String mountPath(String mount) {
        return Objects.requireNonNull(mount, "mount").replaceAll("^/+|/+$", "");
    }

    @FunctionalInterface
    interface Call {
        LogicalResponse on(Vault vault) throws VaultException;
    }

    private final String address;
    private final String caPem;
    private final VaultCredentials credentials;
    private final Duration timeout;
    private final int maxAttempts;
    private final Duration backoff;
    private volatile Vault vault;

    VaultSession(String address, String caPem, VaultCredentials credentials, Duration timeout, int maxAttempts,
            Duration backoff) {
        this.address = Objects.requireNonNull(address, "address");
        this.caPem = caPem;
        this.credentials = Objects.requireNonNull(credentials, "credentials");
        this.timeout = Objects.requireNonNull(timeout, "timeout");
        this.maxAttempts = maxAttempts;
        this.backoff = Objects.requireNonNull(backoff, "backoff");
        if (!address.startsWith("https://")) {
            throw new IllegalArgumentException("address: " + address + " (expected: an https:// URL)");
        }
    }

    /** Reads {@code path}; returns its {@code data} object. */
    JsonObject read(String what, String path) throws Failure {
        return call(what, vault -> vault.logical().read(path));
    }

    /** Whether {@code path} can be read: false for 404, a {@link Failure} for any other error. */
    boolean exists(String what, String path) throws Failure {
        try {
            read(what, path);
            return true;
        } catch (Failure e) {
            if (e.getCause() instanceof VaultException cause && cause.getHttpStatusCode() == 404) {
                return false;
            }
            throw e;
        }
    }

    /** Writes {@code body} to {@code path}; returns the answer's {@code data} object. */
    JsonObject write(String what, String path, Map<String, Object> body) throws Failure {
        return call(what, vault -> vault.logical().write(path, body), true);
    }

    /**
     * Writes {@code body} to {@code path} for its effect: Vault answers some writes (creating or rotating a
     * Transit key) with 204 and no body, or, in newer versions, 200 and the key's description.
     */
    void post(String what, String path, Map<String, Object> body) throws Failure {
        call(what, vault -> vault.logical().write(path, body), false);
    }

    private JsonObject call(String what, Call call) throws Failure {
        return call(what, call, true);
    }

    private JsonObject call(String what, Call call, boolean dataRequired) throws Failure {
        boolean reloggedIn = false;
        VaultException last = null;
        for (int attempt = 1; attempt <= maxAttempts; attempt++) {
            try {
                return checked(call.on(client()), dataRequired).getDataObject();
            } catch (VaultException e) {
                last = e;
                int status = e.getHttpStatusCode();
                if (status == 403 && credentials.isAppRole() && !reloggedIn) {
                    reloggedIn = true;
                    relogin(what);
                    attempt--; // a fresh token is not a retry of a failed call
                    continue;
                }
                if (!isTransient(status)) {
                    throw new Failure(what + ": refused: " + describe(e), false, true, e);
                }
                LOG.warn("{}: attempt {}/{} failed: {}", what, attempt, maxAttempts, describe(e));
                if (attempt < maxAttempts) {
                    pause(what);
                }
            }
        }
        throw new Failure(what + ": unavailable after " + maxAttempts + " attempts: " + describe(last), true, last);
    }

    private Vault client() throws VaultException {
        Vault current = vault;
        if (current == null) {
            synchronized (this) {
                if (vault == null) {
                    vault = login();
                }
                current = vault;
            }
        }
        return current;
    }

    private synchronized void relogin(String what) throws Failure {
        try {
            vault = login();
        } catch (VaultException e) {
            throw new Failure(what + ": AppRole login failed: " + describe(e), isTransient(e.getHttpStatusCode()), e);
        }
    }

    private Vault login() throws VaultException {
        VaultConfig config = config(credentials.isAppRole() ? null : credentials.tokenValue());
        Vault unauthenticated = Vault.create(config, 1).withRetries(0, 0);
        if (!credentials.isAppRole()) {
            return unauthenticated;
        }
        String token = unauthenticated.auth().loginByAppRole(credentials.appRoleMount(), credentials.roleId(),
                credentials.secretId()).getAuthClientToken();
        return Vault.create(config(token), 1).withRetries(0, 0);
    }

    private VaultConfig config(String token) throws VaultException {
        int seconds = (int) Math.max(1, (timeout.toMillis() + 999) / 1000);
        VaultConfig config = new VaultConfig().address(address).engineVersion(1).openTimeout(seconds).readTimeout(seconds);
        if (token != null) {
            config.token(token);
        }
        if (caPem != null) {
            config.sslConfig(new SslConfig().pemUTF8(caPem).verify(true).build());
        }
        return config.build();
    }

    private void pause(String what) throws Failure {
        try {
            Thread.sleep(backoff.toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new Failure(what + ": interrupted while retrying", true, e);
        }
    }

    /** The driver returns some error answers (403, 404) as responses; they are errors here. */
    private static LogicalResponse checked(LogicalResponse response, boolean dataRequired) throws VaultException {
        int status = response.getRestResponse() == null ? 0 : response.getRestResponse().getStatus();
        if (status != 200 && status != 204) {
            throw new VaultException("Vault answered HTTP " + status, status);
        }
        if (dataRequired && response.getDataObject() == null) {
            throw new VaultException("Vault answered without data", 502);
        }
        return response;
    }

    /** No HTTP status (connection refused, timeout, TLS), rate limited, sealed or standby, server errors. */
    static boolean isTransient(int status) {
        return status == 0 || status == 429 || status >= 500;
    }

    /** The status and what it means; never the driver's message, which may echo a response body. */
    static String describe(VaultException e) {
        if (e == null) {
            return "no answer";
        }
        int status = e.getHttpStatusCode();
        return switch (status) {
            case 0 -> "no answer (" + rootCauseName(e) + ")";
            case 400 -> "HTTP 400 (bad request: wrong key type, parameters or credentials)";
            case 401, 403 -> "HTTP " + status + " (permission denied)";
            case 404 -> "HTTP 404 (no such key, role or mount)";
            case 429 -> "HTTP 429 (rate limited)";
            case 503 -> "HTTP 503 (Vault is sealed or in standby)";
            default -> "HTTP " + status;
        };
    }

    private static String rootCauseName(Throwable e) {
        Throwable root = e;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        return root == e ? "connection failed" : root.getClass().getSimpleName();
    }
}
