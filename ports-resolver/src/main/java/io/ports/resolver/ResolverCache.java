package io.ports.resolver;

import io.netty.channel.EventLoop;
import io.ports.core.EventLoops;
import io.ports.core.PortsException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.Iterator;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.ReentrantLock;

/*
 * The cache.
 *
 * Layout
 * ------
 * One ConcurrentHashMap from key to Entry. Host lookups are keyed by the String the caller passed,
 * exactly, so a hit is one map probe with the String's cached hash; SRV lookups by an SrvKey. An
 * Entry holds an immutable Answer (value or negative exception, a completed stage built once, and
 * three deadlines on the ticker: refreshAt <= expiresAt <= staleUntil) and at most one Flight.
 *
 * Hit path
 * --------
 * get, one volatile read of the answer, one ticker read, compare, count, return the answer's
 * pre-built stage. No allocation, no lock, no event loop. Between refreshAt and expiresAt a hit
 * also starts a background refresh if none is running (refresh-ahead, like unbound's prefetch).
 *
 * Single flight
 * -------------
 * A miss CASes a new Flight into the entry; whoever loses joins the winner's flight. Only the
 * winner asks the servers. The flight's completion publishes the new answer first, then clears the
 * flight, then completes the callers; a caller that finds no flight re-reads the answer before
 * starting one, so it never starts a second query for an answer that has just arrived.
 *
 * Stale (RFC 8767)
 * ----------------
 * A positive answer may be served for stalePeriod after it expired: when the refresh fails
 * (timeout, server failure), when it is slower than staleAnswerTimeout (the "client response
 * timer"), and, after a failure, without asking again until staleRetryInterval has passed (the
 * "failure recheck timer"). Negative answers are never served stale. The first stale answer after a
 * success is logged once; recovery is logged once.
 *
 * Eviction
 * --------
 * When an insert takes the map over maxEntries, the inserting thread (one at a time, tryLock) moves
 * a CLOCK hand over the map until it is back at maxEntries: expired entries go at once, others get a
 * second chance if they were hit since the hand last passed. Entries being fetched (no answer yet,
 * or a flight running) are skipped. Each such insert pays for about one eviction, at most
 * EVICT_STEPS steps of the hand, so no caller pays for a batch: the hand used to sweep down to 95%
 * in one go, about 500 evictions and 10,000 steps for the default size, which made every 500th miss
 * of a full cache wait a few hundred microseconds. Only when the map has outgrown the bound by
 * more than the slack (5%, at least 16: hits re-marking entries faster than the steps clear them,
 * or inserts that found the lock taken) does one insert sweep it back, at most three turns.
 */
final class ResolverCache {
    private static final Logger log = LoggerFactory.getLogger(ResolverCache.class);

    /** What a fetch produced: a value, or a negative answer, with its TTL in seconds (below 0: not cacheable). */
    record Outcome<V>(V value, DnsException negative, long ttlSeconds) {
        static <V> Outcome<V> positive(V value, long ttlSeconds) {
            return new Outcome<>(value, null, ttlSeconds);
        }

        static <V> Outcome<V> negative(DnsException e, long ttlSeconds) {
            return new Outcome<>(null, e, ttlSeconds);
        }
    }

    /** Asks the servers for one key. */
    interface Fetcher<V> {
        CompletableFuture<Outcome<V>> fetch(Object key);
    }

    static final class Answer<V> {
        final V value;
        final boolean negative;
        final CompletionStage<V> stage;
        final long refreshAt;
        final long expiresAt;
        final long staleUntil;

        Answer(V value, DnsException error, long refreshAt, long expiresAt, long staleUntil) {
            this.value = value;
            this.negative = error != null;
            this.stage = error != null ? CompletableFuture.failedStage(error) : CompletableFuture.completedStage(value);
            this.refreshAt = refreshAt;
            this.expiresAt = expiresAt;
            this.staleUntil = staleUntil;
        }
    }

    static final class Flight<V> {
        final CompletableFuture<V> result = new CompletableFuture<>();
        final CompletionStage<V> stage = result.minimalCompletionStage();
        final AtomicInteger waiters = new AtomicInteger();
        /** Won once, by the fetch or the stale timer: the winner counts and completes {@link #result}. */
        final AtomicBoolean settled = new AtomicBoolean();
        volatile boolean servedStale;
        volatile ScheduledFuture<?> staleTimer;
    }

    static final class Entry<V> {
        final Object key;
        volatile Answer<V> answer;
        final AtomicReference<Flight<V>> flight = new AtomicReference<>();
        /** No new query before this tick after a failure (RFC 8767 failure recheck); 0 = none. */
        volatile long retryAt;
        /** CLOCK reference bit; written only when it changes, so hot entries are only read. Racy by design. */
        boolean touched = true;

        Entry(Object key) {
            this.key = key;
        }
    }

