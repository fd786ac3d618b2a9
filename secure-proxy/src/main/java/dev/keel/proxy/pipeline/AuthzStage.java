package dev.keel.proxy.pipeline;

import dev.keel.authz.AuthzRequest;
import dev.keel.authz.Decision;
import dev.keel.authz.DecisionProgram;

/** Stage 3: authorization, one compiled {@link DecisionProgram}; the same for HTTP and TCP. Thread-safe. */
final class AuthzStage {

    private final DecisionProgram program;

    AuthzStage(DecisionProgram program) {
        this.program = program;
    }

    Decision decide(AuthzRequest request) {
        return program.decide(request);
    }

    DecisionProgram program() {
        return program;
    }
}
