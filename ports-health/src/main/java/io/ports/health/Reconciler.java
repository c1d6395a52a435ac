package io.ports.health;

import io.ports.core.PortRange;
import io.ports.core.ProbeResult;
import io.ports.core.Protocol;
import io.ports.core.ServiceType;
import io.ports.core.internal.ProcFs;
import io.ports.core.registry.Allocation;
import io.ports.core.registry.AllocationStatus;
import io.ports.core.registry.Registry;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.stream.Collectors;

/**
 * Compares the registry with what the kernel shows and reports every difference as a {@link Finding}:
 *
 * <ul>
 *   <li>{@link Finding.Kind#RESERVED_NEVER_BOUND}: a RESERVED record older than the grace period, nobody listening;</li>
 *   <li>{@link Finding.Kind#ACTIVE_NOT_LISTENING}: an ACTIVE record, nobody listening (the holder crashed or stopped);</li>
 *   <li>{@link Finding.Kind#STOLEN}: a live record whose port another process listens on;</li>
 *   <li>{@link Finding.Kind#SQUATTER}: a listener in a managed range (the catalog's type ranges) with no live record;</li>
 *   <li>{@link Finding.Kind#BOUND_BY_HOLDER}: a RESERVED record whose holder listens: it can be marked ACTIVE.</li>
 * </ul>
 *
 * <p>{@code reconcile(true)} applies only the safe remedies: {@link Finding.Action#MARK_ACTIVE}, and
 * {@link Finding.Action#EXPIRE} of a record whose holder process is gone and whose port a fresh probe
 * binds. It never signals, stops or otherwise touches a process, and never changes a record it could not
 * re-check just before the change.
 *
 * <p>Which records it checks: live records of this host (records of other hosts cannot be checked here).
 * A listener counts as the holder when its pid is the record's pid or a descendant of it (a wrapper's
 * child, a worker process). Records without a pid (0) are never STOLEN nor marked ACTIVE: any listener may
 * be theirs. UDP listeners in the kernel's ephemeral port range are not reported as squatters: they are
 * almost always clients' sockets.
 *
 * <p>Cost: one {@link SocketSnapshot}, map lookups per record, and a bind probe only for ports whose holder
 * is gone (plus TCP ports of ACTIVE records nobody listens on, to tell whether they are free), within the
 * {@link PortCheck}'s round budget; applying costs one durable registry write per action and stops when
 * the budget is spent (the rest waits for the next round). Thread-safe, but concurrent rounds are pointless:
 * {@link HealthMonitor} runs them one at a time.
 */
public final class Reconciler {
    private static final Logger log = LoggerFactory.getLogger(Reconciler.class);

    /** Default age after which a RESERVED record nobody listens on is reported. */
    public static final Duration DEFAULT_RESERVED_GRACE = Duration.ofSeconds(30);

    private final Registry registry;
    private final PortCheck portCheck;
    private final Duration reservedGrace;
    private final Clock clock;
    private final String localHost;
    private final List<PortRange> managedRanges;
    private final Optional<PortRange> ephemeral;
    private final java.util.function.Predicate<PortKey> exempt;
    private volatile boolean warnedUnavailable;

    private Reconciler(Builder b) {
        this.registry = b.registry;
        this.portCheck = b.portCheck != null ? b.portCheck : PortCheck.create();
        this.reservedGrace = b.reservedGrace;
        this.clock = b.clock;
        this.localHost = b.localHost != null ? b.localHost : registry.host();
        this.managedRanges = merge(b.managedRanges != null ? b.managedRanges
                : registry.catalog().types().stream().map(ServiceType::range).toList());
        this.ephemeral = ProcFs.ephemeralRange();
        this.exempt = b.exempt;
    }

    public static Builder builder(Registry registry) {
        return new Builder(registry);
    }

    /** A reconciler with the defaults: {@link PortCheck#create()}, 30 s grace, the catalog's ranges, this host. */
    public static Reconciler create(Registry registry) {
        return builder(registry).build();
    }

