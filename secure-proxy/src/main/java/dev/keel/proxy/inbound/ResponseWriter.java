package dev.keel.proxy.inbound;

import dev.keel.proxy.http.HeaderList;
import io.netty.buffer.ByteBuf;
import io.netty.channel.EventLoop;

/**
 * Where the filter pipeline answers one request: the HTTP/1.1 connection or the HTTP/2 stream it came
 * on. Each request gets exactly one {@link #respond} call. Event loop only.
 */
interface ResponseWriter {

    /**
     * Sends the response and takes ownership of {@code body}. {@code headers} carry no framing or
     * hop-by-hop fields (the writer adds {@code content-length}, and for HTTP/1.1 {@code connection:
     * close} when {@code close}), except a {@code content-length} on a bodiless response to HEAD or a
     * 304, which announces the length of the body not sent and is kept as given. {@code close}: HTTP/1.1 closes the connection after writing; HTTP/2
     * ends the stream as usual (the connection stays). {@code reason} is the HTTP/1.1 reason phrase.
     * Returns the size of the status line (or {@code :status}) and header fields as this protocol wrote
     * them, 0 when nothing was written. {@link RequestFlow} records {@code istio_response_bytes} before the
     * write, counted the same way for both protocols, so the line and metrics exist once the client
     * has its answer.
     */
    int respond(int status, String reason, HeaderList headers, ByteBuf body, boolean close);

    /** The loop this request runs on (its upstream connection is taken from it too). */
    EventLoop eventLoop();

    /** False once the connection (or the stream) is gone: the answer would go nowhere. */
    boolean isActive();
}
