package io.ports.server.daemon;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

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

            TestDaemon.Reply r = d.get("/metrics");
            assertEquals(200, r.status());
            assertTrue(r.header("Content-Type").startsWith("text/plain; version=0.0.4"), r.header("Content-Type"));
            String text = r.body();
            for (String name : List.of("ports_allocations_total", "ports_releases_total", "ports_heartbeats_total", "ports_reservations_active",
                    "ports_allocation_latency_seconds_count", "ports_range_utilization_ratio", "ports_health_status", "ports_health_checks_total")) {
                assertTrue(text.contains(name), name + " in\n" + text);
            }
            assertTrue(text.contains("ports_http_requests_seconds_count{method=\"POST\",route=\"/ports/allocate\",status=\"201\"} 1"), text);
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
}