    public Registry registry() {
        return registry;
    }

    public PortCheck portCheck() {
        return portCheck;
    }

    /** The ranges squatters are looked for in, merged and sorted. */
    public List<PortRange> managedRanges() {
        return managedRanges;
    }

    /** The host name whose records this reconciler checks. */
    public String localHost() {
        return localHost;
    }

    /**
     * Takes one snapshot of the socket tables, compares every live local record and every listener in the
     * managed ranges with it, and, when {@code apply} is true, applies the safe remedies.
     *
     * @param apply whether to apply {@linkplain Finding.Action#isAutomatic() automatic} remedies
     * @return the findings, the actions (when applying), and the state of every port looked at
     */
    public Reconciliation reconcile(boolean apply) {
        return reconcile(portCheck.newRound(), apply);
    }

    /** As {@link #reconcile(boolean)}, within a round the caller started (and whose budget it set). */
    public Reconciliation reconcile(PortCheck.Round round, boolean apply) {
        long t0 = System.nanoTime();
        SocketSnapshot snapshot = round.snapshot();
        if (!snapshot.isAvailable()) {
            if (!warnedUnavailable) {
                warnedUnavailable = true;
                log.warn("the kernel's socket tables (/proc/net/tcp) are not readable here: reconciliation compares nothing");
            }
            return new Reconciliation(snapshot.takenAt(), List.of(), List.of(), List.of(), 0, 0, snapshot.took(), false);
        }
        Instant now = clock.instant();
        List<Finding> findings = new ArrayList<>();
        List<PortStatus> checked = new ArrayList<>();
        int remote = 0;
        for (Allocation a : registry.live()) {
            if (!localHost.equals(a.host())) {
                remote++;
                continue;
            }
            checkRecord(a, round, now, findings, checked);
        }
        findSquatters(snapshot, findings, checked);
        findings.sort(Comparator.comparing(Finding::key).thenComparing(Finding::kind));
        checked.sort(Comparator.comparing(PortStatus::key));
        List<AppliedAction> actions = apply ? apply(findings, round) : List.of();
        return new Reconciliation(snapshot.takenAt(), findings, actions, checked, remote, round.skippedProbes(),
                snapshot.took().plusNanos(System.nanoTime() - t0), true);
    }

