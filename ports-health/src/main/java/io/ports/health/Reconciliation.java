package io.ports.health;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * The result of one {@link Reconciler#reconcile(boolean)}.
 *
 * @param checkedAt     when the socket tables were read
 * @param findings      every difference found, in port order
 * @param actions       what was applied or declined (empty unless applying was asked for)
 * @param checked       the state of every port looked at: live local records' ports and squatters' ports
 * @param skippedRemote live records of other hosts, which this host cannot check
 * @param skippedProbes probes skipped because the round's budget was spent
 * @param took          how long the round took, snapshot included
 * @param socketsVisible whether the kernel's socket tables could be read; when not (not Linux), nothing
 *                      was compared and there are no findings
 */
public record Reconciliation(Instant checkedAt, List<Finding> findings, List<AppliedAction> actions, List<PortStatus> checked,
                             int skippedRemote, int skippedProbes, Duration took, boolean socketsVisible) {
    public Reconciliation {
        Objects.requireNonNull(checkedAt, "checkedAt");
        findings = List.copyOf(findings);
        actions = List.copyOf(actions);
        checked = List.copyOf(checked);
        Objects.requireNonNull(took, "took");
    }

    /** The findings of one kind. */
    public List<Finding> findings(Finding.Kind kind) {
        return findings.stream().filter(f -> f.kind() == kind).toList();
    }

    /** The findings on one port. */
    public List<Finding> findings(PortKey key) {
        return findings.stream().filter(f -> f.key().equals(key)).toList();
    }

    /**
     * Findings that still need attention: problems ({@link Finding.Kind#isProblem()}) not settled by an
     * action done in this round.
     */
    public List<Finding> unresolved() {
        Set<Finding> settled = actions.stream().filter(AppliedAction::done).map(AppliedAction::finding).collect(Collectors.toSet());
        return findings.stream().filter(f -> f.kind().isProblem() && !settled.contains(f)).toList();
    }

    /** The actions that changed the registry. */
    public List<AppliedAction> done() {
        return actions.stream().filter(AppliedAction::done).toList();
    }
}
