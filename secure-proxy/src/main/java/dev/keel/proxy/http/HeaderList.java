package dev.keel.proxy.http;

import io.netty.buffer.ByteBuf;
import java.nio.charset.StandardCharsets;
import dev.keel.authz.RequestHeaders;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.Predicate;

/**
 * The header fields of one HTTP message in arrival order, names lower-case. Two parallel arrays and a
 * linear search: a message carries a handful of fields, and the data path asks for few of them, so
 * this beats a hash map on both building and lookup, and it keeps the order and the duplicates a
 * proxy must forward. Not thread-safe: one message on one event loop.
 */
public final class HeaderList implements RequestHeaders {

    private String[] names;
    private String[] values;
    private int size;

    public HeaderList() {
        this(16);
    }

    public HeaderList(int capacity) {
        names = new String[Math.max(capacity, 4)];
        values = new String[names.length];
    }

    public int size() {
        return size;
    }

    /** The lower-case name of the {@code i}th field. */
    public String name(int i) {
        Objects.checkIndex(i, size);
        return names[i];
    }

    public String value(int i) {
        Objects.checkIndex(i, size);
        return values[i];
    }

    /** Appends a field; {@code lowerCaseName} must already be lower-case (HTTP/2 names are; the HTTP/1.1 parser lowers them). */
    public void add(String lowerCaseName, String value) {
        if (size == names.length) {
            names = Arrays.copyOf(names, size * 2);
            values = Arrays.copyOf(values, size * 2);
        }
        names[size] = lowerCaseName;
        values[size] = value;
        size++;
    }

    /** The first value of {@code lowerCaseName}, or null. */
    public String get(String lowerCaseName) {
        for (int i = 0; i < size; i++) {
            if (names[i].equals(lowerCaseName)) {
                return values[i];
            }
        }
        return null;
    }

    public boolean contains(String lowerCaseName) {
        return get(lowerCaseName) != null;
    }

    /** Every value of {@code lowerCaseName} in order; empty when there is none. */
    public List<String> getAll(String lowerCaseName) {
        List<String> all = null;
        for (int i = 0; i < size; i++) {
            if (names[i].equals(lowerCaseName)) {
                if (all == null) {
                    all = new ArrayList<>(2);
                }
                all.add(values[i]);
            }
        }
        return all == null ? List.of() : all;
    }

    /** The values of {@code lowerCaseName} joined with {@code ,} (as Envoy presents repeated headers), or null. */
    @Override
    public String joined(String lowerCaseName) {
        String first = null;
        StringBuilder more = null;
        for (int i = 0; i < size; i++) {
            if (names[i].equals(lowerCaseName)) {
                if (first == null) {
                    first = values[i];
                } else {
                    if (more == null) {
                        more = new StringBuilder(first);
                    }
                    more.append(',').append(values[i]);
                }
            }
        }
        return more != null ? more.toString() : first;
    }

    /** Removes every field named {@code lowerCaseName}; true when there was one. */
    public boolean remove(String lowerCaseName) {
        int before = size;
        compact(0, lowerCaseName, null);
        return size != before;
    }

    /** Removes every field whose name passes {@code nameTest}, keeping the order of the rest. */
    public void removeIf(Predicate<String> nameTest) {
        compact(0, null, nameTest);
    }

    /** Drops, from index {@code from} on, the fields named {@code name} (or passing {@code test}), keeping order. */
    private void compact(int from, String name, Predicate<String> test) {
        int w = from;
        for (int r = from; r < size; r++) {
            boolean drop = name != null ? names[r].equals(name) : test.test(names[r]);
            if (!drop) {
                names[w] = names[r];
                values[w] = values[r];
                w++;
            }
        }
        Arrays.fill(names, w, size, null);
        Arrays.fill(values, w, size, null);
        size = w;
    }

    @Override
    public Map<String, String> toMap() {
        Map<String, String> map = new HashMap<>();
        for (int i = 0; i < size; i++) {
            map.merge(names[i], values[i], (a, b) -> a + "," + b);
        }
        return map;
    }

    /** Replaces every field named {@code lowerCaseName} with one, at the place of the first. */
    public void set(String lowerCaseName, String value) {
        for (int i = 0; i < size; i++) {
            if (names[i].equals(lowerCaseName)) {
                values[i] = value;
                for (int j = i + 1; j < size; j++) {
                    if (names[j].equals(lowerCaseName)) {
                        compact(j, lowerCaseName, null);
                        break;
                    }
                }
                return;
            }
        }
        add(lowerCaseName, value);
    }

    /** Bytes of the fields as HTTP/1.1 would carry them ({@code name: value\r\n} each). */
    public int wireLength() {
        int n = 0;
        for (int i = 0; i < size; i++) {
            n += names[i].length() + values[i].length() + 4;
        }
        return n;
    }

    /** Writes {@code name: value\r\n} for every field; names and values are ISO-8859-1 as on the wire. */
    public void writeHttp1(ByteBuf out) {
        for (int i = 0; i < size; i++) {
            writeField(out, names[i], values[i]);
        }
    }

    /** Writes one {@code name: value\r\n} line. */
    public static void writeField(ByteBuf out, CharSequence name, CharSequence value) {
        out.writeCharSequence(name, StandardCharsets.ISO_8859_1);
        out.writeShort(':' << 8 | ' ');
        out.writeCharSequence(value, StandardCharsets.ISO_8859_1);
        out.writeShort('\r' << 8 | '\n');
    }

    /** Names only: values carry tokens and cookies, which must never reach a log. */
    @Override
    public String toString() {
        StringBuilder b = new StringBuilder("HeaderList[");
        for (int i = 0; i < size; i++) {
            b.append(i == 0 ? "" : ", ").append(names[i]);
        }
        return b.append(']').toString();
    }
}
