package dev.keel.ca.audit;

import java.util.concurrent.CompletableFuture;

/** A record waiting for the writer thread, and the future its caller is waiting on. */
record PendingLine(byte[] body, CompletableFuture<Void> durable) {}