    final ConcurrentHashMap<Object, Entry<?>> map = new ConcurrentHashMap<>();
    final Ticker ticker;
    final Counters counters;
    private final EventLoops loops;
    private final int maxEntries;
    private final long minTtlNanos;
    private final long maxTtlNanos;
    private final long negativeMaxNanos;
    private final long staleNanos;
    private final long staleAnswerTimeoutNanos;
    private final long staleRetryNanos;
    private final double refreshAhead;
    /** Steps of the CLOCK hand one insert over the bound may take (see Eviction above). */
    static final int EVICT_STEPS = 64;
    private final ReentrantLock evictLock = new ReentrantLock();
    private final int evictSlack;
    private final AtomicBoolean degraded = new AtomicBoolean();
    private Iterator<Entry<?>> hand;
    private volatile boolean closed;

    ResolverCache(PortsResolver.Builder b, Counters counters) {
        this.ticker = b.ticker;
        this.counters = counters;
        this.loops = b.eventLoops;
        this.maxEntries = b.maxEntries;
        this.evictSlack = Math.max(16, b.maxEntries / 20);
        this.minTtlNanos = b.minTtl.toNanos();
        this.maxTtlNanos = b.maxTtl.toNanos();
        this.negativeMaxNanos = b.negativeTtlMax.toNanos();
        this.staleNanos = b.stalePeriod.toNanos();
        this.staleAnswerTimeoutNanos = b.staleAnswerTimeout.toNanos();
        this.staleRetryNanos = b.staleRetryInterval.toNanos();
        this.refreshAhead = b.refreshAhead;
    }

    /**
     * The slow path: everything but a fresh hit outside the refresh window. Returns the answer's
     * stage (fresh, refresh window, or stale in the failure-recheck period) or a flight's stage.
     */
    @SuppressWarnings("unchecked")
    <V> CompletionStage<V> lookup(Object key, Fetcher<V> fetcher) {
        Entry<V> e = (Entry<V>) map.get(key);
        if (e == null) {
            if (closed) {
                return CompletableFuture.failedStage(new PortsException("the resolver is closed: cannot resolve " + key));
            }
            Entry<V> created = new Entry<>(key);
            Entry<V> raced = (Entry<V>) map.putIfAbsent(key, created);
            if (raced == null) {
                e = created;
                if (map.size() > maxEntries) {
                    evict();
                }
            } else {
                e = raced;
            }
        }
        long now = ticker.read();
        Answer<V> a = e.answer;
        if (a != null) {
            if (now < a.expiresAt) {
                hit(e, a);
                if (now >= a.refreshAt) {
                    refresh(e, a, fetcher, now);
                }
                return a.stage;
            }
            if (!a.negative && now < a.staleUntil && now < e.retryAt) {
                touch(e);
                counters.staleServed.increment();
                return a.stage;
            }
        }
        return join(e, fetcher);
    }

    void hit(Entry<?> e, Answer<?> a) {
        touch(e);
        counters.hits.increment();
        if (a.negative) {
            counters.negativeHits.increment();
        }
    }

    static void touch(Entry<?> e) {
        if (!e.touched) {
            e.touched = true;
        }
    }

    private <V> CompletionStage<V> join(Entry<V> e, Fetcher<V> fetcher) {
        for (;;) {
            Flight<V> f = e.flight.get();
            if (f != null) {
                f.waiters.incrementAndGet();
                counters.misses.increment();
                if (f.servedStale) {
                    counters.staleServed.increment();
                }
                return f.stage;
            }
            long now = ticker.read();
            Answer<V> a = e.answer; // a flight may have just published it
            if (a != null && now < a.expiresAt) {
                hit(e, a);
                return a.stage;
            }
            Flight<V> mine = new Flight<>();
            if (e.flight.compareAndSet(null, mine)) {
                mine.waiters.incrementAndGet();
                counters.misses.increment();
                start(e, mine, a, fetcher, now);
                return mine.stage;
            }
        }
    }

    /** Refresh-ahead: a hit in the last part of the TTL refreshes in the background, once. */
    private <V> void refresh(Entry<V> e, Answer<V> a, Fetcher<V> fetcher, long now) {
        if (now < e.retryAt || e.flight.get() != null || closed) {
            return;
        }
        Flight<V> mine = new Flight<>();
        if (e.flight.compareAndSet(null, mine)) {
            counters.refreshes.increment();
            start(e, mine, a, fetcher, now);
        }
    }

    private <V> void start(Entry<V> e, Flight<V> f, Answer<V> previous, Fetcher<V> fetcher, long now) {
        if (previous != null && !previous.negative && now >= previous.expiresAt && now < previous.staleUntil
                && staleAnswerTimeoutNanos > 0) {
            try {
                EventLoop loop = loops.next();
                f.staleTimer = loop.schedule(() -> {
                    if (serveStale(f, previous)) {
                        log.debug("no answer for {} within {} ms: served the stale answer, still asking", e.key,
                                TimeUnit.NANOSECONDS.toMillis(staleAnswerTimeoutNanos));
                    }
                }, staleAnswerTimeoutNanos, TimeUnit.NANOSECONDS);
            } catch (RejectedExecutionException ignored) {
                // the loops are shutting down; the fetch fails and serves stale anyway
            }
        }
        CompletableFuture<Outcome<V>> fetch;
        try {
            fetch = fetcher.fetch(e.key);
        } catch (RuntimeException ex) {
            fetch = CompletableFuture.failedFuture(ex);
        }
        fetch.whenComplete((o, t) -> complete(e, f, o, t));
    }

