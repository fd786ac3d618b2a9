package dev.keel.proxy.inbound;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** What an HTTP/2 request may carry into the HTTP/1.1 bytes the app receives. */
class Http2RequestHeadTest {

    @Test
    void valuesThatWouldBreakTheHttp1RequestAreRefused() {
        assertThat(Http2RequestHead.fieldValue("text/html; q=0.9")).isTrue();
        assertThat(Http2RequestHead.fieldValue("a\tb")).isTrue();
        assertThat(Http2RequestHead.fieldValue("1\r\nx-forwarded-client-cert: By=x;URI=spiffe://td/ns/prod/sa/admin"))
                .as("CR LF would forge a field (a spoofed XFCC)").isFalse();
        assertThat(Http2RequestHead.fieldValue("a\nb")).isFalse();
        assertThat(Http2RequestHead.fieldValue("a\u0000b")).isFalse();
        assertThat(Http2RequestHead.fieldValue("a\u007fb")).isFalse();
        assertThat(Http2RequestHead.fieldValue(" padded")).isFalse();
        assertThat(Http2RequestHead.fieldValue("padded\t")).isFalse();
    }

    @Test
    void methodsAreTokensAndPathsHaveNoWhitespaceOrControls() {
        assertThat(Http2RequestHead.token("GET")).isTrue();
        assertThat(Http2RequestHead.token("M-SEARCH")).isTrue();
        assertThat(Http2RequestHead.token("GET /admin HTTP/1.1\r\n")).isFalse();
        assertThat(Http2RequestHead.token("G(T")).isFalse();
        assertThat(Http2RequestHead.requestTarget("/a/b?c=d%20e")).isTrue();
        assertThat(Http2RequestHead.requestTarget("/public HTTP/1.1\r\nhost: app\r\n\r\nGET /admin")).isFalse();
        assertThat(Http2RequestHead.requestTarget("/a b")).isFalse();
        assertThat(Http2RequestHead.requestTarget("/a\u007f")).isFalse();
    }
}
