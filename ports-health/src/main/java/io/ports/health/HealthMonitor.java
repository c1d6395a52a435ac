package io.ports.health;

import io.netty.channel.EventLoop;
import io.netty.util.concurrent.ScheduledFuture;
import io.ports.core.EventLoops;
import io.ports.core.registry.Allocation;
import io.ports.core.registry.Registry;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Collectors;

/**
 * Checks the node's ports periodically and keeps the outcome: an overall {@link Health} (UP, DEGRADED,
 * DOWN, with reasons), the last rounds' results, and a bounded history per port.
 *
 * <p>A round: optionally {@link Registry#cleanup()} (heartbeat expiry), then {@link Reconciler#reconcile}
 * (one socket snapshot; safe remedies applied unless turned off), then {@link ExhaustionMonitor#sample()},
 * then the status. Rounds never overlap: a tick that finds the previous round still running is skipped
 * (and counted).
 *
 * <h2>Threads</h2>
 * The schedule runs on one loop of the shared {@link EventLoops} ({@code scheduleWithFixedDelay}); the
 * monitor creates no thread and no pool. The round itself reads {@code /proc} and may bind ports and write
 * the registry durably: tens of milliseconds on a busy host, too long to hold an event loop that serves
 * connections. So the tick hands the round to an {@link Executor}: by default
 * {@link ForkJoinPool#commonPool()}, as Caffeine and dnsjava do; pass the event loop itself
 * ({@code executor(loops.next())}) to keep everything on it, or an executor of your own. Each round is
 * bounded by the {@link PortCheck}'s budget (probes and actions stop when it is spent; the rest waits for
 * the next round).
 *
 * <pre>{@code
 * try (HealthMonitor health = HealthMonitor.builder(registry, loops).interval(Duration.ofSeconds(10)).build().start()) {
 *     Health now = health.checkNow().get(5, TimeUnit.SECONDS);
 *     health.history(PortKey.tcp(5432));   // the last rounds' view of one port
 * }
 * }</pre>
 *
 * <p>{@link #close()} stops the schedule, once; it never closes the event loops, the executor or the registry.
 */
