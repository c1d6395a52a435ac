package io.ports.health;

import io.ports.core.PortExhaustedException;
import io.ports.core.PortRange;
import io.ports.core.ServiceCatalog;
import io.ports.core.ServiceType;
import io.ports.core.registry.Allocation;
import io.ports.core.registry.AllocationRequest;
import io.ports.core.registry.Registry;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

@Timeout(60)
class ExhaustionMonitorTests {
    /** Ten ports, shared by two types. */
    static final PortRange TINY = PortRange.of(31200, 31209);
    static final ServiceCatalog CATALOG = ServiceCatalog.empty()
            .with(ServiceType.tcp("tiny", 0, TINY, "exhaustion tests"))
            .with(ServiceType.tcp("tiny-too", 0, TINY, "the same range, another type"));

    @TempDir
    Path tmp;

    private final TestClocks.Ticker ticker = new TestClocks.Ticker();
    private Registry registry;
    private final List<Allocation> held = new ArrayList<>();

    @BeforeEach
    void setUp() {
        registry = Registry.builder().catalog(CATALOG).lockDirectory(tmp.resolve("locks")).build();
    }

    @AfterEach
    void tearDown() {
        registry.close();
    }

    private void allocate(int n) {
        for (int i = 0; i < n; i++) {
            held.add(registry.allocate(AllocationRequest.builder("svc-" + held.size(), "tiny").build()));
        }
    }

    private void release(int n) {
        for (int i = 0; i < n; i++) {
            registry.release(held.remove(0).id());
        }
    }

    private static RangeHealth only(List<RangeHealth> ranges) {
        assertEquals(1, ranges.size(), ranges.toString());
        return ranges.get(0);
    }

    @Test
    void utilization_isOkThenWarningThenCriticalThenExhausted_atTheConfiguredThresholds() {
        ExhaustionMonitor m = ExhaustionMonitor.builder(registry).warningThreshold(0.8).criticalThreshold(0.9).ticker(ticker).build();

        allocate(7);
        RangeHealth seven = only(m.sample());
        assertEquals(RangeHealth.Level.OK, seven.level(), seven.toString());
        assertEquals(0.7, seven.utilization(), 1e-9);
        assertEquals(List.of("tiny", "tiny-too"), seven.types(), "types sharing a range are one range");
        assertEquals(TINY.toString(), seven.range());

        allocate(1);
        assertEquals(RangeHealth.Level.WARNING, only(m.sample()).level());
        allocate(1);
        assertEquals(RangeHealth.Level.CRITICAL, only(m.sample()).level());
        allocate(1);
        RangeHealth full = only(m.sample());
        assertEquals(RangeHealth.Level.EXHAUSTED, full.level());
        assertEquals(0, full.free());
        assertEquals(Optional.of(Duration.ZERO), full.timeToExhaustion());
        assertThrows(PortExhaustedException.class, () -> allocate(1), "the registry agrees: the range is full");

        release(3);
        assertEquals(RangeHealth.Level.OK, only(m.sample()).level());
    }

    @Test
    void timeToExhaustion_dividesTheFreePortsByTheNetGrowthOverTheWindow() {
        ExhaustionMonitor m = ExhaustionMonitor.builder(registry).window(Duration.ofMinutes(5)).ticker(ticker).build();
        allocate(2);
        RangeHealth first = only(m.sample());
        assertTrue(first.timeToExhaustion().isEmpty(), "one sample tells no rate");
        assertTrue(first.growthPerMinute().isEmpty());

        ticker.advance(Duration.ofMinutes(1));
        allocate(2);
        RangeHealth growing = only(m.sample());
        assertEquals(2.0, growing.growthPerMinute().orElseThrow(), 1e-9);
        assertEquals(2.0, growing.allocationsPerMinute().orElseThrow(), 1e-9);
        assertEquals(Optional.of(Duration.ofMinutes(3)), growing.timeToExhaustion(), "6 free ports at 2 per minute");

        ticker.advance(Duration.ofMinutes(1));
        release(2);
        allocate(2); // churn: busy, but not filling up
        RangeHealth churning = only(m.sample());
        assertEquals(2.0, churning.allocationsPerMinute().orElseThrow(), 1e-9, "6 allocations since the first sample, 4 of them in the window's 2 minutes");
        assertEquals(1.0, churning.growthPerMinute().orElseThrow(), 1e-9, "2 more used than 2 minutes ago");
        assertEquals(Optional.of(Duration.ofMinutes(6)), churning.timeToExhaustion());

        ticker.advance(Duration.ofMinutes(1));
        release(2);
        RangeHealth flat = only(m.sample());
        assertEquals(0.0, flat.growthPerMinute().orElseThrow(), 1e-9, "as many used as 3 minutes ago");
        assertTrue(flat.timeToExhaustion().isEmpty(), "not growing over the window: no estimate, " + flat);
    }

    @Test
    void samplesOlderThanTheWindow_areForgotten() {
        ExhaustionMonitor m = ExhaustionMonitor.builder(registry).window(Duration.ofMinutes(5)).ticker(ticker).build();
        m.sample();
        ticker.advance(Duration.ofMinutes(1));
        allocate(4);
        assertTrue(only(m.sample()).timeToExhaustion().isPresent());
        assertEquals(2, m.sampleCount());

        ticker.advance(Duration.ofMinutes(10));
        RangeHealth later = only(m.sample());

        assertEquals(1, m.sampleCount(), "both earlier samples left the window");
        assertTrue(later.timeToExhaustion().isEmpty(), later.toString());
        assertEquals(RangeHealth.Level.OK, later.level());
    }

    @Test
    void sampleCount_isBoundedByMaxSamples() {
        ExhaustionMonitor m = ExhaustionMonitor.builder(registry).maxSamples(3).ticker(ticker).build();
        for (int i = 0; i < 10; i++) {
            ticker.advance(Duration.ofSeconds(1));
            m.sample();
        }
        assertEquals(3, m.sampleCount());
    }

    @Test
    void rangeDueToBeFullWithinTheHorizon_isAWarningBelowTheThreshold() {
        ExhaustionMonitor m = ExhaustionMonitor.builder(registry).horizon(Duration.ofMinutes(10)).ticker(ticker).build();
        m.sample();
        ticker.advance(Duration.ofMinutes(1));
        allocate(2);

        RangeHealth r = only(m.sample());

        assertEquals(Optional.of(Duration.ofMinutes(4)), r.timeToExhaustion());
        assertEquals(RangeHealth.Level.WARNING, r.level(), "20% used, but full in 4 minutes");
    }

    @Test
    void thresholdsOutOfOrderOrRange_areRejected() {
        assertThrows(IllegalArgumentException.class, () -> ExhaustionMonitor.builder(registry).warningThreshold(0.9).criticalThreshold(0.8).build());
        assertThrows(IllegalArgumentException.class, () -> ExhaustionMonitor.builder(registry).warningThreshold(0).build());
        assertThrows(IllegalArgumentException.class, () -> ExhaustionMonitor.builder(registry).criticalThreshold(1.5).build());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> ExhaustionMonitor.builder(registry).warningThreshold(Double.NaN).build());
        assertTrue(e.getMessage().contains("0.8 and 0.95"), e.getMessage());
    }
}
