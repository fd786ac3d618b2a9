package dev.keel.agent;

import java.util.Objects;

/**
 * One fact about a workload, as SPIRE writes it: {@code type:value}, where the type names the
 * attestor ({@code unix}, {@code k8s}) and the value may itself contain colons
 * ({@code unix:uid:1000}, {@code k8s:pod-label:app:web}). Compared exactly, case included.
 */
public record Selector(String type, String value) {

    /** Longest selector accepted; bounds what an entry file or a CA answer can make the agent hold. */
    public static final int MAX_LENGTH = 512;

    public Selector {
        Objects.requireNonNull(type, "type");
        Objects.requireNonNull(value, "value");
        if (type.isEmpty() || !type.chars().allMatch(c -> c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '-')) {
            throw new IllegalArgumentException("selector type '" + type + "': expected lowercase letters, digits, '-' or '_'");
        }
        if (value.isEmpty()) {
            throw new IllegalArgumentException("selector " + type + ": empty value");
        }
        if (type.length() + 1 + value.length() > MAX_LENGTH) {
            throw new IllegalArgumentException("selector " + type + ": longer than " + MAX_LENGTH + " characters");
        }
        if (value.chars().anyMatch(c -> c < 0x20 || c == 0x7f)) {
            throw new IllegalArgumentException("selector " + type + ": control character in value");
        }
    }

    /** Parses {@code type:value}; the first colon separates them. */
    public static Selector parse(String text) {
        Objects.requireNonNull(text, "text");
        int colon = text.indexOf(':');
        if (colon <= 0 || colon == text.length() - 1) {
            throw new IllegalArgumentException("selector '" + abbreviate(text) + "': expected type:value, e.g. unix:uid:1000");
        }
        return new Selector(text.substring(0, colon), text.substring(colon + 1));
    }

    public static Selector of(String type, String value) {
        return new Selector(type, value);
    }

    @Override
    public String toString() {
        return type + ":" + value;
    }

    private static String abbreviate(String s) {
        return s.length() <= 80 ? s : s.substring(0, 77) + "...";
    }
}
