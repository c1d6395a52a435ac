package io.ports.listener.tunnel;

import java.time.Duration;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.DoubleSupplier;

/**
 * Exponential backoff shared by every new connection of a tunnel client: after {@code n} failures in a
 * row, no attempt starts before a delay of {@code initial * 2^(n-1)}, capped at {@code max}, with
 * "equal jitter" (a random point in the upper half) so that many waiting connections do not retry in
 * step. One success clears it.
 */
final class Backoff {
    private final long initialNanos;
    private final long maxNanos;
    private final DoubleSupplier random;
    private final AtomicInteger failures = new AtomicInteger();
    private final AtomicLong notBefore = new AtomicLong(Long.MIN_VALUE);

    Backoff(Duration initial, Duration max) {
        this(initial, max, () -> ThreadLocalRandom.current().nextDouble());
    }

    Backoff(Duration initial, Duration max, DoubleSupplier random) {
        this.initialNanos = initial.toNanos();
        this.maxNanos = max.toNanos();
        this.random = random;
    }

    /** The delay after {@code failures} failures in a row (1 or more); {@code random} in [0, 1). */
    long delayNanos(int failures, double random) {
        int shift = Math.min(Math.max(failures, 1) - 1, 40);
        long base = initialNanos > (maxNanos >> shift) ? maxNanos : Math.min(maxNanos, initialNanos << shift);
        return base / 2 + (long) (random * (base - base / 2));
    }

    /** How long an attempt must wait from {@code now} (0 when it may start at once). */
    long waitNanos(long now) {
        long nb = notBefore.get();
        return nb == Long.MIN_VALUE ? 0 : Math.max(0, nb - now);
    }

    /** Records a failure at {@code now}; returns the wait before the next attempt. */
    long failed(long now) {
        int n = failures.incrementAndGet();
        long until = now + delayNanos(n, random.getAsDouble());
        notBefore.accumulateAndGet(until, (a, b) -> a == Long.MIN_VALUE ? b : Math.max(a, b));
        return waitNanos(now);
    }

    void succeeded() {
        failures.set(0);
        notBefore.set(Long.MIN_VALUE);
    }

    /** Failures in a row now. */
    int failures() {
        return failures.get();
    }
}
