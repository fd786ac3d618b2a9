package dev.keel.authz;

import java.util.ArrayList;
import java.util.List;

/**
 * Istio's path templates (Operation.paths, "If a path in the list contains the {*} or {**} path template
 * operator, it will be interpreted as an Envoy Uri Template"): {@code {*}} matches exactly one non-empty
 * path segment, {@code {**}} (last operator only) zero or more characters including {@code /}. The
 * rest is literal. Matching walks the segments without allocating.
 */
final class PathTemplate {

    /** A literal piece, or {@code null} for {@code {*}}. */
    private final String[] pieces;
    private final boolean trailingGlob;
    private final String afterGlob;

    private PathTemplate(String[] pieces, boolean trailingGlob, String afterGlob) {
        this.pieces = pieces;
        this.trailingGlob = trailingGlob;
        this.afterGlob = afterGlob;
    }

    static boolean isTemplate(String v) {
        return v.contains("{*}") || v.contains("{**}");
    }

    static PathTemplate compile(String template) {
        int glob = template.indexOf("{**}");
        String head = glob >= 0 ? template.substring(0, glob) : template;
        String after = glob >= 0 ? template.substring(glob + 4) : "";
        List<String> pieces = new ArrayList<>();
        int from = 0;
        while (true) {
            int at = head.indexOf("{*}", from);
            if (at < 0) {
                pieces.add(head.substring(from));
                break;
            }
            pieces.add(head.substring(from, at));
            pieces.add(null);
            from = at + 3;
        }
        return new PathTemplate(pieces.toArray(new String[0]), glob >= 0, after);
    }

    boolean matches(String path) {
        int pos = 0;
        for (String piece : pieces) {
            if (piece == null) {
                int end = pos;
                while (end < path.length() && path.charAt(end) != '/') {
                    end++;
                }
                if (end == pos) {
                    return false;
                }
                pos = end;
            } else {
                if (!path.startsWith(piece, pos)) {
                    return false;
                }
                pos += piece.length();
            }
        }
        if (!trailingGlob) {
            return pos == path.length();
        }
        return path.length() - pos >= afterGlob.length() && path.endsWith(afterGlob);
    }
}
