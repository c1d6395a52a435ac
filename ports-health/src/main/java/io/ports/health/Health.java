package io.ports.health;

import java.time.Instant;
import java.util.List;
import java.util.Objects;

/**
 * The outcome of one health round: an overall status, why, and the details behind it.
 *
 * @param status    UP, DEGRADED or DOWN
 * @param reasons   one sentence per cause when not UP (empty when UP)
 * @param findings  every reconciliation finding of the round (also those settled by an action)
 * @param actions   what the round applied or declined to apply
 * @param ranges    utilization and time to exhaustion per range
 * @param checkedAt when the round started (the monitor's clock)
 */
public record Health(Status status, List<String> reasons, List<Finding> findings, List<AppliedAction> actions,
                     List<RangeHealth> ranges, Instant checkedAt) {

    /**
     * Overall status, best first. <ul>
     * <li>{@link #DOWN}: the check itself failed, or a range is at or over its critical threshold (allocations
     *     fail or are about to);</li>
     * <li>{@link #DEGRADED}: problems that need attention but do not stop allocation: unresolved findings
     *     (a stolen port, a squatter, a record whose holder does not serve its port), a range at or over its
     *     warning threshold or due to be full within the horizon, or a round that ran out of budget;</li>
     * <li>{@link #UP}: none of these.</li></ul>
     */
    public enum Status {
        UP(1.0), DEGRADED(0.5), DOWN(0.0);

        private final double value;

        Status(double value) {
            this.value = value;
        }

        /** 1 for UP, 0.5 for DEGRADED, 0 for DOWN: a single gauge value. */
        public double value() {
            return value;
        }
    }

    public Health {
        Objects.requireNonNull(status, "status");
        reasons = List.copyOf(reasons);
        findings = List.copyOf(findings);
        actions = List.copyOf(actions);
        ranges = List.copyOf(ranges);
        Objects.requireNonNull(checkedAt, "checkedAt");
    }

    /** The findings of one kind. */
    public List<Finding> findings(Finding.Kind kind) {
        return findings.stream().filter(f -> f.kind() == kind).toList();
    }

    /** For example {@code "DEGRADED at 2026-11-24T10:00:00Z: STOLEN: TCP 5432 ..."}. */
    @Override
    public String toString() {
        return status + " at " + checkedAt + (reasons.isEmpty() ? "" : ": " + String.join("; ", reasons));
    }
}
