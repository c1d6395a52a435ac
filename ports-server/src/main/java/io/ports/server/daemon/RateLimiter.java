package io.ports.server.daemon;

import java.net.InetAddress;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;

/**
 * A token bucket per client address: {@code rate} tokens a second up to {@code burst}; a request takes one.
 * Buckets idle long enough to be full again are dropped by {@link #sweep()}, and the table never holds
 * more than {@link #MAX_CLIENTS} (a flood of new addresses clears it rather than growing without bound).
 */
final class RateLimiter {
    static final int MAX_CLIENTS = 100_000;

    private final double ratePerNano;
    private final int burst;
    private final LongSupplier ticker;
    private final Map<InetAddress, Bucket> buckets = new ConcurrentHashMap<>();

    private static final class Bucket {
        double tokens;
        long last;

        Bucket(double tokens, long last) {
            this.tokens = tokens;
            this.last = last;
        }
    }

    RateLimiter(int perSecond, int burst, LongSupplier ticker) {
        this.ratePerNano = perSecond / 1e9;
        this.burst = burst;
        this.ticker = ticker;
    }

    /** @return 0 when the request may go on, else the nanoseconds until the client has a token again */
    long acquire(InetAddress client) {
        long now = ticker.getAsLong();
        if (buckets.size() >= MAX_CLIENTS && !buckets.containsKey(client)) {
            buckets.clear();
        }
        Bucket b = buckets.computeIfAbsent(client, c -> new Bucket(burst, now));
        synchronized (b) {
            b.tokens = Math.min(burst, b.tokens + (now - b.last) * ratePerNano);
            b.last = now;
            if (b.tokens >= 1) {
                b.tokens -= 1;
                return 0;
            }
            return Math.max(1, (long) Math.ceil((1 - b.tokens) / ratePerNano));
        }
    }

    /** Drops the buckets that are full again (their clients were quiet). */
    void sweep() {
        long now = ticker.getAsLong();
        buckets.entrySet().removeIf(e -> {
            Bucket b = e.getValue();
            synchronized (b) {
                return b.tokens + (now - b.last) * ratePerNano >= burst;
            }
        });
    }

    int clients() {
        return buckets.size();
    }

    int burst() {
        return burst;
    }

    static long retryAfterSeconds(long nanos) {
        return Math.max(1, TimeUnit.NANOSECONDS.toSeconds(nanos + 999_999_999L));
    }
}
