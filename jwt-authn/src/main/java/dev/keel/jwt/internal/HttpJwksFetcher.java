package dev.keel.jwt.internal;

import dev.keel.jwt.JwksFetcher;
import java.io.IOException;
import java.net.InetAddress;
import java.net.URI;
import java.net.UnknownHostException;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.Flow;
import javax.net.ssl.SSLContext;

/** The default {@link JwksFetcher} over {@code java.net.http}; see {@link JwksFetcher.Builder}. Thread-safe. */
public final class HttpJwksFetcher implements JwksFetcher {

    /** Resolves host names off the caller's thread: name resolution blocks. */
    private static final Executor RESOLVER = resolver();

    private final HttpClient client;
    private final boolean allowHttp;
    private final boolean allowLoopback;
    private final int maxBytes;
    private final int maxRedirects;

    public HttpJwksFetcher(SSLContext sslContext, boolean allowHttp, boolean allowLoopback, int maxBytes, int maxRedirects) {
        HttpClient.Builder builder = HttpClient.newBuilder().followRedirects(HttpClient.Redirect.NEVER)
                .connectTimeout(Duration.ofSeconds(10));
        try {
            builder.sslContext(sslContext != null ? sslContext : SSLContext.getDefault());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("no default TLS context", e);
        }
        this.client = builder.build();
        this.allowHttp = allowHttp;
        this.allowLoopback = allowLoopback;
        this.maxBytes = maxBytes;
        this.maxRedirects = maxRedirects;
    }

    private static Executor resolver() {
        ThreadPoolExecutor executor = new ThreadPoolExecutor(2, 2, 30, TimeUnit.SECONDS, new LinkedBlockingQueue<>(), r -> {
            Thread t = new Thread(r, "keel-jwks-resolver");
            t.setDaemon(true);
            return t;
        });
        executor.allowCoreThreadTimeOut(true);
        return executor;
    }

    @Override
    public CompletableFuture<String> fetch(URI uri, Duration timeout) {
        // The request timeout covers the wait for the headers; this bounds the whole fetch, body and redirects too.
        return fetch(uri, timeout, 0).orTimeout(timeout.toMillis() * (maxRedirects + 1) + 1000, TimeUnit.MILLISECONDS);
    }

    private CompletableFuture<String> fetch(URI uri, Duration timeout, int redirects) {
        String problem = checkUri(uri);
        if (problem != null) {
            return CompletableFuture.failedFuture(new IOException(problem));
        }
        return CompletableFuture.runAsync(() -> checkAddresses(uri.getHost()), RESOLVER)
                .thenCompose(ok -> client.sendAsync(HttpRequest.newBuilder(uri).timeout(timeout).GET()
                        .header("accept", "application/jwk-set+json, application/json").build(), this::limited))
                .thenCompose(response -> handle(uri, timeout, redirects, response));
    }

    private String checkUri(URI uri) {
        String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
        if (!scheme.equals("https") && !(scheme.equals("http") && allowHttp)) {
            return "JWKS URI " + uri + ": scheme " + scheme + " (expected: https" + (allowHttp ? " or http" : "") + ")";
        }
        if (uri.getHost() == null || uri.getRawUserInfo() != null) {
            return "JWKS URI " + uri + ": no host, or user info (expected: scheme://host[:port]/path)";
        }
        return null;
    }

    private void checkAddresses(String host) {
        InetAddress[] addresses;
        try {
            addresses = InetAddress.getAllByName(host);
        } catch (UnknownHostException e) {
            throw new CompletionException(new IOException("JWKS host " + host + " does not resolve"));
        }
        for (InetAddress address : addresses) {
            String refusal = AddressGuard.refusal(address, allowLoopback);
            if (refusal != null) {
                throw new CompletionException(new IOException("JWKS host " + host + " resolves to " + address.getHostAddress()
                        + ": " + refusal + " refused"));
            }
        }
    }

    private CompletionStage<String> handle(URI uri, Duration timeout, int redirects, HttpResponse<byte[]> response) {
        int status = response.statusCode();
        if (status >= 300 && status < 400 && status != 304) {
            String location = response.headers().firstValue("location").orElse(null);
            if (location == null) {
                return CompletableFuture.failedFuture(new IOException("JWKS " + uri + ": redirect without location"));
            }
            if (redirects >= maxRedirects) {
                return CompletableFuture.failedFuture(new IOException("JWKS " + uri + ": more than " + maxRedirects + " redirects"));
            }
            URI next;
            try {
                next = uri.resolve(location);
            } catch (IllegalArgumentException e) {
                return CompletableFuture.failedFuture(new IOException("JWKS " + uri + ": invalid redirect location"));
            }
            if (next.getHost() == null || !next.getHost().equalsIgnoreCase(uri.getHost())
                    || ("https".equalsIgnoreCase(uri.getScheme()) && !"https".equalsIgnoreCase(next.getScheme()))) {
                return CompletableFuture.failedFuture(new IOException("JWKS " + uri + ": redirect to " + next
                        + " refused (expected: same host, no downgrade)"));
            }
            return fetch(next, timeout, redirects + 1);
        }
        if (status != 200) {
            return CompletableFuture.failedFuture(new IOException("JWKS " + uri + ": HTTP " + status));
        }
        return CompletableFuture.completedFuture(new String(response.body(), StandardCharsets.UTF_8));
    }

    private HttpResponse.BodySubscriber<byte[]> limited(HttpResponse.ResponseInfo info) {
        return new LimitedBody(maxBytes, info.headers().firstValueAsLong("content-length").orElse(-1));
    }

    /** Collects a body up to a limit; fails once the limit is passed. */
    private static final class LimitedBody implements HttpResponse.BodySubscriber<byte[]> {

        private final int max;
        private final CompletableFuture<byte[]> result = new CompletableFuture<>();
        private final java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        private Flow.Subscription subscription;

        private final long declared;

        LimitedBody(int max, long declared) {
            this.max = max;
            this.declared = declared;
        }

        @Override
        public CompletionStage<byte[]> getBody() {
            return result;
        }

        @Override
        public void onSubscribe(Flow.Subscription subscription) {
            this.subscription = subscription;
            if (declared > max) {
                result.completeExceptionally(new IOException("JWKS document of " + declared + " bytes (expected: <= " + max + ")"));
                subscription.cancel();
                return;
            }
            subscription.request(Long.MAX_VALUE);
        }

        @Override
        public void onNext(List<ByteBuffer> items) {
            if (result.isDone()) {
                return;
            }
            for (ByteBuffer item : items) {
                if (out.size() + item.remaining() > max) {
                    result.completeExceptionally(new IOException("JWKS document over " + max + " bytes"));
                    subscription.cancel();
                    return;
                }
                byte[] chunk = new byte[item.remaining()];
                item.get(chunk);
                out.write(chunk, 0, chunk.length);
            }
        }

        @Override
        public void onError(Throwable throwable) {
            result.completeExceptionally(throwable);
        }

        @Override
        public void onComplete() {
            result.complete(out.toByteArray());
        }
    }
}
