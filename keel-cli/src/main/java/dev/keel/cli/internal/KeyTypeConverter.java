package dev.keel.cli.internal;

import dev.keel.identity.KeyType;
import java.util.Locale;
import picocli.CommandLine;

/** {@code ec-p256}, {@code ec-p384}, {@code rsa-2048}, {@code rsa-3072}, {@code rsa-4096}. */
public final class KeyTypeConverter implements CommandLine.ITypeConverter<KeyType> {

    @Override
    public KeyType convert(String value) {
        try {
            return KeyType.valueOf(value.trim().toUpperCase(Locale.ROOT).replace('-', '_'));
        } catch (IllegalArgumentException e) {
            throw new CommandLine.TypeConversionException("key type: \"" + value
                    + "\" (expected: ec-p256, ec-p384, rsa-2048, rsa-3072 or rsa-4096)");
        }
    }
}
