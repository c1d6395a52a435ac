package io.ports.health;

import io.ports.core.BindProbe;
import io.ports.core.ProbeResult;
import io.ports.core.Protocol;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.EnumSet;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.function.Supplier;

/**
 * Checks ports: is one listening, by which process (pid and command), and can it be bound.
 *
 * <p>Checks run in {@linkplain Round rounds}: a round reads the kernel's socket tables once (a
 * {@link SocketSnapshot}, the only expensive step: milliseconds) and answers every port from it; each
 * check then costs a map lookup and at most one bind. A round has a time budget: once spent, checks
 * still report listeners but no longer probe, so a round never runs much longer than its snapshot plus
 * its budget.
 *
 * <pre>{@code
 * PortCheck check = PortCheck.create();
 * PortCheck.Round round = check.newRound();
 * PortStatus db = round.check(PortKey.tcp(5432), PortCheck.ProbeMode.WHEN_NOT_LISTENING);
 * db.listeningProcesses();   // [pid 4242 (postgres)]
 * }</pre>
 *
 * <p><b>Probing binds the port for a moment.</b> A probe binds and closes at once, without listening; TCP
 * probes set {@code SO_REUSEADDR} as servers do, so they never stop a server from binding, but a UDP probe
 * can make a UDP bind by the port's owner fail in that instant. Do not probe ports a holder is about to bind
 * (RESERVED records); {@link Reconciler} probes only ports whose holder is gone.
 *
 * <p>Thread-safe; rounds are independent.
 */
public final class PortCheck {
    /** When a check binds the port to see whether it is free. */
    public enum ProbeMode {
        /** Never: listeners only. */
        NEVER,
        /** Only when nobody listens (a listener already answers the question). */
        WHEN_NOT_LISTENING,
        /** Always (within the round's budget). */
        ALWAYS
    }

    /** Default time budget of a round, after its snapshot. */
    public static final Duration DEFAULT_BUDGET = Duration.ofSeconds(1);

    private final BindProbe probe;
    private final Supplier<SocketSnapshot> snapshots;
    private final Duration budget;

    private PortCheck(BindProbe probe, Supplier<SocketSnapshot> snapshots, Duration budget) {
        this.probe = probe;
        this.snapshots = snapshots;
        this.budget = budget;
    }

    /** Probes the wildcard address ({@link BindProbe#wildcard()}), reads the kernel's tables, 1 s budget per round. */
    public static PortCheck create() {
        return builder().build();
    }

    public static Builder builder() {
        return new Builder();
    }

    public BindProbe bindProbe() {
        return probe;
    }

    public Duration budget() {
        return budget;
    }

    /** Starts a round with this check's budget: reads the socket tables now. */
    public Round newRound() {
        return newRound(budget);
    }

    /** Starts a round with the given budget: reads the socket tables now. */
    public Round newRound(Duration budget) {
        Objects.requireNonNull(budget, "budget");
        SocketSnapshot s = snapshots.get();
        return new Round(s, System.nanoTime() + budget.toNanos());
    }

    /** One port, in a round of its own; probes when nobody listens. */
    public PortStatus check(int port, Protocol protocol) {
        return newRound().check(new PortKey(port, protocol), ProbeMode.WHEN_NOT_LISTENING);
    }

    /** Several ports from one snapshot. */
    public List<PortStatus> checkAll(Collection<PortKey> ports, ProbeMode mode) {
        Round r = newRound();
        List<PortStatus> out = new ArrayList<>(ports.size());
        for (PortKey k : ports) {
            out.add(r.check(k, mode));
        }
        return out;
    }

    /** Binds the port once, for its protocol, now (no snapshot). */
    public ProbeResult probe(PortKey key) {
        return probe.probe(key.port(), EnumSet.of(key.protocol()));
    }

    /**
     * One snapshot of the socket tables and a deadline for probes. Not thread-safe: use a round from
     * one thread.
     */
    public final class Round {
        private final SocketSnapshot snapshot;
        private final long deadline;
        private int probes;
        private int skippedProbes;

        private Round(SocketSnapshot snapshot, long deadline) {
            this.snapshot = snapshot;
            this.deadline = deadline;
        }

        public SocketSnapshot snapshot() {
            return snapshot;
        }

        /** Whether the budget is spent: checks no longer probe. */
        public boolean expired() {
            return System.nanoTime() - deadline >= 0;
        }

        /** Probes done so far. */
        public int probes() {
            return probes;
        }

        /** Probes wanted but skipped because the budget was spent. */
        public int skippedProbes() {
            return skippedProbes;
        }

        /** Checks one port: listeners from the snapshot, and a probe as the mode says while the budget lasts. */
        public PortStatus check(PortKey key, ProbeMode mode) {
            Objects.requireNonNull(key, "key");
            Objects.requireNonNull(mode, "mode");
            List<SocketInfo> listeners = snapshot.listeners(key.port(), key.protocol());
            boolean want = mode == ProbeMode.ALWAYS || mode == ProbeMode.WHEN_NOT_LISTENING && listeners.isEmpty();
            Optional<ProbeResult> result = Optional.empty();
            if (want) {
                result = probeNow(key);
            }
            return new PortStatus(key, listeners, result, snapshot.takenAt());
        }

        /** Binds the port now, if the budget lasts; counts the probe. */
        public Optional<ProbeResult> probeNow(PortKey key) {
            if (expired()) {
                skippedProbes++;
                return Optional.empty();
            }
            probes++;
            return Optional.of(probe(key));
        }
    }

    /** Configures a {@link PortCheck}. */
    public static final class Builder {
        private BindProbe probe;
        private Supplier<SocketSnapshot> snapshots = SocketSnapshot::take;
        private Duration budget = DEFAULT_BUDGET;

        private Builder() {
        }

        /** The probe that binds ports; default {@link BindProbe#wildcard()}. */
        public Builder bindProbe(BindProbe probe) {
            this.probe = Objects.requireNonNull(probe, "bind probe");
            return this;
        }

        /** Where snapshots come from; default {@link SocketSnapshot#take()}. */
        public Builder snapshots(Supplier<SocketSnapshot> snapshots) {
            this.snapshots = Objects.requireNonNull(snapshots, "snapshots");
            return this;
        }

        /** Time a round may spend probing after its snapshot; default 1 s. */
        public Builder budget(Duration budget) {
            Objects.requireNonNull(budget, "budget");
            if (budget.isNegative()) {
                throw new IllegalArgumentException("round budget " + budget + " is negative: expected 0 or more");
            }
            this.budget = budget;
            return this;
        }

        public PortCheck build() {
            return new PortCheck(probe != null ? probe : BindProbe.wildcard(), snapshots, budget);
        }
    }
}
