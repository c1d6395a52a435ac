package io.ports.health;

import io.ports.core.registry.Registry;
import io.ports.core.registry.RegistryStatistics;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.function.LongSupplier;

/**
 * Watches how full the registry's port ranges are ({@link RangeUse}), rates each against a
 * warning and a critical threshold, and estimates the time until each is full.
 *
 * <p>Each {@link #sample()} records, per range, the ports used ({@link RangeUse}) and the allocations so far
 * ({@link RegistryStatistics#allocationsByType()}), stamped with the ticker; samples older than the window
 * are dropped and at most {@code maxSamples} are kept. The estimate divides the free ports by the <em>net</em>
 * growth of the used ports between the oldest sample in the window and now: the gross allocation rate is
 * reported too, but a range with as many releases as allocations never fills up, however busy. A range
 * whose estimate falls within the optional horizon is at least {@link RangeHealth.Level#WARNING}.
 *
 * <p>Types sharing a range (the default catalog's DATABASE, CLUSTER, REPLICATION and {@code database})
 * are one range here, listing its types. Thread-safe.
 *
 * <pre>{@code
 * ExhaustionMonitor m = ExhaustionMonitor.builder(registry).warningThreshold(0.8).criticalThreshold(0.95)
 *         .window(Duration.ofMinutes(15)).horizon(Duration.ofHours(1)).build();
 * m.sample();   // call periodically; HealthMonitor does, once per round
 * }</pre>
 */
public final class ExhaustionMonitor {
    /** Ranges taking longer than this to fill are reported without an estimate. */
    private static final Duration MAX_ESTIMATE = Duration.ofDays(3650);

    private final Registry registry;
    private final double warning;
    private final double critical;
    private final Duration window;
    private final int maxSamples;
    private final Duration horizon;
    private final LongSupplier ticker;
    private final Deque<Sample> samples = new ArrayDeque<>();
    private List<RangeHealth> last = List.of();

    /** Used ports and allocations so far, per range, at one tick. */
    private record Sample(long nanos, Map<String, Integer> used, Map<String, Long> allocations) {
    }

    private ExhaustionMonitor(Builder b) {
        this.registry = b.registry;
        this.warning = b.warning;
        this.critical = b.critical;
        this.window = b.window;
        this.maxSamples = b.maxSamples;
        this.horizon = b.horizon;
        this.ticker = b.ticker;
    }

    public static Builder builder(Registry registry) {
        return new Builder(registry);
    }

    /** Thresholds 0.8 and 0.95, a 15-minute window, no horizon. */
    public static ExhaustionMonitor create(Registry registry) {
        return builder(registry).build();
    }

    public double warningThreshold() {
        return warning;
    }

    public double criticalThreshold() {
        return critical;
    }

    /**
     * Reads the ranges and counters now, records them as a sample, and rates every range.
     *
     * @return one entry per distinct range, in catalog order
     */
    public synchronized List<RangeHealth> sample() {
        long now = ticker.getAsLong();
        Map<String, List<String>> types = new LinkedHashMap<>();
        Map<String, Integer> size = new HashMap<>();
        Map<String, Integer> used = new HashMap<>();
        for (RangeUse u : RangeUse.of(registry)) {
            String range = u.range().toString();
            types.put(range, u.types());
            size.put(range, u.size());
            used.put(range, u.used());
        }
        Map<String, Long> byType = registry.statistics().allocationsByType();
        Map<String, Long> allocations = new HashMap<>();
        types.forEach((range, ts) -> allocations.put(range, ts.stream().mapToLong(t -> byType.getOrDefault(t, 0L)).sum()));

        Sample current = new Sample(now, used, allocations);
        samples.addLast(current);
        while (samples.size() > maxSamples || now - samples.peekFirst().nanos() > window.toNanos()) {
            samples.removeFirst();
        }
        Sample oldest = samples.peekFirst();
        double minutes = (now - oldest.nanos()) / 60e9;

        List<RangeHealth> out = new ArrayList<>(types.size());
        for (Map.Entry<String, List<String>> e : types.entrySet()) {
            String range = e.getKey();
            int sz = size.get(range);
            int u = used.get(range);
            OptionalDouble allocRate = OptionalDouble.empty();
            OptionalDouble growth = OptionalDouble.empty();
            Optional<Duration> tte = u >= sz ? Optional.of(Duration.ZERO) : Optional.empty();
            if (oldest != current && minutes > 0 && oldest.used().containsKey(range)) {
                allocRate = OptionalDouble.of((allocations.get(range) - oldest.allocations().getOrDefault(range, 0L)) / minutes);
                double g = (u - oldest.used().get(range)) / minutes;
                growth = OptionalDouble.of(g);
                if (u < sz && g > 0) {
                    double m = (sz - u) / g;
                    if (m * 60 < MAX_ESTIMATE.toSeconds()) {
                        tte = Optional.of(Duration.ofMillis(Math.round(m * 60_000)));
                    }
                }
            }
            out.add(new RangeHealth(range, e.getValue(), sz, u, level(sz, u, tte), allocRate, growth, tte));
        }
        last = List.copyOf(out);
        return last;
    }

