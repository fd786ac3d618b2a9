package dev.keel.policy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import java.time.Duration;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;

/** Input built to hurt: each is refused quickly with one located error, never an exception or a hang. */
class HostileInputTest {

    private static final Duration QUICKLY = Duration.ofSeconds(5);

    private static ParseResult parseQuickly(Supplier<String> text) {
        String t = text.get();
        return assertTimeoutPreemptively(QUICKLY, () -> PolicyParser.parse("hostile.yaml", t));
    }

    @Test
    void billionLaughs() {
        StringBuilder yaml = new StringBuilder("apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\n"
                + "metadata: {name: lol}\nspec:\n  rules:\n  - from:\n    - source:\n        namespaces: &l0 [lol, lol, lol,"
                + " lol, lol, lol, lol, lol, lol, lol]\n");
        for (int i = 1; i <= 9; i++) {
            yaml.append("        notNamespaces").append(i).append(": &l").append(i).append(" [");
            for (int j = 0; j < 10; j++) {
                yaml.append(j == 0 ? "" : ", ").append("*l").append(i - 1);
            }
            yaml.append("]\n");
        }
        ParseResult result = parseQuickly(yaml::toString);
        assertThat(Fixtures.briefs(result)).isEqualTo("13: the document expands to more than 200000 values (YAML aliases"
                + " are expanded; is it an alias bomb?)");
    }

    @Test
    void tenThousandDeepFlowNesting() {
        assertThat(Fixtures.briefs(parseQuickly(() -> "a: " + "[".repeat(10_000) + "]".repeat(10_000))))
                .isEqualTo("1: nesting is deeper than 64 levels");
    }

    @Test
    void tenThousandDeepBlockNesting() {
        assertThat(Fixtures.briefs(parseQuickly(() -> "- ".repeat(10_000) + "x\n")))
                .isEqualTo("1: nesting is deeper than 64 levels");
    }

    @Test
    void tenThousandDeepJson() {
        assertThat(Fixtures.briefs(parseQuickly(() -> "[".repeat(10_000) + "]".repeat(10_000))))
                .isEqualTo("1: nesting is deeper than 64 levels");
    }

    @Test
    void deepNestingInsideAFieldThatIsNotRead() {
        String status = "apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: a}\nstatus: "
                + "{a: ".repeat(10_000) + "1" + "}".repeat(10_000) + "\n";
        assertThat(Fixtures.briefs(parseQuickly(() -> status))).isEqualTo("4: nesting is deeper than 64 levels");
    }

    @Test
    void textOverTheLimit() {
        ParseResult result = parseQuickly(() -> "#".repeat(PolicyParser.MAX_TEXT_LENGTH + 1));
        assertThat(Fixtures.briefs(result)).isEqualTo("1: the text is longer than 4194304 characters");
    }

    @Test
    void anUnknownAlias() {
        assertThat(Fixtures.briefs(parseQuickly(() -> "a: *nowhere\n"))).isEqualTo("1: unknown YAML alias \"*nowhere\"");
    }

    @Test
    void aRecursiveAliasIsUnknownWhileItsAnchorIsOpen() {
        assertThat(Fixtures.briefs(parseQuickly(() -> "a: &x [*x]\n"))).isEqualTo("1: unknown YAML alias \"*x\"");
    }

    @Test
    void errorsStopAtAHundred() {
        StringBuilder yaml = new StringBuilder("apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\n"
                + "metadata: {name: many}\nspec:\n");
        for (int i = 0; i < 50_000; i++) {
            yaml.append("  field").append(i).append(": x\n");
        }
        ParseResult result = parseQuickly(yaml::toString);
        assertThat(result.errors()).hasSize(101);
        assertThat(result.errors().get(100).message()).isEqualTo("too many errors; stopped after 100");
    }

    @Test
    void manyDocumentsOfGarbage() {
        ParseResult result = parseQuickly(() -> "- x\n---\n".repeat(100_000));
        assertThat(result.errors()).hasSize(101);
    }

    @Test
    void controlCharactersAndBadUnicode() {
        ParseResult result = parseQuickly(() -> "apiVersion: security.istio.io/v1\u0000\nkind: \uD800\n");
        assertThat(result.isOk()).isFalse();
        assertThat(result.errors().get(0).message()).startsWith("invalid YAML: ");
    }
}
