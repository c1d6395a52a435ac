package io.ports.health.metrics;

import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.Tags;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.ports.core.EventLoops;
import io.ports.core.PortExhaustedException;
import io.ports.core.registry.Allocation;
import io.ports.core.registry.AllocationRequest;
import io.ports.core.registry.Registry;
import io.ports.health.HealthMonitor;
import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every ports meter, exposed in the Prometheus text format, passes {@code promtool check metrics} (parse
 * and lint). promtool comes with the Debian package {@code prometheus}; on CI ({@code CI=true}) its absence
 * fails the test, elsewhere it skips it.
 */
@Timeout(120)
class PrometheusExpositionTests {
    @TempDir
    Path tmp;

    /** Prometheus names of every meter in {@link PortsMeters}. */
    private static final List<String> EXPOSED = List.of(
            "ports_allocations_total", "ports_allocation_failures_total", "ports_allocation_latency_seconds_count",
            "ports_allocation_latency_seconds_sum", "ports_allocation_latency_seconds_max", "ports_releases_total",
            "ports_heartbeats_total", "ports_expiries_total", "ports_reservations_active", "ports_range_utilization_ratio",
            "ports_range_exhaustion_eta_seconds", "ports_health_status", "ports_health_findings", "ports_health_checks_total");

    /** Where promtool is: the system property {@code ports.promtool} when set, else the usual places and PATH. */
    static Optional<Path> promtool() {
        String configured = System.getProperty("ports.promtool");
        if (configured != null && !configured.isBlank()) {
            return Optional.of(Path.of(configured)).filter(Files::isExecutable);
        }
        return Stream.concat(Stream.of("/usr/bin/promtool", "/usr/local/bin/promtool"),
                        Stream.of(System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)).map(d -> d + "/promtool"))
                .map(Path::of).filter(Files::isExecutable).findFirst();
    }

    static Path requirePromtool() {
        Optional<Path> p = promtool();
        if (p.isEmpty()) {
            String msg = "promtool not found: install the Debian package 'prometheus' "
                    + "(apt-get install -y --no-install-recommends prometheus); scripts/test installs it";
            if ("true".equalsIgnoreCase(System.getenv("CI"))) {
                Assertions.fail("on CI " + msg);
            }
            Assumptions.abort(msg);
        }
        return p.get();
    }

    /** promtool check metrics < file: the exit status and what it wrote. */
    static String[] check(Path promtool, Path exposition) throws Exception {
        Path err = exposition.resolveSibling(exposition.getFileName() + ".promtool");
        Process p = new ProcessBuilder(promtool.toString(), "check", "metrics")
                .redirectInput(exposition.toFile()).redirectErrorStream(true).redirectOutput(err.toFile()).start();
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            p.waitFor(10, TimeUnit.SECONDS);
            throw new AssertionError("promtool did not finish within 60 s");
        }
        return new String[] {Integer.toString(p.exitValue()), Files.readString(err)};
    }

    @Test
    void everyPortsMeter_passesPromtoolCheckMetrics() throws Exception {
        Path promtool = requirePromtool();
        PrometheusMeterRegistry prometheus = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        try (EventLoops loops = EventLoops.builder().threads(1).build();
             Registry registry = Registry.builder().catalog(MetricsTests.CATALOG).lockDirectory(tmp.resolve("locks")).build();
             HealthMonitor monitor = HealthMonitor.builder(registry, loops).interval(Duration.ofHours(1)).build();
             PortsMetrics metrics = PortsMetrics.of(prometheus, Tags.of("node", "db-1"))) {
            metrics.bindRegistry(registry);
            metrics.bindHealth(monitor);
            // the helpers other modules use, one meter of each kind
            AtomicInteger entries = new AtomicInteger(5);
            metrics.counter(MeterSpec.of("ports.resolver.cache.hits", Meter.Type.COUNTER, null, "Resolver cache hits", "kind"),
                    Tags.of("kind", "positive")).increment();
            metrics.gauge(MeterSpec.of("ports.resolver.cache.entries", Meter.Type.GAUGE, null, "Names in the resolver cache"),
                    entries, AtomicInteger::get, Tags.empty());
            metrics.functionCounter(MeterSpec.of("ports.tunnel.sent", Meter.Type.COUNTER, "bytes", "Bytes sent through the tunnel"),
                    entries, AtomicInteger::get, Tags.empty());
            metrics.timer(MeterSpec.of("ports.nat.mapping.renewal", Meter.Type.TIMER, null, "Time to renew a NAT mapping"), Tags.empty())
                    .record(Duration.ofMillis(4));
            metrics.summary(MeterSpec.of("ports.listener.accept.backlog", Meter.Type.DISTRIBUTION_SUMMARY, "connections",
                    "Connections waiting to be accepted"), Tags.empty()).record(3);

            Allocation a = registry.allocate(AllocationRequest.builder("orders", "wide").build());
            registry.heartbeat(a.id());
            registry.allocate(AllocationRequest.builder("one", "single").build());
            assertThrows(PortExhaustedException.class, () -> registry.allocate(AllocationRequest.builder("two", "single").build()));
            registry.release(a.id());
            monitor.checkNow().get(30, TimeUnit.SECONDS);

            String text = prometheus.scrape();
            Path exposition = tmp.resolve("exposition.txt");
            Files.writeString(exposition, text, StandardCharsets.UTF_8);
            if (Files.isDirectory(Path.of("target"))) { // kept for people: what /metrics looks like
                Files.writeString(Path.of("target", "prometheus-exposition.txt"), text, StandardCharsets.UTF_8);
            }
            for (String name : EXPOSED) {
                assertTrue(text.contains("\n" + name + "{"), name + " missing from the exposition:\n" + text);
            }

            String[] result = check(promtool, exposition);
            assertEquals("0", result[0], "promtool check metrics found problems:\n" + result[1] + "\nin:\n" + text);
            assertEquals("", result[1].strip(), "promtool printed findings:\n" + result[1]);
        }
    }

    @Test
    void promtool_flagsAnExpositionThatBreaksTheConventions() throws Exception {
        // the check is only worth something if promtool does object: a counter without _total, a unit in ms
        Path promtool = requirePromtool();
        Path bad = tmp.resolve("bad.txt");
        Files.writeString(bad, "# HELP ports_latency_ms latency\n# TYPE ports_latency_ms counter\nports_latency_ms 1\n");

        String[] result = check(promtool, bad);

        assertEquals("3", result[0], result[1]);
        assertTrue(result[1].contains("ports_latency_ms"), result[1]);
    }
}
