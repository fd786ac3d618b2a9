package dev.keel.policy.internal;

import dev.keel.policy.PolicyError;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The errors of one object (one policy, or one item of a {@code List}), with the positions of its fields.
 * The binder reports what is wrong in the text ({@link #at}) and marks those paths failed; the validator
 * then reports broken rules ({@link #error}) except where a failed path already explains them, so one
 * mistake gives one error and independent mistakes each give theirs.
 */
final class Problems {

    /** Errors kept per file; past this, reading stops, so hostile input cannot make the list (or the time) grow. */
    static final int MAX_ERRORS = 100;

    private final String sourceName;
    private final int documentIndex;
    private final String prefix;
    private final List<PolicyError> sink;
    private final Map<String, Loc> locations = new HashMap<>();
    private final List<String> failed = new ArrayList<>();
    private int count;
    private boolean overflow;

    /**
     * @param prefix the object's path in the document ({@code items[2]} inside a List), or empty
     * @param sink   where the errors go, shared by a whole file
     */
    Problems(String sourceName, int documentIndex, String prefix, List<PolicyError> sink) {
        this.sourceName = sourceName;
        this.documentIndex = documentIndex;
        this.prefix = prefix;
        this.sink = sink;
    }

    /** Remembers where a field is (the first time only). */
    void record(String path, Loc loc) {
        if (loc.line() > 0) {
            locations.putIfAbsent(path, loc);
        }
    }

    /** A problem in the text, at {@code loc}; {@code path} and everything in it count as failed. */
    void at(String path, Loc loc, String message) {
        failed(path, path, loc, message);
    }

    /** Like {@link #at}, reported at {@code path} but failing {@code failedPath} (a missing child). */
    void failed(String path, String failedPath, Loc loc, String message) {
        count++;
        if (full()) {
            overflow = true;
            return;
        }
        failed.add(failedPath);
        sink.add(new PolicyError(sourceName, loc.line(), loc.column(), documentIndex, absolute(path), message));
    }

    /** A broken rule at {@code path}, unless a failed path overlaps it. */
    void error(String path, String message) {
        if (!ok(path)) {
            return;
        }
        count++;
        if (full()) {
            overflow = true;
            return;
        }
        Loc loc = locate(path);
        sink.add(new PolicyError(sourceName, loc.line(), loc.column(), documentIndex, absolute(path), message));
    }

    /** False when {@code path}, something in it, or something containing it failed to read. */
    boolean ok(String path) {
        if (overflow) {
            return false;
        }
        for (String f : failed) {
            if (Paths.within(path, f) || Paths.within(f, path)) {
                return false;
            }
        }
        return true;
    }

    /** True when the file has more errors than are kept (the reader drops the extra one and says so). */
    boolean full() {
        return sink.size() > MAX_ERRORS;
    }

    int count() {
        return count;
    }

    Map<String, Loc> locations() {
        return locations;
    }

    /** The position of {@code path}, or of the nearest enclosing field that has one. */
    Loc locate(String path) {
        String p = path;
        while (true) {
            Loc loc = locations.get(p);
            if (loc != null) {
                return loc;
            }
            if (p.isEmpty()) {
                return Loc.NONE;
            }
            int cut = p.endsWith("\"]") ? p.lastIndexOf("[\"") : Math.max(p.lastIndexOf('.'), p.lastIndexOf('['));
            p = cut < 0 ? "" : p.substring(0, cut);
        }
    }

    private String absolute(String path) {
        if (prefix.isEmpty()) {
            return path;
        }
        if (path.isEmpty()) {
            return prefix;
        }
        return path.startsWith("[") ? prefix + path : prefix + "." + path;
    }
}