    private void checkRecord(Allocation a, PortCheck.Round round, Instant now, List<Finding> findings, List<PortStatus> checked) {
        PortKey key = new PortKey(a.port(), a.protocol());
        SocketSnapshot snapshot = round.snapshot();
        List<SocketInfo> listeners = snapshot.listeners(a.port(), a.protocol());
        List<ProcessInfo> observed = SocketSnapshot.owners(listeners);
        boolean pidKnown = a.pid() > 0;
        boolean holderRuns = pidKnown && Processes.isRunning(a.pid());
        Optional<ProcessInfo> holder = holderRuns ? Processes.info(a.pid()) : Optional.empty();
        String holderText = !pidKnown ? "pid unknown"
                : holderRuns ? holder.map(ProcessInfo::toString).orElse("pid " + a.pid()) : "pid " + a.pid() + ", gone";
        String who = a.serviceName() + " (record " + a.id() + ", " + a.status() + ", " + holderText + ")";

        if (!listeners.isEmpty()) {
            checked.add(new PortStatus(key, listeners, Optional.empty(), snapshot.takenAt()));
            if (!pidKnown) {
                return; // any listener may be the holder's
            }
            List<ProcessInfo> foreign = observed.stream().filter(p -> !Processes.isSelfOrDescendant(p.pid(), a.pid())).toList();
            boolean byHolder = observed.size() > foreign.size();
            if (!foreign.isEmpty()) {
                findings.add(new Finding(Finding.Kind.STOLEN, key, Optional.of(a), holder, foreign, Finding.Action.RESOLVE_CONFLICT,
                        key + " of " + who + " is listened on by " + join(foreign)
                                + (holderRuns ? "" : " while the holder is gone")
                                + ": stop that process or move the service; ports does not touch foreign processes"));
            }
            if (byHolder && a.status() == AllocationStatus.RESERVED) {
                findings.add(new Finding(Finding.Kind.BOUND_BY_HOLDER, key, Optional.of(a), holder,
                        observed.stream().filter(p -> Processes.isSelfOrDescendant(p.pid(), a.pid())).toList(), Finding.Action.MARK_ACTIVE,
                        key + " of " + who + " is listened on by its holder: the record can be marked ACTIVE"));
            }
            return;
        }

        // nobody listens
        boolean holderGone = pidKnown && !holderRuns;
        Optional<ProbeResult> probe = Optional.empty();
        if (holderGone || a.status() == AllocationStatus.ACTIVE && a.protocol() == Protocol.TCP) {
            // a gone holder races nobody; a TCP probe (SO_REUSEADDR) never stops a server from binding
            probe = round.probeNow(key);
        }
        PortStatus status = new PortStatus(key, listeners, probe, snapshot.takenAt());
        checked.add(status);
        String probeText = probe.map(r -> r.isFree() ? "the port is free" : "the port does not bind: " + r).orElse("the port was not probed");
        if (a.status() == AllocationStatus.RESERVED) {
            Duration age = Duration.between(a.allocatedAt(), now);
            if (age.compareTo(reservedGrace) <= 0) {
                return;
            }
            String base = key + " of " + who + " was reserved " + age.toSeconds() + " s ago (grace " + reservedGrace.toSeconds()
                    + " s) and nobody listens on it";
            if (holderGone) {
                findings.add(new Finding(Finding.Kind.RESERVED_NEVER_BOUND, key, Optional.of(a), holder, List.of(), Finding.Action.EXPIRE,
                        base + "; its holder is gone and " + probeText + ": release the record"));
            } else {
                findings.add(new Finding(Finding.Kind.RESERVED_NEVER_BOUND, key, Optional.of(a), holder, List.of(), Finding.Action.CHECK_HOLDER,
                        base + (holderRuns ? "; its holder still runs" : "; its holder is unknown")
                                + ": ask the holder whether it still needs the port, or release the record"));
            }
        } else {
            String base = key + " of " + who + " is ACTIVE but nobody listens on it";
            if (holderGone) {
                findings.add(new Finding(Finding.Kind.ACTIVE_NOT_LISTENING, key, Optional.of(a), holder, List.of(), Finding.Action.EXPIRE,
                        base + ": its holder crashed and " + probeText + ": release the record"));
            } else {
                findings.add(new Finding(Finding.Kind.ACTIVE_NOT_LISTENING, key, Optional.of(a), holder, List.of(), Finding.Action.CHECK_HOLDER,
                        base + (holderRuns ? "; its holder still runs (restarting, or listening in another network namespace?)"
                                : "; its holder is unknown") + ", " + probeText + ": check the holder, or release the record"));
            }
        }
    }

    private void findSquatters(SocketSnapshot snapshot, List<Finding> findings, List<PortStatus> checked) {
        for (Map.Entry<PortKey, List<SocketInfo>> e : snapshot.listeners().entrySet()) {
            PortKey key = e.getKey();
            if (!isManaged(key.port())) {
                continue;
            }
            if (key.protocol() == Protocol.UDP && ephemeral.map(r -> r.contains(key.port())).orElse(false)) {
                continue;
            }
            if (registry.byPort(key.port(), key.protocol()).isPresent() || exempt.test(key)) {
                continue;
            }
            List<ProcessInfo> observed = SocketSnapshot.owners(e.getValue());
            checked.add(new PortStatus(key, e.getValue(), Optional.empty(), snapshot.takenAt()));
            findings.add(new Finding(Finding.Kind.SQUATTER, key, Optional.empty(), Optional.empty(), observed, Finding.Action.REGISTER_OR_STOP,
                    key + " in the managed range " + rangeOf(key.port()) + " is listened on by "
                            + (observed.isEmpty() ? "a process whose owner is not visible" : join(observed))
                            + " without a registry record: register it, stop it, or give it a port outside the managed ranges"));
        }
    }

