package io.ports.health;

import io.ports.core.registry.Allocation;

import java.time.Instant;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * One port as one health round saw it: an entry of {@link HealthMonitor#history(PortKey)}.
 *
 * @param checkedAt when the round started
 * @param status    listeners and probe verdict
 * @param record    the live registry record on the port after the round's actions, if any
 * @param findings  the kinds of the round's findings on this port (empty when all was as recorded)
 */
public record PortObservation(Instant checkedAt, PortStatus status, Optional<Allocation> record, List<Finding.Kind> findings) {
    public PortObservation {
        Objects.requireNonNull(checkedAt, "checkedAt");
        Objects.requireNonNull(status, "status");
        record = record == null ? Optional.empty() : record;
        findings = findings == null ? List.of() : List.copyOf(findings);
    }

    /** Whether the round found nothing wrong on this port. */
    public boolean isHealthy() {
        return findings.stream().noneMatch(Finding.Kind::isProblem);
    }
}
