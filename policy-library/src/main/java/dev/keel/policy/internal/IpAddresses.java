package dev.keel.policy.internal;

/**
 * IP addresses and CIDR blocks exactly as Istio accepts them: its validation
 * ({@code pkg/config/security.ValidateIPs}) uses Go's {@code netip.ParsePrefix} for values with a '/'
 * and {@code netip.ParseAddr} otherwise. Both are strict: IPv4 is four decimal fields without leading
 * zeros, IPv6 is at most eight groups of up to four hex digits with one "::" and an optional embedded
 * IPv4 tail, a prefix length is decimal without sign or leading zero, at most 32 or 128. Host bits may be
 * set ({@code 10.0.0.1/8}). One deviation: an IPv6 zone ({@code fe80::1%eth0}), which {@code ParseAddr}
 * accepts, is refused here, since a zone can never match a peer address.
 */
final class IpAddresses {

    private IpAddresses() {
    }

    /** Null when {@code value} is a valid single IP or CIDR block, else the message. */
    static String checkIpOrCidr(String value) {
        if (value.indexOf('/') >= 0) {
            String reason = prefixError(value);
            return reason == null ? null : Paths.quote(value) + " is not a CIDR (" + reason + ")";
        }
        String reason = addressError(value);
        return reason == null ? null : Paths.quote(value) + " is not an IP address (" + reason + ")";
    }

    /** Null when valid, else why not, for a CIDR block such as {@code 10.0.0.0/8}. */
    static String prefixError(String s) {
        int slash = s.lastIndexOf('/');
        String address = s.substring(0, slash);
        String bits = s.substring(slash + 1);
        String reason = addressError(address);
        if (reason != null) {
            return "bad address " + Paths.quote(address) + ": " + reason;
        }
        int max = address.indexOf(':') >= 0 ? 128 : 32;
        if (bits.isEmpty() || bits.length() > 3 || (bits.length() > 1 && bits.charAt(0) == '0')) {
            return "bad prefix length " + Paths.quote(bits);
        }
        for (int i = 0; i < bits.length(); i++) {
            if (bits.charAt(i) < '0' || bits.charAt(i) > '9') {
                return "bad prefix length " + Paths.quote(bits);
            }
        }
        int n = Integer.parseInt(bits);
        if (n > max) {
            return "prefix length " + n + " is out of range 0.." + max;
        }
        return null;
    }

    /** Null when valid, else why not, for a single IPv4 or IPv6 address. */
    static String addressError(String s) {
        if (s.isEmpty()) {
            return "empty address";
        }
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '.') {
                return ipv4Error(s);
            }
            if (c == ':') {
                return ipv6Error(s);
            }
            if (c == '%') {
                return "missing IPv6 address";
            }
        }
        return "unable to parse IP";
    }

    private static String ipv4Error(String s) {
        int fields = 0;
        int value = 0;
        int digits = 0;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c >= '0' && c <= '9') {
                if (digits == 1 && value == 0) {
                    return "IPv4 field has octet with leading zero";
                }
                value = value * 10 + (c - '0');
                digits++;
                if (value > 255) {
                    return "IPv4 field has value >255";
                }
            } else if (c == '.') {
                if (i == 0 || i == s.length() - 1 || s.charAt(i - 1) == '.') {
                    return "IPv4 field must have at least one digit";
                }
                if (fields == 3) {
                    return "IPv4 address too long";
                }
                fields++;
                value = 0;
                digits = 0;
            } else {
                return "unexpected character in IPv4 address";
            }
        }
        return fields < 3 ? "IPv4 address too short" : null;
    }

    /** Go's {@code parseIPv6}, without zones. */
    private static String ipv6Error(String in) {
        if (in.indexOf('%') >= 0) {
            return "IPv6 zones are not supported";
        }
        String s = in;
        int ellipsis = -1;
        if (s.length() >= 2 && s.charAt(0) == ':' && s.charAt(1) == ':') {
            ellipsis = 0;
            s = s.substring(2);
            if (s.isEmpty()) {
                return null;
            }
        }
        int i = 0;
        while (i < 16) {
            int off = 0;
            int acc = 0;
            for (; off < s.length(); off++) {
                int d = hexValue(s.charAt(off));
                if (d < 0) {
                    break;
                }
                if (off > 3) {
                    return "each colon-separated field must have at most 4 hex digits";
                }
                acc = (acc << 4) + d;
            }
            if (off == 0) {
                return "each colon-separated field must have at least one digit";
            }
            if (off < s.length() && s.charAt(off) == '.') {
                if (ellipsis < 0 && i != 12) {
                    return "embedded IPv4 address must replace the final 2 fields of the address";
                }
                if (i + 4 > 16) {
                    return "too many hex fields to fit an embedded IPv4 at the end of the address";
                }
                String reason = ipv4Error(s);
                if (reason != null) {
                    return reason;
                }
                s = "";
                i += 4;
                break;
            }
            i += 2;
            s = s.substring(off);
            if (s.isEmpty()) {
                break;
            }
            if (s.charAt(0) != ':') {
                return "unexpected character, want colon";
            }
            if (s.length() == 1) {
                return "colon must be followed by more characters";
            }
            s = s.substring(1);
            if (s.charAt(0) == ':') {
                if (ellipsis >= 0) {
                    return "multiple :: in address";
                }
                ellipsis = i;
                s = s.substring(1);
                if (s.isEmpty()) {
                    break;
                }
            }
        }
        if (!s.isEmpty()) {
            return "trailing garbage after address";
        }
        if (i < 16) {
            if (ellipsis < 0) {
                return "address string too short";
            }
        } else if (ellipsis >= 0) {
            return "the :: must expand to at least one field of zeros";
        }
        return null;
    }

    private static int hexValue(char c) {
        if (c >= '0' && c <= '9') {
            return c - '0';
        }
        if (c >= 'a' && c <= 'f') {
            return c - 'a' + 10;
        }
        if (c >= 'A' && c <= 'F') {
            return c - 'A' + 10;
        }
        return -1;
    }
}
