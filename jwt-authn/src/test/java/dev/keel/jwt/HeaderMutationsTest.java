package dev.keel.jwt;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class HeaderMutationsTest {

    @Test
    void sanitizeDropsControlsAndWhatTruncatesToThem() {
        assertThat(HeaderMutations.sanitize("alice\r\nset-cookie: x")).isEqualTo("aliceset-cookie: x");
        assertThat(HeaderMutations.sanitize("a\u010Ab\u010Dc\u0000d\u0085e")).isEqualTo("abcde");
        assertThat(HeaderMutations.sanitize("  Jos\u00e9\tM\u00fcller  ")).isEqualTo("Jos\u00e9\tM\u00fcller");
    }
}
