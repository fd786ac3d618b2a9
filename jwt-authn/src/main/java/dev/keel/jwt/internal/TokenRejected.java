package dev.keel.jwt.internal;

import dev.keel.jwt.JwtResult;

/** Thrown inside validation to refuse a token; turned into {@link JwtResult.Invalid} at the edge. No stack trace. */
public final class TokenRejected extends Exception {

    private static final long serialVersionUID = 1L;

    private final JwtResult.Reason reason;

    public TokenRejected(JwtResult.Reason reason, String detail) {
        super(detail, null, false, false);
        this.reason = reason;
    }

    public JwtResult.Reason reason() {
        return reason;
    }

    public JwtResult.Invalid toResult() {
        return new JwtResult.Invalid(reason, getMessage());
    }
}
