package io.ports.core;

import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

/**
 * How the allocator walks a range after the preferred port (if any) was not available.
 */
public enum AllocationStrategy {
    /** From the start of the range upward: predictable, dense. */
    SEQUENTIAL,
    /** From a random port of the range, then onward with wrap-around: spreads concurrent starts. */
    RANDOM,
    /**
     * From a port derived from a stable key (for example node id + service name), then a
     * deterministic probe sequence: the same key gets the same port on every start while that port
     * is free, as port4me does, but with reservation and fallback.
     */
    HASH;

    public static AllocationStrategy parse(String text) {
        if (text != null) {
            try {
                return valueOf(text.strip().toUpperCase(Locale.ROOT));
            } catch (IllegalArgumentException ignored) {
                // fall through
            }
        }
        throw new IllegalArgumentException("unknown allocation strategy '" + text + "': expected one of "
                + Arrays.stream(values()).map(v -> v.name().toLowerCase(Locale.ROOT)).collect(Collectors.joining(", ")));
    }
}
