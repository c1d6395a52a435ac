package io.ports.health;

import io.ports.core.registry.Allocation;

import java.util.Objects;
import java.util.Optional;

/**
 * What {@code Reconciler.reconcile(true)} did, or did not do, about a finding with an automatic remedy.
 *
 * @param finding the finding
 * @param result  done, declined (a re-check just before the change failed), deferred (the round's budget
 *                was spent) or failed (the registry threw)
 * @param record  the record as it stands afterwards, when known
 * @param detail  one sentence: what was done, or why not
 */
public record AppliedAction(Finding finding, Result result, Optional<Allocation> record, String detail) {

    /** How an attempt ended. */
    public enum Result {
        /** The registry was changed. */
        DONE,
        /** Not applied: the re-check just before the change found the situation changed or unsafe. */
        DECLINED,
        /** Not attempted: the round's budget was spent; the next round will see the finding again. */
        DEFERRED,
        /** The registry refused or failed (the detail says how). */
        FAILED
    }

    public AppliedAction {
        Objects.requireNonNull(finding, "finding");
        Objects.requireNonNull(result, "result");
        record = record == null ? Optional.empty() : record;
        detail = detail == null ? "" : detail;
    }

    /** Whether the registry was changed. */
    public boolean done() {
        return result == Result.DONE;
    }

    public Finding.Action action() {
        return finding.action();
    }

    @Override
    public String toString() {
        return result + " " + finding.action() + " " + finding.key() + ": " + detail;
    }
}
