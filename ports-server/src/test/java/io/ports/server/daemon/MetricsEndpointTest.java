package io.ports.server.daemon;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code GET /metrics}: every ports-health meter plus the HTTP request meters, in a form {@code promtool check metrics} accepts. */
@Timeout(120)
class MetricsEndpointTest {

    @Test
    void metrics_exposeRegistryHealthAndHttpMeters_andPassPromtool() throws Exception {
        Path promtool = Tools.require("promtool", "prometheus");
        try (TestDaemon d = new TestDaemon()) {
            JsonNode a = d.allocate("metered", "db");
            d.admin("/ports/heartbeat/" + a.get("allocation_id").asText(), null);
            d.admin("/ports/release", "{\"allocation_id\":\"" + a.get("allocation_id").asText() + "\"}");
            d.admin("/ports/allocate", "{\"service_name\":\"x\",\"service_type\":\"nosuch\"}");
            d.get("/ports/service/nobody");
            d.get("/no/such/path/" + System.nanoTime());
            assertEquals(200, d.get("/ports/health").status());
            // a failure: the one-port range is full
            d.allocate("only", "tiny");
            assertEquals(503, d.admin("/ports/allocate", "{\"service_name\":\"second\",\"service_type\":\"tiny\"}").status());
            // an expiry: a record whose holder process is gone, expired by cleanup
            Process gone = new ProcessBuilder("true").start();
            assertTrue(gone.waitFor(30, TimeUnit.SECONDS));
            assertEquals(201, d.admin("/ports/allocate", "{\"service_name\":\"crashed\",\"service_type\":\"web\",\"process_id\":"
                    + gone.pid() + "}").status());
            assertEquals(200, d.admin("/ports/cleanup", null).status());

            String text = null;
            try (ServerSocket stranger = new ServerSocket()) {
                // a health finding: a stranger listening in the db range, seen by the next health round (every 500 ms here)
                stranger.bind(new InetSocketAddress(InetAddress.getByName("0.0.0.0"), d.dbRange.end()));
                for (long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(30); System.nanoTime() < end; Thread.sleep(200)) {
                    TestDaemon.Reply r = d.get("/metrics");
                    assertEquals(200, r.status());
                    assertTrue(r.header("Content-Type").startsWith("text/plain; version=0.0.4"), r.header("Content-Type"));
                    text = r.body();
                    if (value(text, "ports_health_findings", "kind=\"SQUATTER\"") >= 1) {
                        break;
                    }
                }
            }
            // every meter of PortsMeters, with the values this test caused
            assertEquals(1, value(text, "ports_allocations_total", "type=\"db\""), text);
            assertEquals(1, value(text, "ports_allocation_failures_total", "reason=\"exhausted\""), text);
            assertEquals(1, value(text, "ports_allocation_latency_seconds_count", "type=\"db\""), text);
            assertEquals(1, value(text, "ports_releases_total", ""), text);
            assertEquals(1, value(text, "ports_heartbeats_total", ""), text);
            assertEquals(1, value(text, "ports_expiries_total", ""), text);
            assertEquals(1, value(text, "ports_reservations_active", "type=\"tiny\""), text);
            assertEquals(1, value(text, "ports_range_utilization_ratio", "type=\"tiny\""), text);
            assertEquals(1, value(text, "ports_health_findings", "kind=\"SQUATTER\""), text);
            assertTrue(value(text, "ports_health_checks_total", "") >= 1, text);
            assertEquals(1, value(text, "ports_health_status", "status=\"UP\"") + value(text, "ports_health_status", "status=\"DEGRADED\"")
                    + value(text, "ports_health_status", "status=\"DOWN\""), "one status is current: " + text);
            for (String type : List.of("db", "web", "tiny")) {
                // a number of seconds, or NaN while the range is not filling
                assertTrue(text.matches("(?s).*\\nports_range_exhaustion_eta_seconds\\{[^}\\n]*type=\"" + type + "\"[^}\\n]*\\} (NaN|[0-9.eE+-]+)\\n.*"),
                        "exhaustion ETA of " + type + ": " + text);
            }
            assertTrue(text.contains("ports_http_requests_seconds_count{method=\"POST\",route=\"/ports/allocate\",status=\"201\"} 3"), text);
            assertTrue(text.contains("ports_http_requests_seconds_count{method=\"POST\",route=\"/ports/allocate\",status=\"400\"} 1"), text);
            assertTrue(text.contains("route=\"/ports/service/{name}\",status=\"404\""), "the template, not the path: " + text);
            assertTrue(text.contains("route=\"unmatched\",status=\"404\""), "unknown paths share one series: " + text);
            assertTrue(!text.contains("/no/such/path"), text);

            Path file = d.root.resolve("exposition.txt");
            Files.writeString(file, text, StandardCharsets.UTF_8);
            Process p = new ProcessBuilder(promtool.toString(), "check", "metrics").redirectInput(file.toFile()).redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertTrue(p.waitFor(60, TimeUnit.SECONDS), "promtool finished");
            assertEquals(0, p.exitValue(), "promtool check metrics: " + out);
        }
    }

    /** The value of the one series of {@code name} whose labels contain {@code label} (-1 if none), failing if several match. */
    static double value(String text, String name, String label) {
        double found = -1;
        int n = 0;
        for (String line : text.split("\n")) {
            if (line.startsWith(name + "{") || line.startsWith(name + " ")) {
                String labels = line.startsWith(name + "{") ? line.substring(name.length(), line.indexOf('}') + 1) : "";
                if (labels.contains(label)) {
                    found = Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
                    n++;
                }
            }
        }
        assertTrue(n <= 1, n + " series of " + name + " with " + label + " in\n" + text);
        return found;
    }
}
