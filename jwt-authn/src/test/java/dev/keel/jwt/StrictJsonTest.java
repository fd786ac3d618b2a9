package dev.keel.jwt;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.keel.jwt.internal.StrictJson;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class StrictJsonTest {

    @Test
    void parsesEveryJsonType() {
        Map<String, Object> map = StrictJson.parseObject(
                " {\"s\":\"a\\\"b\\\\c\\u00e9\\n\", \"i\":-42, \"big\":123456789012345678901, \"d\":1.5e2, \"t\":true,"
                        + " \"f\":false, \"n\":null, \"a\":[1,[2],{}], \"o\":{\"x\":{}}} ");
        assertThat(map).containsEntry("s", "a\"b\\c\u00e9\n").containsEntry("i", -42L).containsEntry("d", 150.0)
                .containsEntry("t", true).containsEntry("f", false).containsEntry("n", null)
                .containsEntry("a", List.of(1L, List.of(2L), Map.of())).containsEntry("o", Map.of("x", Map.of()));
        assertThat(map.get("big")).isInstanceOf(Double.class);
        assertThat(map.keySet()).containsExactly("s", "i", "big", "d", "t", "f", "n", "a", "o");
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "[]", "\"x\"", "{", "{\"a\"}", "{\"a\":1,}", "{\"a\":01}", "{\"a\":1}x", "{\"a\":1,\"a\":2}",
        "{'a':1}", "{\"a\":\"\u0001\"}", "{\"a\":\"\\x\"}", "{\"a\":\"\\u12\"}", "{\"a\":tru}", "{\"a\":-}", "{\"a\":1.}",
        "{\"a\":1e}", "{\"a\":[1 2]}", "{\"a\":\"unterminated}", "{\"a\":1e999}", "{a:1}"})
    void refusesWhatIsNotStrictJson(String text) {
        assertThatThrownBy(() -> StrictJson.parseObject(text)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void limitsNesting() {
        char[] open = new char[StrictJson.MAX_DEPTH];
        char[] close = new char[StrictJson.MAX_DEPTH];
        Arrays.fill(open, '[');
        Arrays.fill(close, ']');
        assertThat(StrictJson.parseObject("{\"a\":" + new String(open, 0, 31) + new String(close, 0, 31) + "}")).containsKey("a");
        assertThatThrownBy(() -> StrictJson.parseObject("{\"a\":" + new String(open) + new String(close) + "}"))
                .hasMessageContaining("nested");
        assertThatThrownBy(() -> StrictJson.parseObject("{\"a\":" + "[".repeat(100_000) + "}"))
                .isInstanceOf(IllegalArgumentException.class);
    }
}