public final class HealthMonitor implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(HealthMonitor.class);

    private final Registry registry;
    private final EventLoop loop;
    private final Reconciler reconciler;
    private final ExhaustionMonitor exhaustion;
    private final Duration interval;
    private final Duration initialDelay;
    private final int historySize;
    private final int maxTrackedPorts;
    private final boolean applySafeActions;
    private final boolean expireOverdue;
    private final Executor executor;
    private final Clock clock;

    private final Object lock = new Object();
    private final AtomicBoolean started = new AtomicBoolean();
    private final AtomicBoolean closed = new AtomicBoolean();
    private final AtomicLong rounds = new AtomicLong();
    private final AtomicLong skippedTicks = new AtomicLong();
    private volatile ScheduledFuture<?> schedule;
    private volatile Health current;
    private CompletableFuture<Health> inFlight;                 // guarded by lock
    private final Deque<Health> recent = new ArrayDeque<>();      // guarded by lock
    private final LinkedHashMap<PortKey, Deque<PortObservation>> ports = new LinkedHashMap<>(); // guarded by lock

    private HealthMonitor(Builder b) {
        this.registry = b.registry;
        this.loop = b.loops.next();
        this.clock = b.clock;
        this.reconciler = b.reconciler != null ? b.reconciler : Reconciler.builder(registry).clock(clock).build();
        if (reconciler.registry() != registry) {
            throw new IllegalArgumentException("the reconciler checks another registry than the monitor's: build it with the same Registry");
        }
        this.exhaustion = b.exhaustion != null ? b.exhaustion : ExhaustionMonitor.create(registry);
        this.interval = b.interval;
        this.initialDelay = b.initialDelay != null ? b.initialDelay : b.interval;
        this.historySize = b.historySize;
        this.maxTrackedPorts = b.maxTrackedPorts;
        this.applySafeActions = b.applySafeActions;
        this.expireOverdue = b.expireOverdue;
        this.executor = b.executor != null ? b.executor : ForkJoinPool.commonPool();
    }

    /**
     * @param registry the registry to check
     * @param loops    the shared event loops; one of them runs the schedule (they are never closed by the monitor)
     */
    public static Builder builder(Registry registry, EventLoops loops) {
        return new Builder(registry, loops);
    }

    /**
     * Starts the periodic checks (once; later calls do nothing).
     *
     * @return {@code this}
     * @throws IllegalStateException when closed
     */
    public HealthMonitor start() {
        if (closed.get()) {
            throw new IllegalStateException("the health monitor is closed: build a new one");
        }
        if (started.compareAndSet(false, true)) {
            schedule = loop.scheduleWithFixedDelay(this::tick, initialDelay.toMillis(), interval.toMillis(), TimeUnit.MILLISECONDS);
            if (closed.get()) { // closed while starting
                schedule.cancel(false);
            }
            log.debug("health monitor started: every {} ms on {}", interval.toMillis(), loop);
        }
        return this;
    }

    private void tick() {
        if (closed.get()) {
            return;
        }
        startRound(true);
    }

    /**
     * Runs a round now, off the schedule; when one is running already, returns that one.
     *
     * @return the round's health; failed only with {@link IllegalStateException} when the monitor is closed
     *         (a round that fails inside completes normally with a DOWN health). Never wait for it on the
     *         executor's own thread (for example the event loop, when the rounds run there).
     */
    public CompletableFuture<Health> checkNow() {
        if (closed.get()) {
            return CompletableFuture.failedFuture(new IllegalStateException("the health monitor is closed"));
        }
        return startRound(false);
    }

    private CompletableFuture<Health> startRound(boolean scheduled) {
        CompletableFuture<Health> f;
        synchronized (lock) {
            if (inFlight != null && !inFlight.isDone()) {
                if (scheduled) {
                    skippedTicks.incrementAndGet();
                }
                return inFlight;
            }
            f = new CompletableFuture<>();
            inFlight = f;
        }
        try {
            executor.execute(() -> {
                try {
                    f.complete(runRound());
                } catch (Throwable t) {
                    f.complete(record(failed(clock.instant(), t), null));
                }
            });
        } catch (RejectedExecutionException e) {
            f.complete(record(failed(clock.instant(), e), null));
        }
        return f;
    }

    private Health runRound() {
        Instant at = clock.instant();
        Health h;
        Reconciliation r = null;
        try {
            List<Allocation> expired = expireOverdue ? registry.cleanup() : List.of();
            r = reconciler.reconcile(applySafeActions);
            List<RangeHealth> ranges = exhaustion.sample();
            h = evaluate(at, r, ranges, expired);
        } catch (RuntimeException e) {
            h = failed(at, e);
        }
        return record(h, r);
    }

    private Health failed(Instant at, Throwable t) {
        log.warn("health round failed: {}", t.toString());
        return new Health(Health.Status.DOWN, List.of("the health check failed: " + t), List.of(), List.of(), exhaustion.last(), at);
    }

    private Health evaluate(Instant at, Reconciliation r, List<RangeHealth> ranges, List<Allocation> expired) {
        List<String> down = new ArrayList<>();
        List<String> degraded = new ArrayList<>();
        for (RangeHealth rh : ranges) {
            switch (rh.level()) {
                case EXHAUSTED:
                    down.add("range " + rh.range() + " (" + String.join(", ", rh.types()) + ") is full: " + rh.used() + " of " + rh.size()
                            + " ports used; release ports or widen the range");
                    break;
                case CRITICAL:
                    down.add("range " + rh.range() + " (" + String.join(", ", rh.types()) + ") is " + pct(rh.utilization()) + " used ("
                            + rh.used() + " of " + rh.size() + "), at or over the critical threshold " + pct(exhaustion.criticalThreshold()));
                    break;
                case WARNING:
                    degraded.add("range " + rh.range() + " (" + String.join(", ", rh.types()) + ") is " + pct(rh.utilization()) + " used ("
                            + rh.used() + " of " + rh.size() + ")"
                            + (rh.utilization() >= exhaustion.warningThreshold()
                                    ? ", at or over the warning threshold " + pct(exhaustion.warningThreshold()) : "")
                            + rh.timeToExhaustion().filter(d -> !d.isZero()).map(d -> "; full in about " + RangeHealth.human(d)).orElse(""));
                    break;
                default:
                    break;
            }
        }
        Map<Finding.Kind, List<Finding>> open = new EnumMap<>(Finding.Kind.class);
        for (Finding f : r.unresolved()) {
            open.computeIfAbsent(f.kind(), k -> new ArrayList<>()).add(f);
        }
        open.forEach((kind, fs) -> degraded.add(kind + ": " + (fs.size() == 1 ? fs.get(0).detail()
                : fs.size() + " ports (" + fs.stream().limit(5).map(f -> f.key().toString()).collect(Collectors.joining(", "))
                        + (fs.size() > 5 ? ", ..." : "") + ")")));
        long deferred = r.actions().stream().filter(a -> a.result() == AppliedAction.Result.DEFERRED).count();
        if (r.skippedProbes() > 0 || deferred > 0) {
            degraded.add("the round ran out of its budget of " + reconciler.portCheck().budget().toMillis() + " ms: " + r.skippedProbes()
                    + " probes skipped, " + deferred + " actions left for the next round");
        }
        if (!r.socketsVisible()) {
            degraded.add("the kernel's socket tables are not readable here (not Linux, or no /proc): ports were not checked");
        }
        if (!expired.isEmpty()) {
            log.info("health round expired {} overdue records", expired.size());
        }
        Health.Status status = !down.isEmpty() ? Health.Status.DOWN : !degraded.isEmpty() ? Health.Status.DEGRADED : Health.Status.UP;
        List<String> reasons = new ArrayList<>(down);
        reasons.addAll(degraded);
        return new Health(status, reasons, r.findings(), r.actions(), ranges, at);
    }

    private static String pct(double ratio) {
        return Math.round(ratio * 1000) / 10.0 + "%";
    }

    private Health record(Health h, Reconciliation r) {
        Health before;
        synchronized (lock) {
            before = current;
            current = h;
            recent.addLast(h);
            while (recent.size() > historySize) {
                recent.removeFirst();
            }
            if (r != null) {
                for (PortStatus s : r.checked()) {
                    PortObservation o = new PortObservation(h.checkedAt(), s, registry.byPort(s.port(), s.protocol()),
                            r.findings(s.key()).stream().map(Finding::kind).toList());
                    Deque<PortObservation> d = ports.remove(s.key()); // re-inserted last: least recently seen ports go first
                    if (d == null) {
                        d = new ArrayDeque<>(Math.min(historySize, 16));
                    }
                    d.addLast(o);
                    while (d.size() > historySize) {
                        d.removeFirst();
                    }
                    ports.put(s.key(), d);
                }
                while (ports.size() > maxTrackedPorts) {
                    ports.remove(ports.keySet().iterator().next());
                }
            }
        }
        rounds.incrementAndGet();
        if (before == null || before.status() != h.status()) {
            if (h.status() == Health.Status.UP) {
                log.info("ports health is UP{}", before == null ? "" : " (was " + before.status() + ")");
            } else {
                log.warn("ports health is {}{}: {}", h.status(), before == null ? "" : " (was " + before.status() + ")", String.join("; ", h.reasons()));
            }
        }
        return h;
    }

    // ------------------------------------------------------------------------------------- results

    /** The last round's health; empty before the first round completes. */
    public Optional<Health> current() {
        return Optional.ofNullable(current);
    }

    /** The last rounds' health, oldest first, at most {@code historySize}. */
    public List<Health> recent() {
        synchronized (lock) {
            return List.copyOf(recent);
        }
    }

    /** The last rounds' view of one port, oldest first, at most {@code historySize}; empty for a port never looked at. */
    public List<PortObservation> history(PortKey key) {
        synchronized (lock) {
            Deque<PortObservation> d = ports.get(key);
            return d == null ? List.of() : List.copyOf(d);
        }
    }

    /** Every tracked port's history (at most {@code maxTrackedPorts} ports, least recently seen dropped first). */
    public Map<PortKey, List<PortObservation>> history() {
        synchronized (lock) {
            Map<PortKey, List<PortObservation>> out = new LinkedHashMap<>();
            ports.forEach((k, d) -> out.put(k, List.copyOf(d)));
            return out;
        }
    }

    /** Rounds completed (scheduled and {@link #checkNow()}). */
    public long rounds() {
        return rounds.get();
    }

    /** Scheduled ticks skipped because the previous round still ran. */
    public long skippedTicks() {
        return skippedTicks.get();
    }

    public Registry registry() {
        return registry;
    }

    public Reconciler reconciler() {
        return reconciler;
    }

    public ExhaustionMonitor exhaustion() {
        return exhaustion;
    }

    public Duration interval() {
        return interval;
    }

    public int historySize() {
        return historySize;
    }

    public boolean isClosed() {
        return closed.get();
    }

    /**
     * Stops the periodic checks, once; a round under way finishes on its own. Never closes the event
     * loops, the executor or the registry.
     */
    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        ScheduledFuture<?> s = schedule;
        if (s != null) {
            s.cancel(false);
        }
        log.debug("health monitor stopped after {} rounds", rounds.get());
    }

    @Override
    public String toString() {
        Health h = current;
        return "HealthMonitor[" + (h == null ? "no round yet" : h.status().toString()) + ", every " + interval.toMillis() + " ms, "
                + rounds.get() + " rounds" + (closed.get() ? ", closed]" : "]");
    }

    /** Configures a {@link HealthMonitor}. */
    public static final class Builder {
        private final Registry registry;
        private final EventLoops loops;
        private Reconciler reconciler;
        private ExhaustionMonitor exhaustion;
        private Duration interval = Duration.ofSeconds(10);
        private Duration initialDelay;
        private int historySize = 20;
        private int maxTrackedPorts = 4096;
        private boolean applySafeActions = true;
        private boolean expireOverdue;
        private Executor executor;
        private Clock clock = Clock.systemUTC();

        private Builder(Registry registry, EventLoops loops) {
            this.registry = Objects.requireNonNull(registry, "registry");
            this.loops = Objects.requireNonNull(loops, "event loops");
        }

        /** Time between the end of one tick and the next; default 10 s. */
        public Builder interval(Duration interval) {
            Objects.requireNonNull(interval, "interval");
            if (interval.toMillis() < 1) {
                throw new IllegalArgumentException("interval " + interval + " must be at least 1 ms, for example 10 s");
            }
            this.interval = interval;
            return this;
        }

        /** Delay before the first scheduled round; default the interval. */
        public Builder initialDelay(Duration delay) {
            Objects.requireNonNull(delay, "initial delay");
            if (delay.isNegative()) {
                throw new IllegalArgumentException("initial delay " + delay + " is negative: expected 0 or more");
            }
            this.initialDelay = delay;
            return this;
        }

        /** Rounds kept per port and overall; default 20. */
        public Builder historySize(int size) {
            if (size < 1 || size > 10_000) {
                throw new IllegalArgumentException("history size " + size + " out of range: expected 1-10000");
            }
            this.historySize = size;
            return this;
        }

        /** Ports whose history is kept; the least recently seen go first; default 4096. */
        public Builder maxTrackedPorts(int max) {
            if (max < 1 || max > 65_536 * 2) {
                throw new IllegalArgumentException("max tracked ports " + max + " out of range: expected 1-131072");
            }
            this.maxTrackedPorts = max;
            return this;
        }

        /** Whether rounds apply the safe remedies ({@code reconcile(true)}); default true. */
        public Builder applySafeActions(boolean apply) {
            this.applySafeActions = apply;
            return this;
        }

        /**
         * Whether each round first runs {@link Registry#cleanup()} (expires records past their heartbeat
         * timeout or whose process is gone); default false. Use this or {@link Registry#scheduleCleanup}, not both.
         */
        public Builder expireOverdue(boolean expire) {
            this.expireOverdue = expire;
            return this;
        }

        /** The reconciler; default one over the same registry, with this builder's clock. */
        public Builder reconciler(Reconciler reconciler) {
            this.reconciler = Objects.requireNonNull(reconciler, "reconciler");
            return this;
        }

        /** The exhaustion monitor; default {@link ExhaustionMonitor#create(Registry)}. */
        public Builder exhaustion(ExhaustionMonitor monitor) {
            this.exhaustion = Objects.requireNonNull(monitor, "exhaustion monitor");
            return this;
        }

        /** Where rounds run; default {@link ForkJoinPool#commonPool()} (see the class comment). */
        public Builder executor(Executor executor) {
            this.executor = Objects.requireNonNull(executor, "executor");
            return this;
        }

        /** Wall clock stamping rounds (and aging RESERVED records in the default reconciler); default UTC. */
        public Builder clock(Clock clock) {
            this.clock = Objects.requireNonNull(clock, "clock");
            return this;
        }

        /** Builds the monitor, not started: call {@link HealthMonitor#start()}. */
        public HealthMonitor build() {
            if (loops.isClosed()) {
                throw new IllegalStateException("the event loops are closed: a health monitor needs running loops");
            }
            return new HealthMonitor(this);
        }
    }
}
