package dev.keel.cli.internal.up;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;

/** Reads the plain-HTTP admin endpoints of proxies and agents on loopback, with short timeouts. */
public final class AdminClient {

    private static final ObjectMapper JSON = new ObjectMapper();
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

    /** A response: its status and body. */
    public record Reply(int status, String body) {
        public boolean ok() {
            return status == 200;
        }
    }

    public Reply get(String url) throws IOException {
        try {
            HttpResponse<String> response = http.send(HttpRequest.newBuilder(URI.create(url))
                    .timeout(Duration.ofSeconds(5)).build(), HttpResponse.BodyHandlers.ofString());
            return new Reply(response.statusCode(), response.body());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted", e);
        }
    }

    /** The JSON body of a 200 answer; anything else is an error naming the URL. */
    public JsonNode json(String url) throws IOException {
        Reply reply = get(url);
        if (!reply.ok()) {
            throw new IOException(url + " answered " + reply.status());
        }
        return JSON.readTree(reply.body());
    }
}
