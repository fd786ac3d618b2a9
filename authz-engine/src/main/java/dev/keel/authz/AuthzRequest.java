package dev.keel.authz;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;

/**
 * One request (or TCP connection) to authorize, protocol-neutral: the proxy's L7 and L4 adapters build
 * it once per request and every lookup a decision needs is then a field read or a hash lookup. Built
 * through {@link #builder(Protocol)}, which does the per-request work up front: the principal is
 * stripped of {@code spiffe://} and split into namespace and service account, the host is lower-cased,
 * header names are lower-cased and duplicate headers joined with {@code ,} (as Envoy does), IP
 * addresses are parsed. The path must already be normalized ({@link PathNormalization#normalize}).
 *
 * <p>Absent attributes are null (or -1 for the port): a positive match on an absent attribute fails,
 * a negative ({@code not*}, {@code notValues}) one passes, as in Envoy. Empty strings count as absent.
 * Immutable and thread-safe.
 */
public final class AuthzRequest {

    private final Protocol protocol;
    private final String sourcePrincipal;
    private final String sourceNamespace;
    private final String sourceServiceAccount;
    private final byte[] sourceIp;
    private final byte[] remoteIp;
    private final byte[] destinationIp;
    private final int destinationPort;
    private final String sni;
    private final String method;
    private final String path;
    private final String host;
    /** Null when the headers came as a {@link RequestHeaders} view, until {@link #headers()} asks for them. */
    private Map<String, String> headers;
    private final RequestHeaders headerView;
    private final String requestPrincipal;
    private final List<String> audiences;
    private final String presenter;
    private final Map<String, Object> claims;

    private AuthzRequest(Builder b) {
        this.protocol = b.protocol;
        this.sourcePrincipal = b.sourcePrincipal;
        String ns = null;
        String sa = null;
        if (b.sourcePrincipal != null) {
            // <trust-domain>/ns/<namespace>/sa/<service-account>
            int nsAt = b.sourcePrincipal.indexOf("/ns/");
            if (nsAt >= 0) {
                int saAt = b.sourcePrincipal.indexOf("/sa/", nsAt + 4);
                if (saAt > nsAt + 4) {
                    ns = b.sourcePrincipal.substring(nsAt + 4, saAt);
                    String rest = b.sourcePrincipal.substring(saAt + 4);
                    sa = rest.isEmpty() || rest.indexOf('/') >= 0 ? null : rest;
                }
            }
        }
        this.sourceNamespace = ns;
        this.sourceServiceAccount = ns != null && sa != null ? ns + "/" + sa : null;
        this.sourceIp = b.sourceIp;
        this.remoteIp = b.remoteIp != null ? b.remoteIp : b.sourceIp;
        this.destinationIp = b.destinationIp;
        this.destinationPort = b.destinationPort;
        this.sni = b.sni;
        this.method = b.method;
        this.path = b.path;
        this.host = b.host;
        this.headerView = b.headerView;
        this.headers = b.headerView == null ? Map.copyOf(b.headers) : null;
        this.requestPrincipal = b.requestPrincipal;
        this.audiences = List.copyOf(b.audiences);
        this.presenter = b.presenter;
        this.claims = Map.copyOf(b.claims);
    }

    public static Builder builder(Protocol protocol) {
        return new Builder(protocol);
    }

    public Protocol protocol() {
        return protocol;
    }

    /** The peer's SPIFFE ID without {@code spiffe://} ({@code cluster.local/ns/default/sa/sleep}), or null (plaintext). */
    public String sourcePrincipal() {
        return sourcePrincipal;
    }

    /** The namespace in the peer's SPIFFE ID, or null. */
    public String sourceNamespace() {
        return sourceNamespace;
    }

    /** {@code <namespace>/<service-account>} from the peer's SPIFFE ID, or null. */
    public String sourceServiceAccount() {
        return sourceServiceAccount;
    }

    /** The direct peer address as bytes (4 or 16), or null. Not a copy: do not modify. */
    byte[] sourceIpBytes() {
        return sourceIp;
    }

    byte[] remoteIpBytes() {
        return remoteIp;
    }

    byte[] destinationIpBytes() {
        return destinationIp;
    }

