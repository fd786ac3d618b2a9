package dev.keel.identity;

import java.util.Arrays;
import java.util.Objects;

/**
 * One PEM block: its label ({@code CERTIFICATE}, {@code PRIVATE KEY}, ...) and the DER bytes it
 * carries. Immutable (the bytes are copied in and out) and thread-safe. {@link #toString()} shows
 * the label and length only, never the bytes, since a block may hold a private key.
 */
public final class PemBlock {

    private final String type;
    private final byte[] der;

    private PemBlock(String type, byte[] der) {
        this.type = type;
        this.der = der;
    }

    /**
     * A block of {@code type} (upper-case letters, digits and single spaces, as RFC 7468 labels are)
     * holding {@code der}.
     */
    public static PemBlock of(String type, byte[] der) {
        Objects.requireNonNull(type, "type");
        Objects.requireNonNull(der, "der");
        if (!Pem.isValidLabel(type)) {
            throw new IllegalArgumentException("type: \"" + type
                    + "\" (expected: upper-case letters, digits and single spaces, e.g. CERTIFICATE)");
        }
        if (der.length == 0) {
            throw new IllegalArgumentException("der: empty (expected: at least one byte)");
        }
        return new PemBlock(type, der.clone());
    }

    /** The label between {@code -----BEGIN } and {@code -----}. */
    public String type() {
        return type;
    }

    /** A copy of the DER bytes. */
    public byte[] der() {
        return der.clone();
    }

    /** The number of DER bytes. */
    public int length() {
        return der.length;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof PemBlock && ((PemBlock) o).type.equals(type) && Arrays.equals(((PemBlock) o).der, der);
    }

    @Override
    public int hashCode() {
        return 31 * type.hashCode() + Arrays.hashCode(der);
    }

    @Override
    public String toString() {
        return "PemBlock{type=" + type + ", " + der.length + " bytes}";
    }
}
