package dev.keel.proxy.inbound;

import dev.keel.authz.Protocol;
import java.net.InetSocketAddress;

/** One listener: where it listens, which app port its traffic is for (and its address), HTTP or opaque TCP. */
record ListenerSpec(String host, int listenPort, int targetPort, Protocol protocol, InetSocketAddress upstream) {
}
