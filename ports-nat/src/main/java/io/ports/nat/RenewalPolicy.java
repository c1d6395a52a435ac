package io.ports.nat;

import java.util.concurrent.TimeUnit;
import java.util.function.DoubleSupplier;

/**
 * When to renew a mapping. NAT-PMP (RFC 6886 section 3.3) and UPnP: at half the granted lifetime.
 * PCP (RFC 6887 section 11.2.1): at a uniformly random point between 1/2 and 5/8 of it. When a
 * renewal goes unanswered, retry halfway through what is left (3/4, 7/8, ...), never sooner than 4 s
 * after the previous attempt; once the mapping has expired, keep trying to re-create it with a backoff
 * from 4 s doubling up to half the lifetime (at most 10 minutes). A permanent UPnP lease (lifetime 0)
 * is re-asserted every {@code permanentRefreshNanos}, so a rebooted router gets it back.
 */
final class RenewalPolicy {
    static final long MIN_INTERVAL = TimeUnit.SECONDS.toNanos(4);
    static final long MAX_BACKOFF = TimeUnit.MINUTES.toNanos(10);

    private RenewalPolicy() {
    }

    /** Delay from the grant to the first renewal. */
    static long firstRenewal(MappingProtocol protocol, long lifetimeSeconds, long permanentRefreshNanos, DoubleSupplier random) {
        if (lifetimeSeconds == 0) {
            return permanentRefreshNanos;
        }
        long lifetime = TimeUnit.SECONDS.toNanos(lifetimeSeconds);
        if (protocol == MappingProtocol.PCP) {
            return (long) (lifetime * (0.5 + 0.125 * random.getAsDouble()));
        }
        return lifetime / 2;
    }

    /**
     * Delay to the next attempt after a failed one at {@code nowNanos}, for a mapping that expires at
     * {@code expiresAtNanos}; {@code failuresSinceExpiry} counts failed attempts after it expired.
     */
    static long retry(long nowNanos, long expiresAtNanos, long lifetimeNanos, int failuresSinceExpiry) {
        long left = expiresAtNanos - nowNanos;
        if (left > 0) {
            return Math.max(MIN_INTERVAL, left / 2);
        }
        long cap = Math.max(MIN_INTERVAL, Math.min(MAX_BACKOFF, lifetimeNanos / 2));
        long backoff = MIN_INTERVAL << Math.min(20, Math.max(0, failuresSinceExpiry));
        return Math.min(cap, backoff);
    }
}
