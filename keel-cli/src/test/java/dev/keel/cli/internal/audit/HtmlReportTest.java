package dev.keel.cli.internal.audit;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class HtmlReportTest {

    @Test
    void embedsTheJsonSoThatNoValueCanCloseTheScript() {
        String html = HtmlReport.render("{\"trustDomain\":\"</script><script>alert(1)</script>\",\"c\":\"<!--\"}");
        assertThat(html).contains("<\\/script><script>alert(1)<\\/script>").contains("<\\!--");
        // Exactly the page's own two script elements end.
        assertThat(html.split("</script>", -1)).hasSize(3);
        // Self-contained: nothing is loaded from anywhere (the SVG namespace URI is a name, not a fetch).
        assertThat(html).doesNotContain("src=", "href=", "<link", "@import").contains("id=\"report-data\"");
    }
}
