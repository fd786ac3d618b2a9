package dev.keel.identity;

import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.spec.ECGenParameterSpec;
import java.security.spec.RSAKeyGenParameterSpec;
import java.util.Objects;

/** Generates key pairs of the {@link KeyType}s Keel accepts, with the JDK's providers. */
public final class KeyPairs {

    private KeyPairs() {
    }

    public static KeyPair generate(KeyType type) {
        Objects.requireNonNull(type, "type");
        try {
            KeyPairGenerator generator;
            switch (type.family()) {
                case EC:
                    generator = KeyPairGenerator.getInstance("EC");
                    generator.initialize(new ECGenParameterSpec(type == KeyType.EC_P256 ? "secp256r1" : "secp384r1"));
                    break;
                case RSA:
                    generator = KeyPairGenerator.getInstance("RSA");
                    generator.initialize(new RSAKeyGenParameterSpec(type.bits(), RSAKeyGenParameterSpec.F4));
                    break;
                default:
                    throw new IllegalArgumentException("type: " + type);
            }
            return generator.generateKeyPair();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("cannot generate a " + type + " key pair", e);
        }
    }
}
