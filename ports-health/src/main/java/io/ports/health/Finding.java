package io.ports.health;

import io.ports.core.Protocol;
import io.ports.core.registry.Allocation;

import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * A difference between the registry and what the kernel shows for one port, with the two parties and
 * what to do about it.
 *
 * @param kind     what is wrong (or, for {@link Kind#BOUND_BY_HOLDER}, what the registry does not know yet)
 * @param key      the port and protocol
 * @param record   the registry record on the port; empty for a {@link Kind#SQUATTER}
 * @param holder   the record's process as seen now, when its pid is known and it runs
 * @param observed the processes listening on the port (empty when nobody listens, or owners are not visible)
 * @param action   the suggested remedy; only {@linkplain Action#isAutomatic() automatic} ones are ever applied
 * @param detail   one sentence for people: what was found and what to do
 */
public record Finding(Kind kind, PortKey key, Optional<Allocation> record, Optional<ProcessInfo> holder,
                      List<ProcessInfo> observed, Action action, String detail) {

    /** What a finding is about. */
    public enum Kind {
        /** A RESERVED record older than the grace period whose port nobody listens on: the service never bound it. */
        RESERVED_NEVER_BOUND,
        /** An ACTIVE record whose port nobody listens on: its holder crashed, or stopped serving. */
        ACTIVE_NOT_LISTENING,
        /** A live record's port is listened on by a process other than the record's (or its descendants). */
        STOLEN,
        /** Something listens in a managed range (a catalog type's range) without any live record. */
        SQUATTER,
        /** A RESERVED record's port is listened on by its holder: the record can be marked ACTIVE. */
        BOUND_BY_HOLDER;

        /** Whether this kind asks for attention ({@link #BOUND_BY_HOLDER} is good news). */
        public boolean isProblem() {
            return this != BOUND_BY_HOLDER;
        }
    }

    /** Remedies. Only the automatic ones are applied, and never to a process: ports never signals anybody. */
    public enum Action {
        /** Mark the RESERVED record ACTIVE ({@code Registry.markActive}). Automatic. */
        MARK_ACTIVE(true),
        /**
         * Expire the record ({@code Registry.expire}): its holder process is gone and the port is free. Automatic; re-checked just
         * before it is applied (record unchanged, holder still gone, a fresh probe binds the port).
         */
        EXPIRE(true),
        /** The holder runs (or is unknown) but does not serve the port: ask it, or release the record by hand. */
        CHECK_HOLDER(false),
        /** Another process serves a recorded port: stop it or move the service; ports touches no foreign process. */
        RESOLVE_CONFLICT(false),
        /** An unrecorded listener in a managed range: register it (import a record), stop it, or leave the range. */
        REGISTER_OR_STOP(false);

        private final boolean automatic;

        Action(boolean automatic) {
            this.automatic = automatic;
        }

        /** Whether {@code Reconciler.reconcile(true)} applies it. */
        public boolean isAutomatic() {
            return automatic;
        }
    }

    public Finding {
        Objects.requireNonNull(kind, "kind");
        Objects.requireNonNull(key, "key");
        record = record == null ? Optional.empty() : record;
        holder = holder == null ? Optional.empty() : holder;
        observed = observed == null ? List.of() : List.copyOf(observed);
        Objects.requireNonNull(action, "action");
        detail = detail == null ? "" : detail;
    }

    public int port() {
        return key.port();
    }

    public Protocol protocol() {
        return key.protocol();
    }

    /** The record's id, when there is a record. */
    public Optional<String> recordId() {
        return record.map(Allocation::id);
    }

    /** For example {@code "STOLEN TCP 31005: ..."}. */
    @Override
    public String toString() {
        return kind + " " + key + ": " + detail;
    }
}
