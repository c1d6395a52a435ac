package io.ports.health.metrics;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tag;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.binder.MeterBinder;
import io.ports.core.ServiceType;
import io.ports.health.Finding;
import io.ports.health.Health;
import io.ports.health.HealthMonitor;
import io.ports.health.RangeHealth;

import java.time.Duration;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Binds a {@link HealthMonitor}'s last result to Micrometer: the overall status (one gauge per status,
 * 1 for the current one), findings by kind, rounds completed, and the estimated time until each type's
 * range is full (see {@link PortsMeters}). The gauges read the monitor's last round; they never start one.
 *
 * <pre>{@code
 * new HealthMetrics(monitor, Tags.of("node", "db-1")).bindTo(meterRegistry);
 * }</pre>
 *
 * <p>{@link #close()} removes every meter this binder registered.
 */
public final class HealthMetrics implements MeterBinder, AutoCloseable {
    private final HealthMonitor monitor;
    private final Tags tags;
    private final BoundMeters meters = new BoundMeters();
    private final AtomicBoolean closed = new AtomicBoolean();

    public HealthMetrics(HealthMonitor monitor) {
        this(monitor, Tags.empty());
    }

    /** @param tags tags added to every meter, for example {@code node=db-1} */
    public HealthMetrics(HealthMonitor monitor, Iterable<Tag> tags) {
        this.monitor = Objects.requireNonNull(monitor, "health monitor");
        this.tags = Tags.of(tags);
    }

    @Override
    public void bindTo(MeterRegistry r) {
        if (closed.get()) {
            throw new IllegalStateException("these health metrics are closed");
        }
        for (Health.Status s : Health.Status.values()) {
            meters.gauge(r, PortsMeters.HEALTH_STATUS, monitor, m -> m.current().map(h -> h.status() == s ? 1.0 : 0.0).orElse(0.0),
                    tags.and("status", s.name()));
        }
        for (Finding.Kind k : Finding.Kind.values()) {
            meters.gauge(r, PortsMeters.HEALTH_FINDINGS, monitor, m -> m.current().map(h -> (double) h.findings(k).size()).orElse(0.0),
                    tags.and("kind", k.name()));
        }
        meters.counter(r, PortsMeters.HEALTH_CHECKS, monitor, HealthMonitor::rounds, tags);
        for (ServiceType t : monitor.registry().catalog().types()) {
            String range = t.range().toString();
            meters.gauge(r, PortsMeters.RANGE_EXHAUSTION_ETA, monitor, m -> eta(m, range), tags.and("type", t.name(), "range", range));
        }
    }

    private static double eta(HealthMonitor m, String range) {
        Optional<Duration> d = m.current().flatMap(h -> h.ranges().stream().filter(rh -> rh.range().equals(range)).findFirst())
                .flatMap(RangeHealth::timeToExhaustion);
        return d.map(x -> x.toMillis() / 1000.0).orElse(Double.NaN);
    }

    /** Removes every meter this binder registered, once. */
    @Override
    public void close() {
        if (closed.compareAndSet(false, true)) {
            meters.removeAll();
        }
    }

    @Override
    public String toString() {
        return "HealthMetrics" + tags;
    }
}