    public String sourceIp() {
        return format(sourceIp);
    }

    /** The original client address (X-Forwarded-For, PROXY protocol); the source IP when not given. */
    public String remoteIp() {
        return format(remoteIp);
    }

    public String destinationIp() {
        return format(destinationIp);
    }

    /** The destination port, or -1. */
    public int destinationPort() {
        return destinationPort;
    }

    /** The TLS server name, or null. */
    public String sni() {
        return sni;
    }

    public String method() {
        return method;
    }

    /** The normalized path without query and fragment. */
    public String path() {
        return path;
    }

    /** The {@code :authority} / {@code Host}, lower-cased. */
    public String host() {
        return host;
    }

    /** Headers by lower-case name; duplicates joined with {@code ,}. */
    public Map<String, String> headers() {
        Map<String, String> h = headers;
        if (h == null) {
            h = Map.copyOf(headerView.toMap());
            headers = h;
        }
        return h;
    }

    /** The header {@code lowerCaseName} (duplicates joined with {@code ,}), or null: what a policy's condition reads. */
    public String header(String lowerCaseName) {
        return headerView != null ? headerView.joined(lowerCaseName) : headers.get(lowerCaseName);
    }

    /** {@code <iss>/<sub>} of the validated JWT, or null. */
    public String requestPrincipal() {
        return requestPrincipal;
    }

    public List<String> audiences() {
        return audiences;
    }

    /** The {@code azp} claim, or null. */
    public String presenter() {
        return presenter;
    }

    /** The JWT claims: values are strings, lists, nested maps; other types never match. */
    public Map<String, Object> claims() {
        return claims;
    }

    private static String format(byte[] ip) {
        if (ip == null) {
            return null;
        }
        try {
            return InetAddress.getByAddress(ip).getHostAddress();
        } catch (UnknownHostException e) {
            throw new IllegalStateException(e);
        }
    }

    @Override
    public String toString() {
        return "AuthzRequest[" + protocol + ", source=" + sourcePrincipal + "@" + sourceIp() + ", " + method + " " + host
                + path + ", port " + destinationPort + ", jwt=" + requestPrincipal + "]";
    }

    /** Parses an IPv4 or IPv6 literal without any name lookup; null when it is not one. */
    static byte[] parseIp(String s) {
        if (s == null || s.isEmpty()) {
            return null;
        }
        if (s.indexOf(':') >= 0) {
            if (!s.chars().allMatch(c -> c == ':' || c == '.' || Character.digit(c, 16) >= 0)) {
                return null;
            }
            try {
                // a literal with ':' is parsed, never looked up
                byte[] b = InetAddress.getByName(s.startsWith("[") ? s : s).getAddress();
                return b;
            } catch (UnknownHostException e) {
                return null;
            }
        }
        String[] parts = s.split("\\.", -1);
        if (parts.length != 4) {
            return null;
        }
        byte[] out = new byte[4];
        for (int i = 0; i < 4; i++) {
            String p = parts[i];
            if (p.isEmpty() || p.length() > 3 || !p.chars().allMatch(c -> c >= '0' && c <= '9')) {
                return null;
            }
            int v = Integer.parseInt(p);
            if (v > 255) {
                return null;
            }
            out[i] = (byte) v;
        }
        return out;
    }

    /** Builds one request. Not thread-safe; throws {@link IllegalArgumentException} for malformed IPs or ports. */
    public static final class Builder {
        private final Protocol protocol;
        private String sourcePrincipal;
        private byte[] sourceIp;
        private byte[] remoteIp;
        private byte[] destinationIp;
        private int destinationPort = -1;
        private String sni;
        private String method;
        private String path;
        private String host;
        private final Map<String, String> headers = new HashMap<>();
        private RequestHeaders headerView;
        private String requestPrincipal;
        private final List<String> audiences = new ArrayList<>();
        private String presenter;
        private final Map<String, Object> claims = new HashMap<>();

        Builder(Protocol protocol) {
            this.protocol = Objects.requireNonNull(protocol, "protocol");
        }

        private static String blankToNull(String s) {
            return s == null || s.isEmpty() ? null : s;
        }

