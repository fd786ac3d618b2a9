package dev.keel.ca.node;

import java.util.Objects;

/**
 * The pod a node agent says a workload runs in (Kubernetes mode), as the agent sent it. Nothing in
 * it is trusted: {@link #check()} validates its shape, and a {@link PodVerifier} asks the Kubernetes
 * API whether it is true.
 *
 * @param uid {@code metadata.uid}, so a pod deleted and re-created under the same name is not
 *     mistaken for the one the agent attested
 */
public record PodReference(String namespace, String name, String uid) {

    public PodReference {
        Objects.requireNonNull(namespace, "namespace");
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(uid, "uid");
    }

    /**
     * Checks the Kubernetes naming rules: namespace a DNS label (at most 63 characters), name a DNS
     * subdomain (at most 253), uid at most 128 letters, digits and dashes.
     *
     * @throws IllegalArgumentException {@code "kubernetes_pod.<field>: ..."} naming the rule
     */
    public PodReference check() {
        if (namespace.isEmpty() || namespace.length() > 63 || !dns(namespace, false)) {
            throw new IllegalArgumentException("kubernetes_pod.namespace: \"" + NodeIds.abbreviate(namespace)
                    + "\" is not a Kubernetes namespace (expected: a DNS label, lowercase letters, digits and '-')");
        }
        if (name.isEmpty() || name.length() > 253 || !dns(name, true)) {
            throw new IllegalArgumentException("kubernetes_pod.name: \"" + NodeIds.abbreviate(name)
                    + "\" is not a pod name (expected: lowercase letters, digits, '-' and '.', at most 253)");
        }
        if (uid.isEmpty() || uid.length() > 128
                || !uid.chars().allMatch(c -> c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-')) {
            throw new IllegalArgumentException("kubernetes_pod.uid: empty or not a Kubernetes uid "
                    + "(expected: the pod's metadata.uid)");
        }
        return this;
    }

    private static boolean dns(String s, boolean dots) {
        char first = s.charAt(0);
        char last = s.charAt(s.length() - 1);
        if (!alnum(first) || !alnum(last)) {
            return false;
        }
        return s.chars().allMatch(c -> alnum((char) c) || c == '-' || dots && c == '.');
    }

    private static boolean alnum(char c) {
        return c >= 'a' && c <= 'z' || c >= '0' && c <= '9';
    }

    @Override
    public String toString() {
        return namespace + "/" + name + " (uid " + uid + ")";
    }
}
