package dev.keel.jwt;

import static org.assertj.core.api.Assertions.assertThat;

import dev.keel.jwt.internal.AddressGuard;
import java.net.InetAddress;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class AddressGuardTest {

    @ParameterizedTest
    @ValueSource(strings = {"169.254.169.254", "169.254.0.1", "fe80::1", "fd00:ec2::254", "100.100.100.200", "0.0.0.0",
        "::", "224.0.0.1", "::169.254.169.254", "2002:a9fe:a9fe::1", "64:ff9b::a9fe:a9fe", "127.0.0.1", "::1", "0.1.2.3"})
    void refused(String address) throws Exception {
        assertThat(AddressGuard.refusal(InetAddress.getByName(address), false)).isNotNull();
    }

    @ParameterizedTest
    @ValueSource(strings = {"10.0.0.5", "192.168.1.1", "8.8.8.8", "2001:db8::1", "fd12::1", "172.16.0.1"})
    void allowed(String address) throws Exception {
        assertThat(AddressGuard.refusal(InetAddress.getByName(address), false)).isNull();
    }

    @ParameterizedTest
    @ValueSource(strings = {"127.0.0.1", "::1"})
    void loopbackWhenAllowed(String address) throws Exception {
        assertThat(AddressGuard.refusal(InetAddress.getByName(address), true)).isNull();
    }
}
