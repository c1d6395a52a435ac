package io.ports.health.metrics;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.ports.core.EventLoops;
import io.ports.core.PortExhaustedException;
import io.ports.core.PortRange;
import io.ports.core.ServiceCatalog;
import io.ports.core.ServiceType;
import io.ports.core.registry.Allocation;
import io.ports.core.registry.AllocationRequest;
import io.ports.core.registry.Registry;
import io.ports.health.Health;
import io.ports.health.HealthMonitor;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

@Timeout(60)
class MetricsTests {
    /** "wide" has ten ports; "single" one, shared with nobody. */
    static final ServiceCatalog CATALOG = ServiceCatalog.empty()
            .with(ServiceType.tcp("wide", 0, PortRange.of(31500, 31509), "metrics tests"))
            .with(ServiceType.tcp("single", 0, PortRange.of(31510, 31510), "a range of one port"));

    private static EventLoops loops;

    @TempDir
    Path tmp;

    private Registry registry;
    private MeterRegistry meters;
    private PortsMetrics metrics;

    @BeforeAll
    static void startLoops() {
        loops = EventLoops.builder().threads(1).build();
    }

    @AfterAll
    static void stopLoops() {
        loops.close();
    }

    @BeforeEach
    void setUp() {
        registry = Registry.builder().catalog(CATALOG).lockDirectory(tmp.resolve("locks")).build();
        meters = new SimpleMeterRegistry();
        metrics = PortsMetrics.of(meters, Tags.of("node", "test-node"));
    }

    @AfterEach
    void tearDown() {
        try {
            metrics.close();
        } finally {
            registry.close();
        }
    }

    private Allocation allocate(String name, String type) {
        return registry.allocate(AllocationRequest.builder(name, type).build());
    }

    private double counter(PortsMeters m, String key, String value) {
        return meters.get(m.getName()).tags(key, value).functionCounter().count();
    }

    @Test
    void allocationsFailuresAndLatency_areCountedByTypeAndReason() {
        metrics.bindRegistry(registry);
        allocate("a", "wide");
        allocate("b", "wide");
        allocate("c", "single");
        assertThrows(PortExhaustedException.class, () -> allocate("d", "single"));
        assertThrows(IllegalArgumentException.class, () -> allocate("e", "no-such-type"));

        assertEquals(2, counter(PortsMeters.ALLOCATIONS, "type", "wide"));
        assertEquals(1, counter(PortsMeters.ALLOCATIONS, "type", "single"));
        assertEquals(1, counter(PortsMeters.ALLOCATION_FAILURES, "reason", "exhausted"));
        assertEquals(1, counter(PortsMeters.ALLOCATION_FAILURES, "reason", "invalid"));
        assertEquals(0, counter(PortsMeters.ALLOCATION_FAILURES, "reason", "conflict"), "every reason is there from the start");
        Timer wide = meters.get("ports.allocation.latency").tags("type", "wide").timer();
        assertEquals(2, wide.count());
        assertTrue(wide.totalTime(TimeUnit.NANOSECONDS) > 0);
        assertEquals("test-node", wide.getId().getTag("node"), "common tags on every meter");
    }

    @Test
    void liveRecordsAndRangeUtilization_areGaugesByType() {
        metrics.bindRegistry(registry);
        Allocation a = allocate("a", "wide");
        allocate("b", "wide");
        allocate("c", "single");

        assertEquals(2, meters.get("ports.reservations.active").tags("type", "wide").gauge().value());
        assertEquals(0.2, meters.get("ports.range.utilization").tags("type", "wide", "range", "31500-31509").gauge().value(), 1e-9);
        assertEquals(1.0, meters.get("ports.range.utilization").tags("type", "single").gauge().value(), 1e-9);
        assertEquals(PortsMeters.RATIO, meters.get("ports.range.utilization").gauge().getId().getBaseUnit());

        registry.release(a.id());
        assertEquals(1, meters.get("ports.reservations.active").tags("type", "wide").gauge().value(), "a change shows at the next read");
        assertEquals(0.1, meters.get("ports.range.utilization").tags("type", "wide").gauge().value(), 1e-9);
    }

    @Test
    void heartbeatsReleasesAndExpiries_areFunctionCounters() {
        metrics.bindRegistry(registry);
        Allocation a = allocate("a", "wide");
        registry.heartbeat(a.id());
        registry.heartbeat(a.id());
        registry.release(a.id());
        Allocation dead = registry.allocate(AllocationRequest.builder("dead", "wide").pid(Integer.MAX_VALUE - 1).build()); // no such pid
        registry.cleanup();

        assertEquals(2, meters.get("ports.heartbeats").functionCounter().count());
        assertEquals(1, meters.get("ports.releases").functionCounter().count());
        assertEquals(1, meters.get("ports.expiries").functionCounter().count(), dead.toString());
    }

