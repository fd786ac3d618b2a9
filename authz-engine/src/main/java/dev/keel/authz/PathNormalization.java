package dev.keel.authz;

import java.util.ArrayList;
import java.util.List;

/**
 * Istio's {@code MeshConfig.pathNormalization}: how the request path is normalized before policies
 * match it (Istio reference "Authorization Policy Normalization" and security best practices
 * "Understand path normalization in authorization policy"). Each option includes the ones above it:
 *
 * <ul>
 *   <li>always: the query ({@code ?...}) and the fragment ({@code #...}) are cut off; policies compare
 *       the path only (CVE-2020-8595, CVE-2021-39156);</li>
 *   <li>{@link #BASE} (the default): RFC 3986 normalization as Envoy's {@code normalize_path} does it:
 *       {@code %00} is refused, percent-encoded unreserved characters ({@code %2d %2e %30-%39 %41-%5a
 *       %5f %61-%7a %7e}) are decoded once, backslashes become slashes, {@code .} and {@code ..}
 *       segments are resolved;</li>
 *   <li>{@link #MERGE_SLASHES}: then {@code //} becomes {@code /} (CVE-2021-31920);</li>
 *   <li>{@link #DECODE_AND_MERGE_SLASHES}: first {@code %2F %2f %5C %5c} are decoded to {@code /} and
 *       {@code \} (CVE-2021-29492), then as MERGE_SLASHES.</li>
 * </ul>
 *
 * <p>Stateless and thread-safe.
 */
public enum PathNormalization {
    /** No normalization: the path as received, without query and fragment. Vulnerable to CVE-2021-31920. */
    NONE,
    /** RFC 3986 plus backslash to slash; Istio's default. */
    BASE,
    /** BASE, then adjacent slashes merged. */
    MERGE_SLASHES,
    /** Percent-encoded slashes and backslashes decoded, then MERGE_SLASHES. The strictest option. */
    DECODE_AND_MERGE_SLASHES;

    /**
     * The path policies see for the request target {@code rawPath} (origin form, as on the request
     * line or in {@code :path}), or null when the proxy must answer 400: an empty path, one that does not
     * start with {@code /} or {@code \\} (for every option but NONE), or one containing {@code %00}.
     */
    public String normalize(String rawPath) {
        if (rawPath == null) {
            return null;
        }
        int end = rawPath.length();
        for (int i = 0; i < rawPath.length(); i++) {
            char c = rawPath.charAt(i);
            if (c == '?' || c == '#') {
                end = i;
                break;
            }
        }
        String path = rawPath.substring(0, end);
        if (this == NONE) {
            return path;
        }
        if (this == DECODE_AND_MERGE_SLASHES) {
            path = decodeSlashes(path);
        }
        // "\da" is normalized to "/da" (backslashes become slashes first)
        if (path.isEmpty() || (path.charAt(0) != '/' && path.charAt(0) != '\\')) {
            return null;
        }
        path = decodeUnreservedAndBackslashes(path);
        if (path == null) {
            return null;
        }
        path = removeDotSegments(path);
        if (this == MERGE_SLASHES || this == DECODE_AND_MERGE_SLASHES) {
            path = mergeSlashes(path);
        }
        return path;
    }

    private static String decodeSlashes(String path) {
        StringBuilder b = new StringBuilder(path.length());
        for (int i = 0; i < path.length(); i++) {
            char c = path.charAt(i);
            if (c == '%' && i + 2 < path.length()) {
                char h = path.charAt(i + 1);
                char l = path.charAt(i + 2);
                if (h == '2' && (l == 'F' || l == 'f')) {
                    b.append('/');
                    i += 2;
                    continue;
                }
                if (h == '5' && (l == 'C' || l == 'c')) {
                    b.append('\\');
                    i += 2;
                    continue;
                }
            }
            b.append(c);
        }
        return b.toString();
    }

    private static String decodeUnreservedAndBackslashes(String path) {
        StringBuilder b = new StringBuilder(path.length());
        for (int i = 0; i < path.length(); i++) {
            char c = path.charAt(i);
            if (c == '\\') {
                b.append('/');
            } else if (c == '%' && i + 2 < path.length() && hex(path.charAt(i + 1)) >= 0 && hex(path.charAt(i + 2)) >= 0) {
                int v = hex(path.charAt(i + 1)) * 16 + hex(path.charAt(i + 2));
                if (v == 0) {
                    return null;
                }
                char d = (char) v;
                if (unreserved(d)) {
                    b.append(d);
                } else {
                    b.append('%').append(Character.toUpperCase(path.charAt(i + 1)))
                            .append(Character.toUpperCase(path.charAt(i + 2)));
                }
                i += 2;
            } else {
                b.append(c);
            }
        }
        return b.toString();
    }

    private static boolean unreserved(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.'
                || c == '_' || c == '~';
    }

    private static int hex(char c) {
        if (c >= '0' && c <= '9') {
            return c - '0';
        }
        if (c >= 'a' && c <= 'f') {
            return c - 'a' + 10;
        }
        if (c >= 'A' && c <= 'F') {
            return c - 'A' + 10;
        }
        return -1;
    }

    /** RFC 3986 section 5.2.4 on an absolute path; empty segments are kept. */
    static String removeDotSegments(String path) {
        String[] segments = path.substring(1).split("/", -1);
        List<String> out = new ArrayList<>(segments.length);
        for (int i = 0; i < segments.length; i++) {
            String s = segments[i];
            boolean last = i == segments.length - 1;
            if (s.equals(".")) {
                if (last) {
                    out.add("");
                }
            } else if (s.equals("..")) {
                if (!out.isEmpty()) {
                    out.remove(out.size() - 1);
                }
                if (last) {
                    out.add("");
                }
            } else {
                out.add(s);
            }
        }
        return "/" + String.join("/", out);
    }

    private static String mergeSlashes(String path) {
        StringBuilder b = new StringBuilder(path.length());
        for (int i = 0; i < path.length(); i++) {
            char c = path.charAt(i);
            if (c == '/' && b.length() > 0 && b.charAt(b.length() - 1) == '/') {
                continue;
            }
            b.append(c);
        }
        return b.toString();
    }
}
