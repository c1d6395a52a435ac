package io.ports.core.registry;

import io.ports.core.PortExhaustedException;
import io.ports.core.PortUnavailableException;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;

/**
 * Plain counters of a registry, for ports-health to bind to Micrometer (ports-core does not depend on
 * Micrometer). Monotonic since the registry opened.
 */
public final class RegistryStatistics {
    private final Map<String, LongAdder> allocationsByType = new ConcurrentHashMap<>();
    private final Map<String, LongAdder> failuresByReason = new ConcurrentHashMap<>();
    private final LongAdder releases = new LongAdder();
    private final LongAdder heartbeats = new LongAdder();
    private final LongAdder expiries = new LongAdder();
    private final LongAdder latencyNanos = new LongAdder();
    private volatile LatencyListener latencyListener;

    /** Receives the latency of every successful allocation, in nanoseconds. */
    @FunctionalInterface
    public interface LatencyListener {
        void record(String serviceType, long nanos);
    }

    void allocated(String type, long nanos) {
        allocationsByType.computeIfAbsent(type, t -> new LongAdder()).increment();
        latencyNanos.add(nanos);
        LatencyListener l = latencyListener;
        if (l != null) {
            l.record(type, nanos);
        }
    }

    void failed(Throwable e) {
        String reason = e instanceof PortExhaustedException ? "exhausted"
                : e instanceof PortUnavailableException ? "unavailable"
                : e instanceof PortConflictException ? "conflict"
                : e instanceof IllegalArgumentException ? "invalid"
                : e instanceof RegistryStoreException ? "store" : "other";
        failuresByReason.computeIfAbsent(reason, r -> new LongAdder()).increment();
    }

    void released() {
        releases.increment();
    }

    void heartbeat() {
        heartbeats.increment();
    }

    void expired() {
        expiries.increment();
    }

    /** Set by a metrics binder; one listener at a time. */
    public void latencyListener(LatencyListener listener) {
        this.latencyListener = listener;
    }

    public Map<String, Long> allocationsByType() {
        return snapshot(allocationsByType);
    }

    /** Failures by reason: exhausted, unavailable, conflict, invalid, store, other. */
    public Map<String, Long> failuresByReason() {
        return snapshot(failuresByReason);
    }

    public long allocations() {
        return allocationsByType.values().stream().mapToLong(LongAdder::sum).sum();
    }

    public long releases() {
        return releases.sum();
    }

    public long heartbeats() {
        return heartbeats.sum();
    }

    public long expiries() {
        return expiries.sum();
    }

    public long totalLatencyNanos() {
        return latencyNanos.sum();
    }

    private static Map<String, Long> snapshot(Map<String, LongAdder> m) {
        Map<String, Long> out = new java.util.TreeMap<>();
        m.forEach((k, v) -> out.put(k, v.sum()));
        return out;
    }
}
