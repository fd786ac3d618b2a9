package dev.keel.proxy.pipeline;

import dev.keel.authz.PathNormalization;

/** Stage 1: the path policies see, or null when the request must be answered with 400. Stateless. */
final class PathStage {

    private final PathNormalization normalization;

    PathStage(PathNormalization normalization) {
        this.normalization = normalization;
    }

    String normalize(String rawPath) {
        return normalization.normalize(rawPath);
    }
}
