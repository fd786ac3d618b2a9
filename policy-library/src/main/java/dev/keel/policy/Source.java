package dev.keel.policy;

import java.util.List;

/**
 * Istio's {@code Source}: fields AND, values within a field OR; a {@code not*} field matches when none of
 * its values do. Values support exact, prefix ({@code abc*}), suffix ({@code *abc}) and presence
 * ({@code *}) matching. {@code principals} are SPIFFE IDs without {@code spiffe://}
 * ({@code cluster.local/ns/default/sa/sleep}); {@code serviceAccounts} are {@code <namespace>/<name>} or
 * {@code <name>} (the policy's namespace). An empty list places no constraint. Immutable and thread-safe.
 */
public record Source(
        List<String> principals,
        List<String> notPrincipals,
        List<String> requestPrincipals,
        List<String> notRequestPrincipals,
        List<String> namespaces,
        List<String> notNamespaces,
        List<String> serviceAccounts,
        List<String> notServiceAccounts,
        List<String> ipBlocks,
        List<String> notIpBlocks,
        List<String> remoteIpBlocks,
        List<String> notRemoteIpBlocks) {

    public Source {
        principals = Models.list(principals, "principals");
        notPrincipals = Models.list(notPrincipals, "notPrincipals");
        requestPrincipals = Models.list(requestPrincipals, "requestPrincipals");
        notRequestPrincipals = Models.list(notRequestPrincipals, "notRequestPrincipals");
        namespaces = Models.list(namespaces, "namespaces");
        notNamespaces = Models.list(notNamespaces, "notNamespaces");
        serviceAccounts = Models.list(serviceAccounts, "serviceAccounts");
        notServiceAccounts = Models.list(notServiceAccounts, "notServiceAccounts");
        ipBlocks = Models.list(ipBlocks, "ipBlocks");
        notIpBlocks = Models.list(notIpBlocks, "notIpBlocks");
        remoteIpBlocks = Models.list(remoteIpBlocks, "remoteIpBlocks");
        notRemoteIpBlocks = Models.list(notRemoteIpBlocks, "notRemoteIpBlocks");
    }

    /** True when no field is set (Istio refuses such a source). */
    public boolean isEmpty() {
        return principals.isEmpty() && notPrincipals.isEmpty() && requestPrincipals.isEmpty()
                && notRequestPrincipals.isEmpty() && namespaces.isEmpty() && notNamespaces.isEmpty()
                && serviceAccounts.isEmpty() && notServiceAccounts.isEmpty() && ipBlocks.isEmpty()
                && notIpBlocks.isEmpty() && remoteIpBlocks.isEmpty() && notRemoteIpBlocks.isEmpty();
    }
}
