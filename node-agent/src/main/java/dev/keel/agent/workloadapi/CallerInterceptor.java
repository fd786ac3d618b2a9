package dev.keel.agent.workloadapi;

import dev.keel.agent.WorkloadProcess;
import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import java.util.Iterator;

/**
 * The checks every Workload API call passes before a handler runs (SPIFFE Workload Endpoint,
 * sections 3 and 6): the {@code workload.spiffe.io: true} security header, else InvalidArgument;
 * then the kernel-provided identity of the calling process, else PermissionDenied. The process goes
 * into the call's {@link Context} under {@link #PROCESS}.
 *
 * <p>Runs on the call executor, before any message is read; does no I/O.
 */
final class CallerInterceptor implements ServerInterceptor {

    static final Metadata.Key<String> SECURITY_HEADER =
            Metadata.Key.of("workload.spiffe.io", Metadata.ASCII_STRING_MARSHALLER);
    static final Context.Key<WorkloadProcess> PROCESS = Context.key("keel.workload-process");

    static final String MISSING_HEADER = "security header missing from request (expected: workload.spiffe.io: true)";
    static final String NO_PEER_CREDENTIALS = "caller could not be identified: no peer credentials on the connection";

    @Override
    public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers,
            ServerCallHandler<Q, R> next) {
        Iterable<String> values = headers.getAll(SECURITY_HEADER);
        Iterator<String> first = values == null ? null : values.iterator();
        if (first == null || !first.hasNext() || !"true".equals(first.next())) {
            call.close(Status.INVALID_ARGUMENT.withDescription(MISSING_HEADER), new Metadata());
            return new ServerCall.Listener<>() {
            };
        }
        WorkloadProcess process = call.getAttributes().get(PeerCredentialsNegotiator.WORKLOAD_PROCESS);
        if (process == null) {
            call.close(Status.PERMISSION_DENIED.withDescription(NO_PEER_CREDENTIALS), new Metadata());
            return new ServerCall.Listener<>() {
            };
        }
        return Contexts.interceptCall(Context.current().withValue(PROCESS, process), call, headers, next);
    }
}