    // ------------------------------------------------------------------------------------- applying

    private List<AppliedAction> apply(List<Finding> findings, PortCheck.Round round) {
        List<AppliedAction> out = new ArrayList<>();
        for (Finding f : findings) {
            if (!f.action().isAutomatic()) {
                continue;
            }
            if (round.expired()) {
                out.add(new AppliedAction(f, AppliedAction.Result.DEFERRED, f.record(), "the round's budget of " + portCheck.budget().toMillis()
                        + " ms is spent: left for the next round"));
                continue;
            }
            try {
                out.add(f.action() == Finding.Action.MARK_ACTIVE ? markActive(f) : release(f, round.snapshot()));
            } catch (RuntimeException e) {
                log.warn("reconciling {} failed: {}", f.key(), e.toString());
                out.add(new AppliedAction(f, AppliedAction.Result.FAILED, f.record(), "failed: " + e));
            }
        }
        for (AppliedAction a : out) {
            if (a.done()) {
                log.info("reconciled {}: {}", a.finding().key(), a.detail());
            }
        }
        return out;
    }

    private AppliedAction markActive(Finding f) {
        Allocation seen = f.record().orElseThrow();
        Optional<Allocation> now = registry.find(seen.id());
        if (now.isEmpty() || now.get().status() != AllocationStatus.RESERVED || now.get().pid() != seen.pid()) {
            return new AppliedAction(f, AppliedAction.Result.DECLINED, now, "the record changed meanwhile (now " + now.map(a -> a.status().toString()).orElse("gone") + ")");
        }
        Allocation after = registry.markActive(seen.id());
        return new AppliedAction(f, after.status() == AllocationStatus.ACTIVE ? AppliedAction.Result.DONE : AppliedAction.Result.DECLINED, Optional.of(after),
                "marked " + seen.serviceName() + " (record " + seen.id() + ") ACTIVE: its holder pid " + seen.pid() + " listens on " + f.key());
    }

    private AppliedAction release(Finding f, SocketSnapshot snapshot) {
        Allocation seen = f.record().orElseThrow();
        Optional<Allocation> now = registry.find(seen.id());
        if (now.isEmpty() || now.get().status() != seen.status() || now.get().pid() != seen.pid()) {
            return new AppliedAction(f, AppliedAction.Result.DECLINED, now, "the record changed meanwhile (now " + now.map(a -> a.status().toString()).orElse("gone") + ")");
        }
        if (seen.pid() <= 0 || Processes.isRunning(seen.pid())) {
            return new AppliedAction(f, AppliedAction.Result.DECLINED, now, "its holder pid " + seen.pid() + " runs (again?): left alone");
        }
        if (!snapshot.listeners(seen.port(), seen.protocol()).isEmpty()) {
            return new AppliedAction(f, AppliedAction.Result.DECLINED, now, "somebody listens on the port: left alone");
        }
        ProbeResult probe = portCheck.probe(f.key());
        if (!probe.isFree()) {
            return new AppliedAction(f, AppliedAction.Result.DECLINED, now, "the port does not bind (" + probe + "): left alone");
        }
        Allocation after = registry.expire(seen.id(), "its holder pid " + seen.pid() + " is gone and " + f.key() + " is free (health reconcile)");
        return new AppliedAction(f, after.status() == AllocationStatus.EXPIRED ? AppliedAction.Result.DONE : AppliedAction.Result.DECLINED, Optional.of(after),
                "expired " + seen.serviceName() + " (record " + seen.id() + ", was " + seen.status() + "): its holder pid " + seen.pid()
                        + " is gone and " + f.key() + " is free");
    }

