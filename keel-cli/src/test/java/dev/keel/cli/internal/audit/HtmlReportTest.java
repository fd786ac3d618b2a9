package dev.keel.cli.internal.audit;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class HtmlReportTest {

    @Test
    void embedsTheJsonSoThatNoValueCanCloseTheScript() throws Exception {
        String html = HtmlReport.render("{\"trustDomain\":\"</script><script>alert(1)</script>\",\"c\":\"<!--\"}");
        assertThat(html).doesNotContain("<script>alert").doesNotContain("\"<!--");
        // Exactly the page's own two script elements end.
        assertThat(html.split("</script>", -1)).hasSize(3);
        // Self-contained: nothing is loaded from anywhere (the SVG namespace URI is a name, not a fetch).
        assertThat(html).doesNotContain("src=", "href=", "<link", "@import").contains("id=\"report-data\"");
        // And what the page's script parses is exactly the report.
        String embedded = html.substring(html.indexOf("id=\"report-data\">") + "id=\"report-data\">".length());
        embedded = embedded.substring(0, embedded.indexOf("</script>"));
        assertThat(new com.fasterxml.jackson.databind.ObjectMapper().readTree(embedded))
                .isEqualTo(new com.fasterxml.jackson.databind.ObjectMapper().readTree(
                        "{\"trustDomain\":\"</script><script>alert(1)</script>\",\"c\":\"<!--\"}"));
    }
}
