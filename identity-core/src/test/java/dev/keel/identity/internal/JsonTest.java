package dev.keel.identity.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.math.BigDecimal;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class JsonTest {

    private static Object parse(String text) {
        return Json.parse(text, 16, 1 << 20);
    }

    @Test
    void parsesAllValueTypes() {
        Object value = parse(" {\"s\":\"x\",\"n\":-12.5e1,\"i\":0,\"t\":true,\"f\":false,\"z\":null,"
                + "\"a\":[1,[],{}],\"o\":{\"k\":\"v\"}}\r\n\t");

        assertThat(value).isInstanceOf(Map.class);
        @SuppressWarnings("unchecked")
        Map<String, Object> map = (Map<String, Object>) value;
        assertThat(map.keySet()).containsExactly("s", "n", "i", "t", "f", "z", "a", "o");
        assertThat(map.get("s")).isEqualTo("x");
        assertThat(map.get("n")).isEqualTo(new BigDecimal("-12.5e1"));
        assertThat(map.get("i")).isEqualTo(BigDecimal.ZERO);
        assertThat(map.get("t")).isEqualTo(true);
        assertThat(map.get("f")).isEqualTo(false);
        assertThat(map.get("z")).isSameAs(Json.NULL);
        assertThat(map.get("a")).isEqualTo(List.of(BigDecimal.ONE, List.of(), Map.of()));
        assertThat(map.get("o")).isEqualTo(Map.of("k", "v"));
        assertThatThrownBy(() -> map.put("x", "y"))
                .isInstanceOf(UnsupportedOperationException.class);
    }

    @Test
    void decodesEscapesAndSurrogatePairs() {
        assertThat(parse("\"\\\" \\\\ \\/ \\b \\f \\n \\r \\t \\u00e9 \\u20AC \\ud83d\\ude00 😀\""))
                .isEqualTo("\" \\ / \b \f \n \r \t é € 😀 😀");
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', quoteCharacter = '`', value = {
            "``|unexpected end of input (expected: a value) at offset 0",
            "`  `|unexpected end of input (expected: a value) at offset 2",
            "`{`|unexpected end of input (expected: a member name) at offset 1",
            "`{\"a\" 1}`|unexpected character '1' (expected: ':') at offset 5",
            "`{\"a\":1,}`|unexpected character '}' (expected: a member name) at offset 7",
            "`{\"a\":1 \"b\":2}`|unexpected character '\"' (expected: ',' or '}') at offset 7",
            "`{a:1}`|unexpected character 'a' (expected: a member name) at offset 1",
            "`{\"a\":1,\"a\":2}`|duplicate member name \"a\" at offset 7",
            "`[1,]`|unexpected character ']' (expected: a value) at offset 3",
            "`[1 2]`|unexpected character '2' (expected: ',' or ']') at offset 3",
            "`[1`|unexpected end of input (expected: ',' or ']') at offset 2",
            "`01`|leading zero in a number at offset 1",
            "`-`|unexpected end of input (expected: a digit) at offset 1",
            "`1.`|unexpected end of input (expected: a digit after '.') at offset 2",
            "`1e`|unexpected end of input (expected: a digit in the exponent) at offset 2",
            "`.5`|unexpected character '.' (expected: a value) at offset 0",
            "`+1`|unexpected character '+' (expected: a value) at offset 0",
            "`1e1001`|number magnitude beyond 1e1000 at offset 0",
            "`NaN`|unexpected character 'N' (expected: a value) at offset 0",
            "`tru`|unexpected character 't' (expected: a value) at offset 0",
            "`nul`|unexpected character 'n' (expected: a value) at offset 0",
            "`\"abc`|unterminated string at offset 4",
            "`\"a\\x\"`|invalid escape '\\x' at offset 2",
            "`\"\\u12zz\"`|invalid \\u escape (expected: 4 hex digits) at offset 1",
            "`\"\\u12`|truncated \\u escape at offset 1",
            "`\"\\ud83d\"`|high surrogate escape not followed by a low surrogate escape at offset 1",
            "`\"\\ud83d\\u0041\"`|high surrogate escape not followed by a low surrogate escape at offset 1",
            "`\"\\ude00\"`|lone low surrogate escape at offset 1",
            "`{} {}`|unexpected character '{' after the value at offset 3",
            "`[1] x`|unexpected character 'x' after the value at offset 4",
            "`\"\\uD83D\\uDE0`|truncated \\u escape at offset 7",
    })
    void reportsErrorsWithOffsets(String text, String message) {
        assertThatThrownBy(() -> parse(text)).isInstanceOf(JsonException.class).hasMessage("JSON: " + message);
    }

    @Test
    void rejectsControlCharactersAndLoneSurrogatesInStrings() {
        assertThatThrownBy(() -> parse("\"a\nb\"")).isInstanceOf(JsonException.class)
                .hasMessage("JSON: unescaped control character U+000A in a string at offset 2");
        assertThatThrownBy(() -> parse("\"a\ud83db\"")).isInstanceOf(JsonException.class)
                .hasMessage("JSON: lone surrogate in a string at offset 2");
        assertThatThrownBy(() -> parse("\"\\u００41\"")).isInstanceOf(JsonException.class)
                .hasMessageContaining("4 hex digits");
        assertThatThrownBy(() -> parse("\u00a0{}")).isInstanceOf(JsonException.class)
                .hasMessage("JSON: unexpected character '\\u00a0' (expected: a value) at offset 0");
    }

    @Test
    void enforcesDepthAndSizeLimits() {
        assertThat(Json.parse("[[[1]]]", 3, 100)).isEqualTo(List.of(List.of(List.of(BigDecimal.ONE))));
        assertThatThrownBy(() -> Json.parse("[[[[1]]]]", 3, 100)).isInstanceOf(JsonException.class)
                .hasMessage("JSON: nesting deeper than 3 at offset 3");
        assertThatThrownBy(() -> Json.parse("{\"a\":{\"b\":{\"c\":{}}}}", 3, 100)).isInstanceOf(JsonException.class)
                .hasMessageContaining("nesting deeper than 3");
        assertThatThrownBy(() -> Json.parse("[" + "1,".repeat(100) + "1]", 3, 100)).isInstanceOf(JsonException.class)
                .hasMessage("JSON: input of 203 chars (expected: <= 100) at offset 100");
        String deep = "[".repeat(100_000);
        assertThatThrownBy(() -> Json.parse(deep, 64, 1 << 20)).isInstanceOf(JsonException.class)
                .hasMessageContaining("nesting deeper than 64");
    }

    @Test
    void writesCompactJsonThatReadsBack() {
        Map<String, Object> value = new LinkedHashMap<>();
        value.put("s", "quote\" backslash\\ newline\n tab\t ctl\u0001 é 😀 </script>");
        value.put("n", List.of(1L, 2, new BigDecimal("3.50"), java.math.BigInteger.TEN));
        value.put("b", true);
        value.put("z", Json.NULL);
        value.put("o", Map.of());

        String json = Json.write(value);

        assertThat(json).isEqualTo("{\"s\":\"quote\\\" backslash\\\\ newline\\n tab\\t ctl\\u0001 é 😀 </script>\","
                + "\"n\":[1,2,3.50,10],\"b\":true,\"z\":null,\"o\":{}}");
        Map<?, ?> back = (Map<?, ?>) parse(json);
        assertThat(back.get("s")).isEqualTo(value.get("s"));
        assertThat(back.get("z")).isSameAs(Json.NULL);
    }

    @Test
    void writerRefusesWhatJsonCannotHold() {
        assertThatThrownBy(() -> Json.write(List.of(1.5d))).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("java.lang.Double");
        assertThatThrownBy(() -> Json.write(java.util.Collections.singletonList(null)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("use Json.NULL");
        assertThatThrownBy(() -> Json.write("a\ud800")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("lone surrogate");
        assertThatThrownBy(() -> Json.write(Map.of(1, 2))).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("expected: a string");
    }

    @Test
    void longValueAcceptsOnlyIntegersThatFit() {
        assertThat(Json.longValue(new BigDecimal("42"))).isEqualTo(42L);
        assertThat(Json.longValue(new BigDecimal("4.2e1"))).isEqualTo(42L);
        assertThat(Json.longValue(new BigDecimal("42.0"))).isEqualTo(42L);
        assertThat(Json.longValue(new BigDecimal("9223372036854775807"))).isEqualTo(Long.MAX_VALUE);
        assertThat(Json.longValue(new BigDecimal("9223372036854775808"))).isNull();
        assertThat(Json.longValue(new BigDecimal("4.5"))).isNull();
        assertThat(Json.longValue(new BigDecimal("1e1000"))).isNull();
    }
}
