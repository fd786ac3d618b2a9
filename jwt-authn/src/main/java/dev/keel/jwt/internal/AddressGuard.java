package dev.keel.jwt.internal;

import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.Arrays;

/**
 * Which addresses a JWKS fetch may connect to: never unspecified, link-local (169.254.0.0/16, fe80::/10,
 * where cloud metadata services live), multicast, or a known metadata address, including IPv4 addresses
 * embedded in IPv6 (compatible, 6to4, NAT64); loopback only when allowed. The SSRF class of
 * CVE-2026-41413: a policy author must not make the proxy read its node's credentials. Stateless.
 */
public final class AddressGuard {

    private static final byte[][] METADATA = {
        {100, 100, 100, (byte) 200},   // Alibaba Cloud
        {(byte) 192, 0, 0, (byte) 192}, // Oracle Cloud (legacy)
    };

    private AddressGuard() {
    }

    /** Why {@code address} is refused, or null when a fetch may go there. */
    public static String refusal(InetAddress address, boolean allowLoopback) {
        if (address instanceof Inet6Address) {
            byte[] b = address.getAddress();
            if (isAwsV6(b)) {
                return "cloud metadata address";
            }
            byte[] embedded = embeddedV4(b);
            if (embedded != null) {
                try {
                    String inner = refusal(InetAddress.getByAddress(embedded), false);
                    if (inner != null) {
                        return inner + " (embedded in IPv6)";
                    }
                } catch (UnknownHostException impossible) {
                    return "unparseable address";
                }
            }
        }
        if (address.isAnyLocalAddress()) {
            return "unspecified address";
        }
        if (address.isLinkLocalAddress()) {
            return "link-local address (cloud metadata lives there)";
        }
        if (address.isMulticastAddress()) {
            return "multicast address";
        }
        if (address.isLoopbackAddress() && !allowLoopback) {
            return "loopback address";
        }
        if (address instanceof Inet4Address) {
            byte[] b = address.getAddress();
            if (b[0] == 0) {
                return "address in 0.0.0.0/8";
            }
            for (byte[] metadata : METADATA) {
                if (Arrays.equals(b, metadata)) {
                    return "cloud metadata address";
                }
            }
        }
        return null;
    }

    private static boolean isAwsV6(byte[] b) {
        // fd00:ec2::254
        byte[] aws = new byte[16];
        aws[0] = (byte) 0xfd;
        aws[2] = 0x0e;
        aws[3] = (byte) 0xc2;
        aws[14] = 0x02;
        aws[15] = 0x54;
        return Arrays.equals(b, aws);
    }

    private static byte[] embeddedV4(byte[] b) {
        boolean zeroPrefix = true;
        for (int i = 0; i < 12; i++) {
            zeroPrefix &= b[i] == 0;
        }
        if (zeroPrefix && (b[12] | b[13] | b[14]) != 0) {
            return Arrays.copyOfRange(b, 12, 16); // IPv4-compatible ::a.b.c.d
        }
        if (b[0] == 0x20 && b[1] == 0x02) {
            return Arrays.copyOfRange(b, 2, 6); // 6to4 2002:AABB:CCDD::/48
        }
        if (b[0] == 0 && b[1] == 0x64 && b[2] == (byte) 0xff && b[3] == (byte) 0x9b) {
            return Arrays.copyOfRange(b, 12, 16); // NAT64 64:ff9b::/96
        }
        return null;
    }
}
