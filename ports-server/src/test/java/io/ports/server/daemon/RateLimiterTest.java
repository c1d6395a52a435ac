package io.ports.server.daemon;

import org.junit.jupiter.api.Test;

import java.net.InetAddress;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The token bucket on a test clock: burst, refill, per-client buckets, Retry-After rounding, sweeping idle clients. */
class RateLimiterTest {
    private final AtomicLong now = new AtomicLong(1_000_000_000L);
    private final RateLimiter limiter = new RateLimiter(10, 20, now::get);

    @Test
    void burstPasses_thenOneEveryTenthOfASecond() throws Exception {
        InetAddress a = InetAddress.getByName("127.0.0.1");
        for (int i = 0; i < 20; i++) {
            assertEquals(0, limiter.acquire(a), "request " + i + " of the burst");
        }
        long wait = limiter.acquire(a);
        assertTrue(wait > 0 && wait <= TimeUnit.MILLISECONDS.toNanos(100), "wait " + wait);
        assertEquals(1, RateLimiter.retryAfterSeconds(wait));
        now.addAndGet(TimeUnit.MILLISECONDS.toNanos(100));
        assertEquals(0, limiter.acquire(a), "one token after 100 ms");
        assertTrue(limiter.acquire(a) > 0);
    }

    @Test
    void clientsHaveTheirOwnBuckets_andQuietOnesAreSwept() throws Exception {
        InetAddress a = InetAddress.getByName("127.0.0.1");
        InetAddress b = InetAddress.getByName("127.0.0.2");
        for (int i = 0; i < 20; i++) {
            limiter.acquire(a);
        }
        assertTrue(limiter.acquire(a) > 0);
        assertEquals(0, limiter.acquire(b), "another client is not limited by the first");
        assertEquals(2, limiter.clients());
        limiter.sweep();
        assertEquals(2, limiter.clients(), "neither bucket is full again yet");
        now.addAndGet(TimeUnit.SECONDS.toNanos(3));
        limiter.sweep();
        assertEquals(0, limiter.clients(), "full buckets are dropped");
    }

    @Test
    void retryAfter_roundsUpToWholeSeconds() {
        assertEquals(1, RateLimiter.retryAfterSeconds(1));
        assertEquals(1, RateLimiter.retryAfterSeconds(TimeUnit.SECONDS.toNanos(1)));
        assertEquals(2, RateLimiter.retryAfterSeconds(TimeUnit.SECONDS.toNanos(1) + 1));
    }
}