        /** The peer's SPIFFE ID, with or without {@code spiffe://}. */
        public Builder sourcePrincipal(String principal) {
            String p = blankToNull(principal);
            if (p != null && p.startsWith("spiffe://")) {
                p = blankToNull(p.substring("spiffe://".length()));
            }
            this.sourcePrincipal = p;
            return this;
        }

        public Builder sourceIp(String ip) {
            this.sourceIp = ip(ip, "sourceIp");
            return this;
        }

        /**
         * The source address already parsed (4 or 16 bytes), e.g. once per connection by the proxy; not
         * copied, so it must not change afterwards.
         */
        public Builder sourceIp(byte[] address) {
            this.sourceIp = address(address, "sourceIp");
            return this;
        }

        /** As {@link #sourceIp(byte[])} for the destination address. */
        public Builder destinationIp(byte[] address) {
            this.destinationIp = address(address, "destinationIp");
            return this;
        }

        public Builder remoteIp(String ip) {
            this.remoteIp = ip(ip, "remoteIp");
            return this;
        }

        public Builder destinationIp(String ip) {
            this.destinationIp = ip(ip, "destinationIp");
            return this;
        }

        public Builder destinationPort(int port) {
            if (port < -1 || port > 65535) {
                throw new IllegalArgumentException("destinationPort: " + port + " (expected: 0-65535, or -1 for none)");
            }
            this.destinationPort = port;
            return this;
        }

        public Builder sni(String sni) {
            this.sni = blankToNull(sni);
            return this;
        }

        public Builder method(String method) {
            this.method = blankToNull(method);
            return this;
        }

        /** The path after {@link PathNormalization#normalize}; a query or fragment left in is cut off. */
        public Builder path(String normalizedPath) {
            String p = blankToNull(normalizedPath);
            if (p != null) {
                p = PathNormalization.NONE.normalize(p);
            }
            this.path = p;
            return this;
        }

        public Builder host(String host) {
            String h = blankToNull(host);
            this.host = h == null ? null : h.toLowerCase(Locale.ROOT);
            return this;
        }

        /**
         * The request's headers as a view read in place, instead of {@link #header} calls; the view must not
         * change until the decision is made.
         */
        public Builder headers(RequestHeaders view) {
            if (!headers.isEmpty()) {
                throw new IllegalStateException("headers: already given one by one");
            }
            this.headerView = Objects.requireNonNull(view, "view");
            return this;
        }

        /** Adds a header; a repeated name is joined with {@code ,}. */
        public Builder header(String name, String value) {
            Objects.requireNonNull(name, "name");
            Objects.requireNonNull(value, "value");
            if (headerView != null) {
                throw new IllegalStateException("header: the headers were given as a view");
            }
            headers.merge(name.toLowerCase(Locale.ROOT), value, (a, b) -> a + "," + b);
            return this;
        }

        public Builder requestPrincipal(String principal) {
            this.requestPrincipal = blankToNull(principal);
            return this;
        }

        public Builder audiences(List<String> audiences) {
            this.audiences.clear();
            this.audiences.addAll(audiences);
            return this;
        }

        public Builder presenter(String presenter) {
            this.presenter = blankToNull(presenter);
            return this;
        }

        /** The validated JWT's claims: strings, lists of strings, nested maps. */
        public Builder claims(Map<String, ?> claims) {
            this.claims.clear();
            claims.forEach((k, v) -> {
                if (k != null && v != null) {
                    this.claims.put(k, v);
                }
            });
            return this;
        }

        public AuthzRequest build() {
            return new AuthzRequest(this);
        }

        private static byte[] address(byte[] address, String field) {
            if (address != null && address.length != 4 && address.length != 16) {
                throw new IllegalArgumentException(field + ": " + address.length + " bytes (expected: 4 or 16)");
            }
            return address;
        }

        private static byte[] ip(String ip, String field) {
            if (ip == null || ip.isEmpty()) {
                return null;
            }
            byte[] b = parseIp(ip);
            if (b == null) {
                throw new IllegalArgumentException(field + ": \"" + ip + "\" (expected: an IPv4 or IPv6 address)");
            }
            return b;
        }
    }
}
