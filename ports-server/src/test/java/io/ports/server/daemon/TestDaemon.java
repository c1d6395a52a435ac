package io.ports.server.daemon;

import io.ports.server.testsupport.TestPorts;
import io.ports.core.testsupport.PeerRuns;
import com.fasterxml.jackson.databind.JsonNode;
import io.ports.core.PortRange;
import io.ports.core.ServiceCatalog;
import io.ports.core.ServiceType;

import java.io.IOException;
import java.net.InetAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.function.UnaryOperator;

/**
 * A daemon in this JVM for a test: its own data dir and lock dir (deleted at close), listening on a free
 * loopback port, with a catalog over ranges that probe free right now (so the tests never touch the ports
 * of the default catalog other programs of this host use): {@code db} (20 ports, default port its first),
 * {@code web} (30 ports, no default) and {@code tiny} (1 port).
 */
final class TestDaemon implements AutoCloseable {
    final Path root;
    final PortRange dbRange;
    final PortRange webRange;
    final PortRange tinyRange;
    final Daemon daemon;
    final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    /** The JSON of a response, with its status and headers. */
    record Reply(int status, java.net.http.HttpHeaders headers, String body) {
        JsonNode json() {
            try {
                return JsonCodec.MAPPER.readTree(body);
            } catch (IOException e) {
                throw new AssertionError("not JSON (" + status + "): " + body, e);
            }
        }

        String header(String name) {
            return headers.firstValue(name).orElse(null);
        }
    }

    TestDaemon(UnaryOperator<DaemonConfig> tweak) throws IOException {
        root = Files.createTempDirectory("ports-daemon-test");
        PortRange[] r = freeRanges(20, 30, 1);
        dbRange = r[0];
        webRange = r[1];
        tinyRange = r[2];
        ServiceCatalog catalog = ServiceCatalog.empty()
                .with(ServiceType.tcp("db", dbRange.start(), dbRange, "test databases"))
                .with(ServiceType.tcp("web", 0, webRange, "test web services"))
                .with(ServiceType.tcp("tiny", 0, tinyRange, "a range of one port"));
        DaemonConfig base = DaemonConfig.defaults(root.resolve("data")).withPort(0).withRateLimit(0, 0).withCatalog(catalog)
                .withLockDirectory(root.resolve("locks")).withIntervals(Duration.ofMillis(500), Duration.ofMillis(500));
        Daemon d;
        try {
            d = Daemon.start(tweak.apply(base));
        } catch (RuntimeException e) {
            deleteTree(root);
            throw e;
        }
        daemon = d;
    }

    TestDaemon() throws IOException {
        this(c -> c);
    }

    URI uri(String path) {
        return daemon.url().resolve(path);
    }

    Reply get(String path, String token) throws IOException, InterruptedException {
        HttpRequest.Builder b = HttpRequest.newBuilder(uri(path)).timeout(Duration.ofSeconds(20)).GET();
        if (token != null) {
            b.header("Authorization", "Bearer " + token);
        }
        return send(b.build());
    }

    Reply get(String path) throws IOException, InterruptedException {
        return get(path, null);
    }

    Reply post(String path, String json, String token) throws IOException, InterruptedException {
        HttpRequest.Builder b = HttpRequest.newBuilder(uri(path)).timeout(Duration.ofSeconds(20))
                .header("Content-Type", "application/json")
                .POST(json == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(json));
        if (token != null) {
            b.header("Authorization", "Bearer " + token);
        }
        return send(b.build());
    }

    /** POST with the admin token. */
    Reply admin(String path, String json) throws IOException, InterruptedException {
        return post(path, json, daemon.adminToken());
    }

    Reply send(HttpRequest req) throws IOException, InterruptedException {
        HttpResponse<String> r = http.send(req, HttpResponse.BodyHandlers.ofString());
        return new Reply(r.statusCode(), r.headers(), r.body());
    }

    /** Allocates and returns the allocation object. */
    JsonNode allocate(String service, String type) throws IOException, InterruptedException {
        Reply r = admin("/ports/allocate", "{\"service_name\":\"" + service + "\",\"service_type\":\"" + type + "\"}");
        if (r.status() != 201) {
            throw new AssertionError("allocate " + service + " " + type + ": " + r.status() + " " + r.body());
        }
        return r.json().get("allocation");
    }

    @Override
    public void close() {
        try {
            daemon.close();
        } finally {
            deleteTree(root);
        }
    }

    /** Consecutive ranges of the given sizes, each probing free now, within 20000-29999 and apart from each other. */
    static PortRange[] freeRanges(int... sizes) {
        return TestPorts.freeRanges(sizes);
    }

    static InetAddress wildcard() {
        try {
            return InetAddress.getByAddress(new byte[4]);
        } catch (java.net.UnknownHostException e) {
            throw new IllegalStateException(e);
        }
    }

    static void deleteTree(Path dir) {
        PeerRuns.deleteTree(dir);
    }
}
