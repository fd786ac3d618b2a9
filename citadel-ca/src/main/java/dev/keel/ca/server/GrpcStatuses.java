package dev.keel.ca.server;

import dev.keel.ca.CaException;
import dev.keel.ca.CaService;
import io.grpc.Status;

/** Maps CA refusals onto gRPC statuses one to one. */
final class GrpcStatuses {

    private GrpcStatuses() {
    }

    static Status of(Throwable failure) {
        CaException e = CaService.unwrap(failure);
        Status status = switch (e.code()) {
            case INVALID_ARGUMENT -> Status.INVALID_ARGUMENT;
            case UNAUTHENTICATED -> Status.UNAUTHENTICATED;
            case PERMISSION_DENIED -> Status.PERMISSION_DENIED;
            case FAILED_PRECONDITION -> Status.FAILED_PRECONDITION;
            case UNAVAILABLE -> Status.UNAVAILABLE;
            case INTERNAL -> Status.INTERNAL;
        };
        return status.withDescription(e.getMessage());
    }
}
