package dev.keel.identity.internal;

import java.math.BigDecimal;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A small strict RFC 8259 JSON reader and writer, so identity-core needs no JSON library.
 *
 * <p>Values map to: object = {@code Map<String, Object>} (insertion order, unmodifiable), array =
 * {@code List<Object>} (unmodifiable), string = {@link String}, number = {@link BigDecimal}, true and
 * false = {@link Boolean}, null = {@link #NULL}. The reader refuses what lenient parsers accept and an
 * attacker could use to make two parsers disagree: duplicate member names, lone surrogates, control
 * characters in strings, leading zeros, trailing commas, trailing content. Thread-safe (stateless).
 */
public final class Json {

    /** The JSON {@code null} value (Java null is never returned, so a missing member stays distinguishable). */
    public static final Object NULL = new Object() {
        @Override
        public String toString() {
            return "null";
        }
    };

    // Keeps BigDecimal's integer conversions cheap: 1e999999999 would otherwise allocate a huge BigInteger.
    private static final int MAX_EXPONENT = 1000;

    private Json() {
    }

    /**
     * Parses one JSON value.
     *
     * @param maxDepth the deepest nesting of arrays and objects accepted (the top level is depth 1)
     * @param maxLength the longest input accepted, in chars
     * @throws JsonException with the offset of the first error
     */
    public static Object parse(String text, int maxDepth, int maxLength) {
        if (text.length() > maxLength) {
            throw new JsonException("input of " + text.length() + " chars (expected: <= " + maxLength + ")", maxLength);
        }
        Reader reader = new Reader(text, maxDepth);
        reader.skipWhitespace();
        Object value = reader.value(0);
        reader.skipWhitespace();
        if (reader.pos < text.length()) {
            throw reader.error("unexpected " + reader.describe(reader.pos) + " after the value");
        }
        return value;
    }

    /**
     * Writes {@code value} compactly. Accepts maps with string keys, lists, strings, numbers
     * ({@link BigDecimal}, {@link BigInteger}, {@link Long}, {@link Integer}), booleans and {@link #NULL}.
     */
    public static String write(Object value) {
        StringBuilder out = new StringBuilder();
        write(value, out);
        return out.toString();
    }

    private static void write(Object value, StringBuilder out) {
        if (value instanceof String) {
            writeString((String) value, out);
        } else if (value instanceof Map) {
            out.append('{');
            boolean first = true;
            for (Map.Entry<?, ?> e : ((Map<?, ?>) value).entrySet()) {
                if (!(e.getKey() instanceof String)) {
                    throw new IllegalArgumentException("JSON object key: " + e.getKey() + " (expected: a string)");
                }
                if (!first) {
                    out.append(',');
                }
                first = false;
                writeString((String) e.getKey(), out);
                out.append(':');
                write(e.getValue(), out);
            }
            out.append('}');
        } else if (value instanceof List) {
            out.append('[');
            boolean first = true;
            for (Object element : (List<?>) value) {
                if (!first) {
                    out.append(',');
                }
                first = false;
                write(element, out);
            }
            out.append(']');
        } else if (value instanceof BigDecimal) {
            out.append(((BigDecimal) value).toString());
        } else if (value instanceof BigInteger || value instanceof Long || value instanceof Integer) {
            out.append(value);
        } else if (value instanceof Boolean || value == NULL) {
            out.append(value);
        } else {
            throw new IllegalArgumentException("JSON value of type "
                    + (value == null ? "null (use Json.NULL)" : value.getClass().getName()) + " is not supported");
        }
    }

    private static void writeString(String s, StringBuilder out) {
        out.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"':
                    out.append("\\\"");
                    break;
                case '\\':
                    out.append("\\\\");
                    break;
                case '\n':
                    out.append("\\n");
                    break;
                case '\r':
                    out.append("\\r");
                    break;
                case '\t':
                    out.append("\\t");
                    break;
                default:
                    if (c < 0x20) {
                        out.append(String.format("\\u%04x", (int) c));
                    } else if (Character.isSurrogate(c)) {
                        if (Character.isHighSurrogate(c) && i + 1 < s.length() && Character.isLowSurrogate(s.charAt(i + 1))) {
                            out.append(c).append(s.charAt(++i));
                        } else {
                            throw new IllegalArgumentException("JSON string: lone surrogate at index " + i);
                        }
                    } else {
                        out.append(c);
                    }
            }
        }
        out.append('"');
    }

    /** The value as a long, if it is an integer that fits; otherwise null. */
    public static Long longValue(BigDecimal number) {
        try {
            return number.stripTrailingZeros().scale() <= 0 ? number.longValueExact() : null;
        } catch (ArithmeticException e) {
            return null;
        }
    }

    private static final class Reader {
        private final String text;
        private final int maxDepth;
        private int pos;

        Reader(String text, int maxDepth) {
            this.text = text;
            this.maxDepth = maxDepth;
        }

        Object value(int depth) {
            if (pos >= text.length()) {
                throw error("unexpected end of input (expected: a value)");
            }
            char c = text.charAt(pos);
            switch (c) {
                case '{':
                    return object(depth + 1);
                case '[':
                    return array(depth + 1);
                case '"':
                    return string();
                case 't':
                    return literal("true", Boolean.TRUE);
                case 'f':
                    return literal("false", Boolean.FALSE);
                case 'n':
                    return literal("null", NULL);
                default:
                    if (c == '-' || (c >= '0' && c <= '9')) {
                        return number();
                    }
                    throw error("unexpected " + describe(pos) + " (expected: a value)");
            }
        }

        private Map<String, Object> object(int depth) {
            checkDepth(depth);
            pos++;
            Map<String, Object> members = new LinkedHashMap<>();
            skipWhitespace();
            if (peek() == '}') {
                pos++;
                return Collections.unmodifiableMap(members);
            }
            while (true) {
                skipWhitespace();
                if (peek() != '"') {
                    throw error("unexpected " + describe(pos) + " (expected: a member name)");
                }
                int nameOffset = pos;
                String name = string();
                skipWhitespace();
                expect(':');
                skipWhitespace();
                Object value = value(depth);
                if (members.putIfAbsent(name, value) != null) {
                    throw new JsonException("duplicate member name \"" + abbreviate(name) + "\"", nameOffset);
                }
                skipWhitespace();
                char c = peek();
                pos++;
                if (c == '}') {
                    return Collections.unmodifiableMap(members);
                }
                if (c != ',') {
                    pos--;
                    throw error("unexpected " + describe(pos) + " (expected: ',' or '}')");
                }
            }
        }

        private List<Object> array(int depth) {
            checkDepth(depth);
            pos++;
            List<Object> elements = new ArrayList<>();
            skipWhitespace();
            if (peek() == ']') {
                pos++;
                return Collections.unmodifiableList(elements);
            }
            while (true) {
                skipWhitespace();
                elements.add(value(depth));
                skipWhitespace();
                char c = peek();
                pos++;
                if (c == ']') {
                    return Collections.unmodifiableList(elements);
                }
                if (c != ',') {
                    pos--;
                    throw error("unexpected " + describe(pos) + " (expected: ',' or ']')");
                }
            }
        }

        private String string() {
            pos++;
            StringBuilder sb = new StringBuilder();
            while (true) {
                if (pos >= text.length()) {
                    throw error("unterminated string");
                }
                char c = text.charAt(pos);
                if (c == '"') {
                    pos++;
                    return sb.toString();
                }
                if (c < 0x20) {
                    throw error("unescaped control character U+" + String.format("%04X", (int) c) + " in a string");
                }
                if (c == '\\') {
                    escape(sb);
                    continue;
                }
                if (Character.isHighSurrogate(c) && pos + 1 < text.length() && Character.isLowSurrogate(text.charAt(pos + 1))) {
                    sb.append(c).append(text.charAt(pos + 1));
                    pos += 2;
                    continue;
                }
                if (Character.isSurrogate(c)) {
                    throw error("lone surrogate in a string");
                }
                sb.append(c);
                pos++;
            }
        }

        private void escape(StringBuilder sb) {
            int start = pos;
            pos++;
            if (pos >= text.length()) {
                throw error("unterminated string");
            }
            char c = text.charAt(pos++);
            switch (c) {
                case '"':
                case '\\':
                case '/':
                    sb.append(c);
                    return;
                case 'b':
                    sb.append('\b');
                    return;
                case 'f':
                    sb.append('\f');
                    return;
                case 'n':
                    sb.append('\n');
                    return;
                case 'r':
                    sb.append('\r');
                    return;
                case 't':
                    sb.append('\t');
                    return;
                case 'u':
                    char unit = hex4(start);
                    if (Character.isHighSurrogate(unit)) {
                        if (text.startsWith("\\u", pos)) {
                            int lowStart = pos;
                            pos += 2;
                            char low = hex4(lowStart);
                            if (Character.isLowSurrogate(low)) {
                                sb.append(unit).append(low);
                                return;
                            }
                        }
                        throw new JsonException("high surrogate escape not followed by a low surrogate escape", start);
                    }
                    if (Character.isLowSurrogate(unit)) {
                        throw new JsonException("lone low surrogate escape", start);
                    }
                    sb.append(unit);
                    return;
                default:
                    throw new JsonException("invalid escape '\\" + printable(c) + "'", start);
            }
        }

        private char hex4(int escapeStart) {
            if (pos + 4 > text.length()) {
                throw new JsonException("truncated \\u escape", escapeStart);
            }
            int v = 0;
            for (int i = 0; i < 4; i++) {
                int d = Character.digit(text.charAt(pos + i), 16);
                if (d < 0 || text.charAt(pos + i) > 'f') {
                    throw new JsonException("invalid \\u escape (expected: 4 hex digits)", escapeStart);
                }
                v = v << 4 | d;
            }
            pos += 4;
            return (char) v;
        }

        private BigDecimal number() {
            int start = pos;
            if (peek() == '-') {
                pos++;
            }
            if (peek() == '0') {
                pos++;
                if (isDigit(peek())) {
                    throw error("leading zero in a number");
                }
            } else if (isDigit(peek())) {
                digits();
            } else {
                throw error("unexpected " + describe(pos) + " (expected: a digit)");
            }
            if (peek() == '.') {
                pos++;
                if (!isDigit(peek())) {
                    throw error("unexpected " + describe(pos) + " (expected: a digit after '.')");
                }
                digits();
            }
            if (peek() == 'e' || peek() == 'E') {
                pos++;
                if (peek() == '+' || peek() == '-') {
                    pos++;
                }
                if (!isDigit(peek())) {
                    throw error("unexpected " + describe(pos) + " (expected: a digit in the exponent)");
                }
                digits();
            }
            BigDecimal value;
            try {
                value = new BigDecimal(text.substring(start, pos));
            } catch (NumberFormatException e) {
                throw new JsonException("number out of range", start);
            }
            if (Math.abs((long) value.precision() - value.scale()) > MAX_EXPONENT) {
                throw new JsonException("number magnitude beyond 1e" + MAX_EXPONENT, start);
            }
            return value;
        }

        private void digits() {
            while (isDigit(peek())) {
                pos++;
            }
        }

        private static boolean isDigit(char c) {
            return c >= '0' && c <= '9';
        }

        private Object literal(String word, Object value) {
            if (!text.startsWith(word, pos)) {
                throw error("unexpected " + describe(pos) + " (expected: a value)");
            }
            pos += word.length();
            return value;
        }

        private void checkDepth(int depth) {
            if (depth > maxDepth) {
                throw error("nesting deeper than " + maxDepth);
            }
        }

        private void expect(char c) {
            if (peek() != c) {
                throw error("unexpected " + describe(pos) + " (expected: '" + c + "')");
            }
            pos++;
        }

        /** The char at pos, or 0 at the end (0 is never valid where peek is used, so it reads as an error). */
        private char peek() {
            return pos < text.length() ? text.charAt(pos) : 0;
        }

        void skipWhitespace() {
            while (pos < text.length()) {
                char c = text.charAt(pos);
                if (c != ' ' && c != '\t' && c != '\n' && c != '\r') {
                    return;
                }
                pos++;
            }
        }

        String describe(int at) {
            return at >= text.length() ? "end of input" : "character '" + printable(text.charAt(at)) + "'";
        }

        JsonException error(String message) {
            return new JsonException(message, pos);
        }
    }

    private static String printable(char c) {
        return c < 0x20 || c > 0x7e ? String.format("\\u%04x", (int) c) : String.valueOf(c);
    }

    private static String abbreviate(String s) {
        return s.length() <= 40 ? s : s.substring(0, 37) + "...";
    }
}