    private <V> void complete(Entry<V> e, Flight<V> f, Outcome<V> o, Throwable failure) {
        ScheduledFuture<?> timer = f.staleTimer;
        if (timer != null) {
            timer.cancel(false);
        }
        long now = ticker.read();
        if (failure == null) {
            Answer<V> fresh = answer(o, now);
            e.answer = fresh;
            e.retryAt = 0;
            if (fresh == null) {
                map.remove(e.key, e); // TTL 0 or not cacheable: keep nothing
            }
            e.flight.set(null);
            if (degraded.compareAndSet(true, false)) {
                log.info("DNS answers arrive again (first: {}); no longer serving stale answers", e.key);
            }
            if (f.settled.compareAndSet(false, true)) {
                if (o.negative() == null) {
                    f.result.complete(o.value());
                } else {
                    f.result.completeExceptionally(o.negative());
                }
            }
            return;
        }
        Throwable cause = failure instanceof CompletionException && failure.getCause() != null ? failure.getCause() : failure;
        counters.failures.increment();
        Answer<V> previous = e.answer;
        if (previous != null && !previous.negative && now < previous.staleUntil) {
            e.retryAt = now + staleRetryNanos;
            e.flight.set(null);
            if (now >= previous.expiresAt) {
                serveStale(f, previous);
                if (degraded.compareAndSet(false, true)) {
                    log.warn("serving stale answers: the DNS servers failed for {} ({}); not logged again until they answer",
                            e.key, cause.getMessage());
                }
            } else {
                log.debug("refresh-ahead of {} failed, keeping the fresh answer: {}", e.key, cause.toString());
                if (f.settled.compareAndSet(false, true)) {
                    f.result.complete(previous.value);
                }
            }
            return;
        }
        if (previous == null || now >= previous.expiresAt) {
            map.remove(e.key, e);
        }
        e.flight.set(null);
        if (f.settled.compareAndSet(false, true)) {
            f.result.completeExceptionally(cause);
        }
    }

    /** Completes the flight's callers with the stale value, counting them first; false if already settled. */
    private <V> boolean serveStale(Flight<V> f, Answer<V> stale) {
        if (!f.settled.compareAndSet(false, true)) {
            return false;
        }
        f.servedStale = true;
        counters.staleServed.add(f.waiters.get());
        f.result.complete(stale.value);
        return true;
    }

    /** The answer to cache for {@code o}, or null when it must not be cached. */
    private <V> Answer<V> answer(Outcome<V> o, long now) {
        long ttl = o.ttlSeconds();
        if (ttl <= 0) {
            return null; // TTL 0, or a negative answer without SOA (RFC 2308 section 5)
        }
        long nanos = TimeUnit.SECONDS.toNanos(ttl);
        if (o.negative() != null) {
            nanos = Math.min(nanos, negativeMaxNanos);
            if (nanos <= 0) {
                return null;
            }
            long expires = now + nanos;
            return new Answer<>(null, o.negative(), expires, expires, expires);
        }
        nanos = Math.min(Math.max(nanos, minTtlNanos), maxTtlNanos);
        if (nanos <= 0) {
            return null;
        }
        long expires = now + nanos;
        long refreshAt = refreshAhead > 0 ? expires - (long) (nanos * refreshAhead) : expires;
        return new Answer<>(o.value(), null, refreshAt, expires, expires + staleNanos);
    }

    private void evict() {
        if (!evictLock.tryLock()) {
            return;
        }
        try {
            long now = ticker.read();
            int size = map.size();
            int budget = size > maxEntries + evictSlack
                    ? 3 * size + 16 // over the slack: back to the bound now, bounded at three turns of the hand
                    : Math.min(3 * size + 16, EVICT_STEPS);
            while (map.size() > maxEntries && budget-- > 0) {
                if (hand == null || !hand.hasNext()) {
                    hand = map.values().iterator();
                    if (!hand.hasNext()) {
                        break;
                    }
                }
                Entry<?> e = hand.next();
                Answer<?> a = e.answer;
                if (a == null || e.flight.get() != null) {
                    continue; // just inserted, or being fetched: its caller is waiting for it
                }
                boolean expired = now >= a.expiresAt;
                if (!expired && e.touched) {
                    e.touched = false;
                    continue;
                }
                if (map.remove(e.key, e)) {
                    counters.evictions.increment();
                }
            }
        } finally {
            evictLock.unlock();
        }
    }

    long size() {
        return map.size();
    }

    void close() {
        closed = true;
        map.clear();
    }
}
