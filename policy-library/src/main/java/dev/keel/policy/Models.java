package dev.keel.policy;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/** Defensive copies for the records: immutable, no nulls, insertion order kept. */
final class Models {

    private Models() {
    }

    static <T> List<T> list(List<T> list, String name) {
        return List.copyOf(Objects.requireNonNull(list, name));
    }

    static <K, V> Map<K, V> map(Map<K, V> map, String name) {
        Objects.requireNonNull(map, name);
        Map<K, V> copy = new LinkedHashMap<>();
        map.forEach((k, v) -> copy.put(Objects.requireNonNull(k, name + " key"),
                Objects.requireNonNull(v, name + " value")));
        return Collections.unmodifiableMap(copy);
    }
}
