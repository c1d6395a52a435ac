package io.ports.health;

import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalDouble;

/**
 * How full one port range is, and how soon it will be full.
 *
 * @param range                "START-END"
 * @param types                the catalog types allocating from it (several types may share a range)
 * @param size                 ports in the range
 * @param used                 ports of live records in it
 * @param level                where utilization stands against the thresholds (and the horizon)
 * @param allocationsPerMinute allocations of its types per minute over the window, when the window has two samples
 * @param growthPerMinute      net change of {@code used} per minute over the window (allocations minus
 *                             releases and expiries), when the window has two samples
 * @param timeToExhaustion     when {@code used} grows: the time until the range is full at that net rate;
 *                             zero when it is full already; empty when it is not growing or too little is known
 */
public record RangeHealth(String range, List<String> types, int size, int used, Level level, OptionalDouble allocationsPerMinute,
                          OptionalDouble growthPerMinute, Optional<Duration> timeToExhaustion) {

    /** Utilization levels, worst last. */
    public enum Level {
        /** Below the warning threshold, and not due to be full within the horizon. */
        OK,
        /** At or over the warning threshold, or due to be full within the horizon. */
        WARNING,
        /** At or over the critical threshold. */
        CRITICAL,
        /** Every port is used. */
        EXHAUSTED
    }

    public RangeHealth {
        Objects.requireNonNull(range, "range");
        types = List.copyOf(types);
        Objects.requireNonNull(level, "level");
        allocationsPerMinute = allocationsPerMinute == null ? OptionalDouble.empty() : allocationsPerMinute;
        growthPerMinute = growthPerMinute == null ? OptionalDouble.empty() : growthPerMinute;
        timeToExhaustion = timeToExhaustion == null ? Optional.empty() : timeToExhaustion;
    }

    /** used / size, 0..1. */
    public double utilization() {
        return size == 0 ? 0 : (double) used / size;
    }

    /** Ports left. */
    public int free() {
        return Math.max(0, size - used);
    }

    /** For example {@code "40000-49999 (CUSTOM, dynamic): 8123 of 10000 used (81%), WARNING, full in about 2 h"}. */
    @Override
    public String toString() {
        return range + " (" + String.join(", ", types) + "): " + used + " of " + size + " used (" + Math.round(utilization() * 100) + "%), " + level
                + timeToExhaustion.map(d -> d.isZero() ? "" : ", full in about " + human(d)).orElse("");
    }

    static String human(Duration d) {
        long s = d.toSeconds();
        if (s < 120) {
            return s + " s";
        }
        if (s < 7200) {
            return (s / 60) + " min";
        }
        if (s < 172800) {
            return (s / 3600) + " h";
        }
        return (s / 86400) + " days";
    }
}
