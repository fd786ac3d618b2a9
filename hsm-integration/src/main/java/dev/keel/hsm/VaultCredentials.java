package dev.keel.hsm;

import java.util.Objects;

/**
 * How Keel authenticates to Vault: a token, or an AppRole (role id and secret id) that is exchanged
 * for a token at {@code auth/<mount>/login} and again when Vault says the token is no longer good.
 * {@link #toString()} never shows the token or the secret id.
 *
 * <p>Immutable and thread-safe.
 */
public final class VaultCredentials {

    private final String token;
    private final String roleId;
    private final String secretId;
    private final String appRoleMount;

    private VaultCredentials(String token, String roleId, String secretId, String appRoleMount) {
        this.token = token;
        this.roleId = roleId;
        this.secretId = secretId;
        this.appRoleMount = appRoleMount;
    }

    /** A Vault token ({@code X-Vault-Token}). */
    public static VaultCredentials token(String token) {
        Objects.requireNonNull(token, "token");
        if (token.isBlank()) {
            throw new IllegalArgumentException("token: empty (expected: a Vault token)");
        }
        return new VaultCredentials(token, null, null, null);
    }

    /** AppRole at the default mount {@code approle}. */
    public static VaultCredentials appRole(String roleId, String secretId) {
        return appRole("approle", roleId, secretId);
    }

    /** AppRole at {@code auth/<mount>}. */
    public static VaultCredentials appRole(String mount, String roleId, String secretId) {
        Objects.requireNonNull(mount, "mount");
        Objects.requireNonNull(roleId, "roleId");
        Objects.requireNonNull(secretId, "secretId");
        if (roleId.isBlank() || secretId.isBlank()) {
            throw new IllegalArgumentException("appRole: role id and secret id must not be empty");
        }
        return new VaultCredentials(null, roleId, secretId, mount);
    }

    boolean isAppRole() {
        return roleId != null;
    }

    String tokenValue() {
        return token;
    }

    String roleId() {
        return roleId;
    }

    String secretId() {
        return secretId;
    }

    String appRoleMount() {
        return appRoleMount;
    }

    @Override
    public String toString() {
        return isAppRole() ? "VaultCredentials{appRole at auth/" + appRoleMount + ", secret id redacted}"
                : "VaultCredentials{token redacted}";
    }
}
