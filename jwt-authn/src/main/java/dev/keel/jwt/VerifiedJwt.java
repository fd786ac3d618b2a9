package dev.keel.jwt;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;

/**
 * A JWT whose signature and claims were verified: what authorization sees as {@code request.auth.*}.
 * Claims are JSON values as Java objects ({@code String}, {@code Number}, {@code Boolean},
 * {@code List}, {@code Map}), unmodifiable all the way down. Immutable and thread-safe.
 *
 * @param principal    Istio's {@code request.auth.principal}: {@code iss/sub} for RequestAuthentication, the
 *                     SPIFFE ID for a JWT-SVID
 * @param issuer       {@code iss}, or empty
 * @param subject      {@code sub}, or empty
 * @param audiences    {@code aud} as a list (a single string becomes one element)
 * @param presenter    {@code azp}, or empty
 * @param claims       the whole payload
 * @param expiresAt    {@code exp}, if the token has one
 * @param tokenHash    hex of the first 8 bytes of the token's SHA-256: what logs may name it by
 * @param listClaims   claims read as space-delimited lists when they are strings ({@code scope},
 *                     {@code permission} and the rule's {@code spaceDelimitedClaims})
 */
public record VerifiedJwt(String principal, String issuer, String subject, List<String> audiences, Optional<String> presenter,
        Map<String, Object> claims, Optional<Instant> expiresAt, String tokenHash, Set<String> listClaims) {

    public VerifiedJwt {
        Objects.requireNonNull(principal, "principal");
        Objects.requireNonNull(issuer, "issuer");
        Objects.requireNonNull(subject, "subject");
        audiences = List.copyOf(audiences);
        Objects.requireNonNull(presenter, "presenter");
        Objects.requireNonNull(claims, "claims");
        Objects.requireNonNull(expiresAt, "expiresAt");
        Objects.requireNonNull(tokenHash, "tokenHash");
        listClaims = Set.copyOf(listClaims);
    }

    /** The claim at {@code path} ({@code ["groups"]}, {@code ["realm_access", "roles"]}), if present. */
    public Optional<Object> claim(List<String> path) {
        Object node = claims;
        for (String key : path) {
            if (!(node instanceof Map)) {
                return Optional.empty();
            }
            node = ((Map<?, ?>) node).get(key);
            if (node == null) {
                return Optional.empty();
            }
        }
        return Optional.of(node);
    }

    /** The claim at {@code path}, a top-level claim if {@code path} has no dot, else nested at each dot. */
    public Optional<Object> claim(String dottedPath) {
        Object direct = claims.get(dottedPath);
        return direct != null ? Optional.of(direct) : claim(List.of(dottedPath.split("\\.", -1)));
    }

    /**
     * The string values a {@code request.auth.claims[...]} condition matches against: a string is one value
     * (or its space-separated parts for a list claim), a number or boolean its JSON text, a list each of its
     * scalar elements; objects and absent claims give none.
     */
    public List<String> claimValues(List<String> path) {
        Optional<Object> value = claim(path);
        if (value.isEmpty()) {
            return List.of();
        }
        boolean spaceDelimited = path.size() == 1 && listClaims.contains(path.get(0));
        List<String> out = new ArrayList<>();
        addValues(value.get(), spaceDelimited, out, true);
        return out;
    }

    private static void addValues(Object value, boolean spaceDelimited, List<String> out, boolean top) {
        if (value instanceof String) {
            String s = (String) value;
            if (spaceDelimited) {
                for (String part : s.split(" ")) {
                    if (!part.isEmpty()) {
                        out.add(part);
                    }
                }
            } else {
                out.add(s);
            }
        } else if (value instanceof Number || value instanceof Boolean) {
            out.add(String.valueOf(value));
        } else if (value instanceof List && top) {
            for (Object element : (List<?>) value) {
                addValues(element, false, out, false);
            }
        }
    }

    @Override
    public String toString() {
        return "VerifiedJwt{principal=" + principal() + ", audiences=" + audiences + ", token=" + tokenHash + "}";
    }
}
