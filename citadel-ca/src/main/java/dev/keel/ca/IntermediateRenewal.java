package dev.keel.ca;

import java.util.Objects;
import java.util.Optional;

/**
 * What renewing the issuing intermediate may use besides the data directory: where new keys come
 * from when the CA key is not a file ({@link SuccessorKeys}), and for a CA under an upstream authority,
 * that authority. See {@link CaDirectory#renewIntermediateIfDue(CaDirectory.LoadedCa, java.time.Clock,
 * KeyResolver, IntermediateRenewal)}.
 */
public record IntermediateRenewal(SuccessorKeys successors, Optional<UpstreamAuthority> upstream) {

    public IntermediateRenewal {
        Objects.requireNonNull(successors, "successors");
        Objects.requireNonNull(upstream, "upstream");
    }

    /** File keys made in the data directory, self-signed root: what {@link CitadelCa#renewIntermediateIfDue()} does. */
    public static IntermediateRenewal fileKeysOnly() {
        return new IntermediateRenewal(SuccessorKeys.none(), Optional.empty());
    }
}
