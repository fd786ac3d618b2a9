package dev.keel.cli.internal.up;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.keel.cli.internal.up.UpLayout.DemoWorkload;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The demo shop's three services, each a few lines of HTTP on loopback behind its own proxy:
 * {@code frontend} ({@code /api/orders/{id}} calls orders, {@code /api/payments/{id}} calls payments
 * directly), {@code orders} ({@code /api/orders/{id}} calls payments) and {@code payments}. Every call
 * between them leaves through the caller's outbound listener, so it is mTLS with secure naming and the
 * callee's AuthorizationPolicy decides. Each answer says who served it and which SPIFFE ID called
 * (from {@code x-forwarded-client-cert}).
 */
public final class DemoApps implements AutoCloseable {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Pattern ORDER = Pattern.compile("/api/orders/([A-Za-z0-9-]{1,32})");
    private static final Pattern PAYMENT = Pattern.compile("/api/payments/([A-Za-z0-9-]{1,32})");
    private static final Pattern XFCC_URI = Pattern.compile("(?:^|;)URI=([^;,]+)");
    /** Passed from each incoming request to the calls it makes, so one trace covers the chain. */
    private static final List<String> PROPAGATED = List.of("x-request-id", "traceparent", "tracestate");

    private final UpLayout layout;
    private final List<HttpServer> servers = new ArrayList<>();
    private final List<ExecutorService> executors = new ArrayList<>();

    private DemoApps(UpLayout layout) {
        this.layout = layout;
    }

    public static DemoApps start(UpLayout layout) throws IOException {
        DemoApps apps = new DemoApps(layout);
        try {
            apps.serve(layout.workload("frontend"), apps::frontend);
            apps.serve(layout.workload("orders"), apps::orders);
            apps.serve(layout.workload("payments"), apps::payments);
        } catch (IOException | RuntimeException e) {
            apps.close();
            throw e;
        }
        return apps;
    }

    private interface Handler {
        Answer handle(HttpExchange exchange) throws IOException;
    }

    private record Answer(int status, JsonNode body) {}

    private void serve(DemoWorkload workload, Handler handler) throws IOException {
        HttpServer server = HttpServer.create(new InetSocketAddress(layout.host(), layout.appPort(workload)), 64);
        // One pool per app: frontend waits on orders, which waits on payments; a shared pool could be
        // exhausted by the waiting callers while their callees queue behind them.
        ExecutorService executor = Executors.newFixedThreadPool(16, r -> {
            Thread t = new Thread(r, "keel-demo-" + workload.name());
            t.setDaemon(true);
            return t;
        });
        executors.add(executor);
        server.setExecutor(executor);
        server.createContext("/", exchange -> {
            try (exchange) {
                Answer answer;
                try {
                    answer = handler.handle(exchange);
                } catch (IOException e) {
                    answer = new Answer(502, error(workload.name(), "upstream call failed: " + e.getMessage()));
                }
                DemoTokenIssuer.send(exchange, answer.status(), "application/json", answer.body().toPrettyString() + "\n");
            }
        });
        server.start();
        servers.add(server);
    }

    private Answer frontend(HttpExchange exchange) throws IOException {
        String path = exchange.getRequestURI().getPath();
        Matcher order = ORDER.matcher(path);
        if (order.matches()) {
            return relay("frontend", exchange, call(exchange, "frontend", "orders", path), "order");
        }
        Matcher payment = PAYMENT.matcher(path);
        if (payment.matches()) {
            return relay("frontend", exchange, call(exchange, "frontend", "payments", path), "payment");
        }
        return new Answer(404, error("frontend", "try /api/orders/{id} or /api/payments/{id}"));
    }

    private Answer orders(HttpExchange exchange) throws IOException {
        Matcher order = ORDER.matcher(exchange.getRequestURI().getPath());
        if (!order.matches()) {
            return new Answer(404, error("orders", "try /api/orders/{id}"));
        }
        MeshHttpClient.Response payment = call(exchange, "orders", "payments", "/api/payments/" + order.group(1));
        ObjectNode body = served("orders", exchange).put("order", order.group(1)).put("item", "keel t-shirt");
        body.set("payment", parse(payment));
        return new Answer(payment.status() == 200 ? 200 : 502, body);
    }

    private Answer payments(HttpExchange exchange) {
        Matcher payment = PAYMENT.matcher(exchange.getRequestURI().getPath());
        if (!payment.matches()) {
            return new Answer(404, error("payments", "try /api/payments/{id}"));
        }
        return new Answer(200, served("payments", exchange).put("payment", payment.group(1)).put("status", "settled"));
    }

    private MeshHttpClient.Response call(HttpExchange incoming, String from, String to, String path) throws IOException {
        Map<String, String> headers = new LinkedHashMap<>();
        for (String name : PROPAGATED) {
            String value = incoming.getRequestHeaders().getFirst(name);
            if (value != null) {
                headers.put(name, value);
            }
        }
        return MeshHttpClient.get(layout.outboundPort(layout.workload(from)), layout.workload(to).serviceHost(), path,
                headers);
    }

    private Answer relay(String name, HttpExchange exchange, MeshHttpClient.Response upstream, String field) {
        ObjectNode body = served(name, exchange);
        body.put("upstream_status", upstream.status());
        body.set(field, parse(upstream));
        return new Answer(upstream.status(), body);
    }

    private static ObjectNode served(String name, HttpExchange exchange) {
        String xfcc = exchange.getRequestHeaders().getFirst("x-forwarded-client-cert");
        String caller = "none (no client certificate)";
        if (xfcc != null) {
            Matcher uri = XFCC_URI.matcher(xfcc);
            if (uri.find()) {
                caller = uri.group(1).replace("\"", "");
            }
        }
        return JSON.createObjectNode().put("served_by", name).put("caller", caller);
    }

    private static JsonNode parse(MeshHttpClient.Response response) {
        try {
            return JSON.readTree(response.body());
        } catch (IOException e) {
            return JSON.getNodeFactory().textNode(response.body().strip());
        }
    }

    private static JsonNode error(String name, String message) {
        return JSON.createObjectNode().put("served_by", name).put("error", message);
    }

    @Override
    public void close() {
        servers.forEach(s -> s.stop(0));
        servers.clear();
        executors.forEach(ExecutorService::shutdownNow);
        executors.clear();
    }
}