    // ------------------------------------------------------------------------------------- helpers

    private boolean isManaged(int port) {
        for (PortRange r : managedRanges) {
            if (r.contains(port)) {
                return true;
            }
            if (r.start() > port) {
                return false;
            }
        }
        return false;
    }

    private String rangeOf(int port) {
        return managedRanges.stream().filter(r -> r.contains(port)).findFirst().map(PortRange::toString).orElse("?");
    }

    private static String join(List<ProcessInfo> ps) {
        return ps.isEmpty() ? "a process whose owner is not visible" : ps.stream().map(ProcessInfo::toString).collect(Collectors.joining(", "));
    }

    /** Sorted, overlapping and adjacent ranges merged. */
    static List<PortRange> merge(Collection<PortRange> ranges) {
        List<PortRange> sorted = ranges.stream().sorted(Comparator.comparingInt(PortRange::start)).toList();
        List<PortRange> out = new ArrayList<>();
        for (PortRange r : sorted) {
            if (!out.isEmpty() && out.get(out.size() - 1).end() >= r.start() - 1) {
                PortRange last = out.remove(out.size() - 1);
                out.add(PortRange.of(last.start(), Math.max(last.end(), r.end())));
            } else {
                out.add(r);
            }
        }
        return List.copyOf(out);
    }

    /** Configures a {@link Reconciler}. */
    public static final class Builder {
        private final Registry registry;
        private PortCheck portCheck;
        private Duration reservedGrace = DEFAULT_RESERVED_GRACE;
        private Clock clock = Clock.systemUTC();
        private String localHost;
        private List<PortRange> managedRanges;
        private java.util.function.Predicate<PortKey> exempt = k -> false;

        private Builder(Registry registry) {
            this.registry = Objects.requireNonNull(registry, "registry");
        }

        /** How ports are checked (probe, snapshots, round budget); default {@link PortCheck#create()}. */
        public Builder portCheck(PortCheck check) {
            this.portCheck = Objects.requireNonNull(check, "port check");
            return this;
        }

        /** How long a RESERVED record may go unbound before it is reported; default 30 s. */
        public Builder reservedGrace(Duration grace) {
            Objects.requireNonNull(grace, "reserved grace");
            if (grace.isNegative()) {
                throw new IllegalArgumentException("reserved grace " + grace + " is negative: expected 0 or more, for example 30 s");
            }
            this.reservedGrace = grace;
            return this;
        }

        /** Wall clock that ages RESERVED records (against their {@code allocated_at}); default UTC. */
        public Builder clock(Clock clock) {
            this.clock = Objects.requireNonNull(clock, "clock");
            return this;
        }

        /**
         * The host name of this host's records; default the kernel's host name, which is also the
         * registry's default. Set it to the same value when the registry was built with {@code host(...)}.
         */
        public Builder localHost(String host) {
            if (host == null || host.isBlank()) {
                throw new IllegalArgumentException("local host name must not be blank");
            }
            this.localHost = host;
            return this;
        }

        /** Ranges to look for squatters in; default every range of the registry's catalog. Empty turns squatter detection off. */
        public Builder managedRanges(Collection<PortRange> ranges) {
            this.managedRanges = List.copyOf(ranges);
            return this;
        }

        /**
         * Listeners that are never squatters although no record names them: the caller's own sockets that it holds outside
         * the registry on purpose (the registry daemon's HTTP port when it lies in a managed range). Asked in every round,
         * so it may name a port bound after the reconciler was built. Default: none.
         */
        public Builder exempt(java.util.function.Predicate<PortKey> exempt) {
            this.exempt = Objects.requireNonNull(exempt, "exempt");
            return this;
        }

        public Reconciler build() {
            return new Reconciler(this);
        }
    }

    @Override
    public String toString() {
        return "Reconciler[host " + localHost + ", managed " + managedRanges + ", grace " + reservedGrace + "]";
    }
}