    /** The result of the last {@link #sample()}, empty before the first. */
    public synchronized List<RangeHealth> last() {
        return last;
    }

    /** Samples held now (at most {@code maxSamples}, none older than the window). */
    public synchronized int sampleCount() {
        return samples.size();
    }

    private RangeHealth.Level level(int size, int used, Optional<Duration> tte) {
        double u = size == 0 ? 0 : (double) used / size;
        if (used >= size) {
            return RangeHealth.Level.EXHAUSTED;
        }
        if (u >= critical) {
            return RangeHealth.Level.CRITICAL;
        }
        if (u >= warning || horizon != null && tte.isPresent() && tte.get().compareTo(horizon) <= 0) {
            return RangeHealth.Level.WARNING;
        }
        return RangeHealth.Level.OK;
    }

    /** Configures an {@link ExhaustionMonitor}. */
    public static final class Builder {
        private final Registry registry;
        private double warning = 0.8;
        private double critical = 0.95;
        private Duration window = Duration.ofMinutes(15);
        private int maxSamples = 512;
        private Duration horizon;
        private LongSupplier ticker = System::nanoTime;

        private Builder(Registry registry) {
            this.registry = Objects.requireNonNull(registry, "registry");
        }

        /** Utilization (0..1] at which a range is WARNING; default 0.8. */
        public Builder warningThreshold(double threshold) {
            this.warning = threshold;
            return this;
        }

        /** Utilization (0..1] at which a range is CRITICAL; default 0.95. */
        public Builder criticalThreshold(double threshold) {
            this.critical = threshold;
            return this;
        }

        /** How far back the rate looks; default 15 minutes. */
        public Builder window(Duration window) {
            Objects.requireNonNull(window, "window");
            if (window.isNegative() || window.isZero()) {
                throw new IllegalArgumentException("window " + window + " must be positive, for example 15 minutes");
            }
            this.window = window;
            return this;
        }

        /** At most this many samples are kept; default 512. */
        public Builder maxSamples(int max) {
            if (max < 2) {
                throw new IllegalArgumentException("max samples " + max + " is too small: a rate needs at least 2");
            }
            this.maxSamples = max;
            return this;
        }

        /** A range due to be full within this time is at least WARNING; default none (null). */
        public Builder horizon(Duration horizon) {
            if (horizon != null && (horizon.isNegative() || horizon.isZero())) {
                throw new IllegalArgumentException("horizon " + horizon + " must be positive, or null for none");
            }
            this.horizon = horizon;
            return this;
        }

        /** Monotonic nanoseconds stamping samples; default {@link System#nanoTime()}. */
        public Builder ticker(LongSupplier ticker) {
            this.ticker = Objects.requireNonNull(ticker, "ticker");
            return this;
        }

        public ExhaustionMonitor build() {
            if (!(warning > 0 && warning <= 1) || !(critical > 0 && critical <= 1) || warning > critical) {
                throw new IllegalArgumentException("thresholds warning=" + warning + " critical=" + critical
                        + " are invalid: expected 0 < warning <= critical <= 1, for example 0.8 and 0.95");
            }
            return new ExhaustionMonitor(this);
        }
    }
}
