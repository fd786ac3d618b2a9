package dev.keel.policy;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.nio.charset.StandardCharsets;

/**
 * Jazzer on the text-to-model path. Whatever the bytes, {@link PolicyParser#parse} returns: a result
 * whose policies all pass {@link PolicyValidator}, or errors that are located and worded; never an
 * exception, never a hang. {@code mvn verify} runs the seeds in {@code PolicyParserFuzzTestInputs/parse}
 * (regression mode); {@code JAZZER_FUZZ=1 mvn -Dtest=PolicyParserFuzzTest test} fuzzes for
 * {@code maxDuration}.
 */
class PolicyParserFuzzTest {

    @FuzzTest(maxDuration = "2m")
    void parse(byte[] data) {
        String text = new String(data, StandardCharsets.UTF_8);
        ParseResult result = PolicyParser.parse("fuzz.yaml", text);
        if (result.isOk()) {
            for (IstioPolicy policy : result.policies()) {
                assertThat(PolicyValidator.validate(policy)).as("parsed, so valid: %s", policy).isEmpty();
            }
        } else {
            assertThat(result.errors()).allSatisfy(e -> {
                assertThat(e.message()).isNotBlank();
                assertThat(e.line()).isBetween(0, text.length() + 1);
                assertThat(e.documentIndex()).isNotNegative();
            });
            assertThat(result.errors()).hasSizeLessThanOrEqualTo(101);
        }
    }
}
