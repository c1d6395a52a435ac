package io.ports.health.metrics;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tag;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.binder.MeterBinder;
import io.ports.core.ServiceType;
import io.ports.core.registry.Registry;
import io.ports.core.registry.RegistryStatistics;
import io.ports.health.RangeUse;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Binds a {@link Registry}'s plain statistics to Micrometer: allocations, failures, allocation latency,
 * releases, heartbeats, expiries, live records and range utilization (see {@link PortsMeters} for names).
 *
 * <pre>{@code
 * new RegistryMetrics(registry, Tags.of("node", "db-1")).bindTo(meterRegistry);
 * }</pre>
 *
 * <p>Meters per service type are registered for every type of the registry's catalog at bind time, so a
 * type shows zeros before its first allocation. Allocation latency is fed by the registry's latency
 * listener ({@link RegistryStatistics#latencyListener}), which holds one listener at a time: bind one
 * {@code RegistryMetrics} per registry (to as many meter registries as you like). {@link #close()} removes
 * the listener and every meter this binder registered.
 *
 * <p>Live records and range utilization ({@link RangeUse}: a port counts once even when several types share
 * its range) are computed from the registry's records; the gauges of one scrape share one computation,
 * redone when the registry's counters moved or a second passed.
 */
public final class RegistryMetrics implements MeterBinder, AutoCloseable {
    /** The failure reasons of {@link RegistryStatistics#failuresByReason()}. */
    public static final List<String> FAILURE_REASONS = List.of("exhausted", "unavailable", "conflict", "invalid", "store", "other");

    private static final long VIEW_TTL_NANOS = TimeUnit.SECONDS.toNanos(1);

    private final Registry registry;
    private final Tags tags;
    private final BoundMeters meters = new BoundMeters();
    private final List<Map<String, Timer>> latencyTimers = new CopyOnWriteArrayList<>();
    private final Views views = new Views();
    private final AtomicBoolean closed = new AtomicBoolean();

    /**
     * Registry views shared by the gauges of one scrape: recomputed when the registry's counters moved or a
     * second passed. Holds no reference to the registry.
     */
    private static final class Views {
        private long at;
        private long allocations = -1;
        private long releases = -1;
        private long expiries = -1;
        private Map<String, Integer> livePerType = Map.of();
        private Map<String, Double> utilizationPerType = Map.of();

        private void refresh(Registry r) {
            long now = System.nanoTime();
            RegistryStatistics s = r.statistics();
            long a = s.allocations();
            long r2 = s.releases();
            long e = s.expiries();
            if (a == allocations && r2 == releases && e == expiries && now - at < VIEW_TTL_NANOS) {
                return;
            }
            livePerType = Map.copyOf(r.stats().perType());
            Map<String, Double> u = new HashMap<>();
            for (RangeUse ru : RangeUse.of(r)) {
                for (String type : ru.types()) {
                    u.put(type, ru.utilization());
                }
            }
            utilizationPerType = u;
            at = now;
            allocations = a;
            releases = r2;
            expiries = e;
        }

        synchronized double live(Registry r, String type) {
            refresh(r);
            return livePerType.getOrDefault(type, 0);
        }

        synchronized double utilization(Registry r, String type) {
            refresh(r);
            return utilizationPerType.getOrDefault(type, Double.NaN);
        }
    }

    public RegistryMetrics(Registry registry) {
        this(registry, Tags.empty());
    }

    /** @param tags tags added to every meter, for example {@code node=db-1} */
    public RegistryMetrics(Registry registry, Iterable<Tag> tags) {
        this.registry = Objects.requireNonNull(registry, "registry");
        this.tags = Tags.of(tags);
    }

    @Override
    public void bindTo(MeterRegistry r) {
        if (closed.get()) {
            throw new IllegalStateException("these registry metrics are closed");
        }
        RegistryStatistics stats = registry.statistics();
        Views v = views;
        Map<String, Timer> timers = new ConcurrentHashMap<>();
        for (ServiceType t : registry.catalog().types()) {
            String type = t.name();
            Tags typeTags = tags.and("type", type);
            meters.counter(r, PortsMeters.ALLOCATIONS, stats, s -> s.allocationsByType().getOrDefault(type, 0L), typeTags);
            timers.put(type, meters.timer(r, PortsMeters.ALLOCATION_LATENCY, typeTags));
            meters.gauge(r, PortsMeters.RESERVATIONS_ACTIVE, registry, reg -> v.live(reg, type), typeTags);
            meters.gauge(r, PortsMeters.RANGE_UTILIZATION, registry, reg -> v.utilization(reg, type), typeTags.and("range", t.range().toString()));
        }
        for (String reason : FAILURE_REASONS) {
            meters.counter(r, PortsMeters.ALLOCATION_FAILURES, stats, s -> s.failuresByReason().getOrDefault(reason, 0L), tags.and("reason", reason));
        }
        meters.counter(r, PortsMeters.RELEASES, stats, RegistryStatistics::releases, tags);
        meters.counter(r, PortsMeters.HEARTBEATS, stats, RegistryStatistics::heartbeats, tags);
        meters.counter(r, PortsMeters.EXPIRIES, stats, RegistryStatistics::expiries, tags);

        latencyTimers.add(timers);
        List<Map<String, Timer>> all = latencyTimers;
        stats.latencyListener((type, nanos) -> {
            for (Map<String, Timer> m : all) {
                Timer t = m.get(type);
                if (t != null) {
                    t.record(nanos, TimeUnit.NANOSECONDS);
                }
            }
        });
    }

    /** Detaches the latency listener and removes every meter this binder registered, once. */
    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        registry.statistics().latencyListener(null);
        latencyTimers.clear();
        meters.removeAll();
    }

    @Override
    public String toString() {
        return "RegistryMetrics" + tags;
    }
}