    @Test
    void healthStatus_isOneGaugePerStatus_withFindingsAndChecks() throws Exception {
        try (HealthMonitor monitor = HealthMonitor.builder(registry, loops).interval(Duration.ofHours(1)).build()) {
            metrics.bindHealth(monitor);
            for (Health.Status s : Health.Status.values()) {
                assertEquals(0, meters.get("ports.health.status").tags("status", s.name()).gauge().value(), "no round yet");
            }

            assertEquals(Health.Status.UP, monitor.checkNow().get(30, TimeUnit.SECONDS).status());

            assertEquals(1, meters.get("ports.health.status").tags("status", "UP").gauge().value());
            assertEquals(0, meters.get("ports.health.status").tags("status", "DEGRADED").gauge().value());
            assertEquals(0, meters.get("ports.health.status").tags("status", "DOWN").gauge().value());
            assertEquals(0, meters.get("ports.health.findings").tags("kind", "STOLEN").gauge().value());
            assertEquals(1, meters.get("ports.health.checks").functionCounter().count());
            assertTrue(Double.isNaN(meters.get("ports.range.exhaustion.eta").tags("type", "wide").gauge().value()), "not growing: unknown");
            assertEquals(PortsMeters.SECONDS, meters.get("ports.range.exhaustion.eta").gauge().getId().getBaseUnit());
        }
    }

    @Test
    void close_removesEveryMeterAndDetachesTheLatencyListener() {
        RegistryMetrics bound = metrics.bindRegistry(registry);
        AtomicInteger items = new AtomicInteger(3);
        metrics.gauge(MeterSpec.of("ports.test.items", Meter.Type.GAUGE, null, "items"), items, AtomicInteger::get, Tags.empty());
        assertTrue(meters.getMeters().size() > 10);

        metrics.close();
        metrics.close(); // once

        assertEquals(List.of(), meters.getMeters());
        allocate("after", "wide");
        assertEquals(List.of(), meters.getMeters(), "a late allocation registers no timer");
        assertThrows(IllegalStateException.class, () -> bound.bindTo(meters));
        assertThrows(IllegalStateException.class, () -> metrics.bindRegistry(registry));
    }

    @Test
    void helpers_registerOtherModulesMetersWithTheCommonTags() {
        MeterSpec hits = MeterSpec.of("ports.resolver.cache.hits", Meter.Type.COUNTER, null, "Resolver cache hits", "kind");
        MeterSpec size = MeterSpec.of("ports.resolver.cache.entries", Meter.Type.GAUGE, null, "Names in the resolver cache");
        MeterSpec sent = MeterSpec.of("ports.tunnel.sent", Meter.Type.COUNTER, "bytes", "Bytes sent through the tunnel");
        MeterSpec mapping = MeterSpec.of("ports.nat.mapping.renewal", Meter.Type.TIMER, null, "Time to renew a NAT mapping");
        AtomicInteger entries = new AtomicInteger(7);

        Counter c = metrics.counter(hits, Tags.of("kind", "positive"));
        c.increment(2);
        Gauge g = metrics.gauge(size, entries, AtomicInteger::get, Tags.empty());
        FunctionCounter f = metrics.functionCounter(sent, entries, AtomicInteger::get, Tags.empty());
        Timer t = metrics.timer(mapping, Tags.empty());
        t.record(Duration.ofMillis(3));

        assertEquals(2, meters.get("ports.resolver.cache.hits").tags("node", "test-node", "kind", "positive").counter().count());
        assertEquals(7, g.value());
        assertEquals("bytes", f.getId().getBaseUnit());
        assertEquals(1, t.count());

        metrics.remove(g);
        assertTrue(meters.find("ports.resolver.cache.entries").meters().isEmpty());
    }

    @Test
    void helpers_rejectNamesTagsAndTypesAgainstTheConventions() {
        MeterSpec hits = MeterSpec.of("ports.resolver.cache.hits", Meter.Type.COUNTER, null, "hits", "kind");

        assertThrows(IllegalArgumentException.class, () -> metrics.counter(hits, Tags.of("other", "x")), "tag keys are the spec's");
        assertThrows(IllegalArgumentException.class, () -> metrics.counter(hits, Tags.empty()));
        assertThrows(IllegalArgumentException.class, () -> metrics.timer(hits, Tags.of("kind", "x")), "a counter is not a timer");
        for (String bad : List.of("resolver.hits", "ports.Resolver.hits", "ports.resolver_hits", "ports.hits.total",
                "ports.latency.ms", "ports.lookup.seconds", "ports.queue.bytes", "ports.", "ports")) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> PortsMetrics.checkName(bad), bad);
            assertTrue(e.getMessage().contains(bad), e.getMessage());
        }
        for (PortsMeters m : PortsMeters.values()) {
            assertEquals(m.getName(), PortsMetrics.checkName(m.getName()), "our own names follow the rules");
        }
    }
}
