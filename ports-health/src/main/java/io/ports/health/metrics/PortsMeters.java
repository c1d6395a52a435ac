package io.ports.health.metrics;

import io.micrometer.common.docs.KeyName;
import io.micrometer.core.instrument.Meter;

/**
 * Every meter ports-health registers: names, types, base units, descriptions and tag keys in one place.
 * Prometheus names in parentheses (Micrometer adds {@code _total} to counters and the base unit to the rest).
 */
public enum PortsMeters implements MeterSpec {
    /** Successful allocations by service type ({@code ports_allocations_total}). */
    ALLOCATIONS("ports.allocations", Meter.Type.COUNTER, null, "Successful port allocations, by service type", Keys.TYPE),
    /** Failed allocations by reason ({@code ports_allocation_failures_total}). */
    ALLOCATION_FAILURES("ports.allocation.failures", Meter.Type.COUNTER, null,
            "Failed port allocations, by reason: exhausted, unavailable, conflict, invalid, store, other", Keys.REASON),
    /** Time to allocate and record a port, by service type ({@code ports_allocation_latency_seconds}). */
    ALLOCATION_LATENCY("ports.allocation.latency", Meter.Type.TIMER, null,
            "Time to allocate a port and record it durably, by service type", Keys.TYPE),
    /** Records released by their holders ({@code ports_releases_total}). */
    RELEASES("ports.releases", Meter.Type.COUNTER, null, "Registry records released: by their holders, or by reconciliation once the holder is gone"),
    /** Heartbeats received ({@code ports_heartbeats_total}). */
    HEARTBEATS("ports.heartbeats", Meter.Type.COUNTER, null, "Heartbeats received by the registry"),
    /** Records expired ({@code ports_expiries_total}). */
    EXPIRIES("ports.expiries", Meter.Type.COUNTER, null, "Registry records expired: heartbeat timeout missed or holder process gone"),
    /** Live records (RESERVED or ACTIVE) by service type ({@code ports_reservations_active}). */
    RESERVATIONS_ACTIVE("ports.reservations.active", Meter.Type.GAUGE, null,
            "Live registry records (RESERVED or ACTIVE) holding a port, by service type", Keys.TYPE),
    /** Used share of a type's range, 0..1 ({@code ports_range_utilization_ratio}). */
    RANGE_UTILIZATION("ports.range.utilization", Meter.Type.GAUGE, PortsMeters.RATIO,
            "Share of the service type's port range held by live records, 0 to 1", Keys.TYPE, Keys.RANGE),
    /** Estimated time until a type's range is full; NaN when not growing ({@code ports_range_exhaustion_eta_seconds}). */
    RANGE_EXHAUSTION_ETA("ports.range.exhaustion.eta", Meter.Type.GAUGE, PortsMeters.SECONDS,
            "Estimated time until the service type's port range is full at the recent net allocation rate; NaN when it is not growing",
            Keys.TYPE, Keys.RANGE),
    /** 1 for the current overall status, 0 for the others ({@code ports_health_status}). */
    HEALTH_STATUS("ports.health.status", Meter.Type.GAUGE, null,
            "Overall ports health: 1 for the current status (UP, DEGRADED or DOWN), 0 for the others; all 0 before the first check",
            Keys.STATUS),
    /** Findings of the last health round by kind ({@code ports_health_findings}). */
    HEALTH_FINDINGS("ports.health.findings", Meter.Type.GAUGE, null,
            "Registry and socket differences found by the last health check, by kind", Keys.KIND),
    /** Health rounds completed ({@code ports_health_checks_total}). */
    HEALTH_CHECKS("ports.health.checks", Meter.Type.COUNTER, null, "Health checks completed");

    /** Base unit of ratios (0..1); Micrometer's {@code BaseUnits} has none. */
    public static final String RATIO = "ratio";
    /** Base unit of durations reported by gauges. */
    public static final String SECONDS = "seconds";

    /** Tag keys of the ports meters. */
    public enum Keys implements KeyName {
        /** Service type name of the catalog, for example {@code DATABASE}. */
        TYPE("type"),
        /** Port range, {@code START-END}. */
        RANGE("range"),
        /** Allocation failure reason. */
        REASON("reason"),
        /** Health status: UP, DEGRADED, DOWN. */
        STATUS("status"),
        /** Finding kind, for example STOLEN. */
        KIND("kind");

        private final String key;

        Keys(String key) {
            this.key = key;
        }

        @Override
        public String asString() {
            return key;
        }
    }

    private final String name;
    private final Meter.Type type;
    private final String baseUnit;
    private final String description;
    private final KeyName[] keys;

    PortsMeters(String name, Meter.Type type, String baseUnit, String description, KeyName... keys) {
        this.name = name;
        this.type = type;
        this.baseUnit = baseUnit;
        this.description = description;
        this.keys = keys;
    }

    @Override
    public String getName() {
        return name;
    }

    @Override
    public Meter.Type getType() {
        return type;
    }

    @Override
    public String getBaseUnit() {
        return baseUnit;
    }

    @Override
    public KeyName[] getKeyNames() {
        return keys.clone();
    }

    @Override
    public String description() {
        return description;
    }
}
