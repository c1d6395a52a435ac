package io.ports.resolver;

import org.junit.jupiter.api.Test;

import java.util.concurrent.CompletableFuture;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The cache's eviction on its own, with answers that arrive at once (no server: what is tested is
 * the CLOCK hand, not the transport; CacheTest checks the bound against knot): the bound holds
 * within its slack, no insert pays for a batch, and an entry in use stays.
 */
class CacheEvictionTest {
    private static final ResolverCache.Fetcher<String> INSTANT =
            k -> CompletableFuture.completedFuture(ResolverCache.Outcome.positive("v", 3600));

    private static ResolverCache cache(int maxEntries) {
        PortsResolver.Builder b = PortsResolver.builder().maxEntries(maxEntries);
        return new ResolverCache(b, new Counters());
    }

    @Test
    void eachInsertOverTheBound_evictsAboutOneEntry_andTheSizeStaysWithinTheSlack() {
        int max = 1_000;
        int slack = Math.max(16, max / 20);
        ResolverCache c = cache(max);
        long mostAtOnce = 0;
        long largest = 0;
        for (int i = 0; i < 20_000; i++) {
            long before = c.counters.evictions.sum();
            c.lookup("n" + i + ".cluster.test.", INSTANT);
            mostAtOnce = Math.max(mostAtOnce, c.counters.evictions.sum() - before);
            largest = Math.max(largest, c.size());
        }
        assertTrue(largest <= max + slack, "the cache grew to " + largest + ", over " + max + " + " + slack);
        // every entry is marked when inserted, so the first turn of the hand only clears marks; after that
        // one insert evicts what it added. The old sweep removed 5% (50 here) at once.
        assertTrue(mostAtOnce <= ResolverCache.EVICT_STEPS / 2, "one insert evicted " + mostAtOnce + " entries");
        assertEquals(max, c.size(), "back at the bound once the hand has gone round");
        assertEquals(20_000 - max, c.counters.evictions.sum());
    }

    @Test
    void anEntryHitBetweenInserts_isNeverEvicted() {
        ResolverCache c = cache(100);
        c.lookup("hot.cluster.test.", INSTANT);
        for (int i = 0; i < 5_000; i++) {
            c.lookup("n" + i + ".cluster.test.", INSTANT);
            long misses = c.counters.misses.sum();
            c.lookup("hot.cluster.test.", INSTANT);
            assertEquals(misses, c.counters.misses.sum(), "the hot entry was evicted after insert " + i);
        }
    }

    @Test
    void pastTheSlack_oneInsertSweepsBackToTheBound() {
        int max = 200;
        ResolverCache c = cache(max);
        for (int i = 0; i < max; i++) {
            c.lookup("n" + i + ".cluster.test.", INSTANT);
        }
        // entries inserted behind the cache's back (as by inserts that found the eviction lock taken)
        for (int i = 0; i < 100; i++) {
            c.map.put("extra" + i, new ResolverCache.Entry<>("extra" + i));
        }
        for (ResolverCache.Entry<?> e : c.map.values()) {
            e.touched = true;
        }
        c.lookup("one-more.cluster.test.", INSTANT);
        // the new entry's answer is in, and entries without one count as being fetched (skipped):
        // the 100 extra entries stay, so the sweep evicts answered entries down to the bound
        assertEquals(max, c.size(), "a single insert past the slack sweeps back to the bound");
    }
}
