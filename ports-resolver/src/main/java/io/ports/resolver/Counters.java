package io.ports.resolver;

import java.util.concurrent.atomic.LongAdder;

/** The resolver's counters; {@link LongAdder}s so the hit path does not contend on one cache line. */
final class Counters {
    final LongAdder hits = new LongAdder();
    final LongAdder negativeHits = new LongAdder();
    final LongAdder misses = new LongAdder();
    final LongAdder staleServed = new LongAdder();
    final LongAdder refreshes = new LongAdder();
    final LongAdder queries = new LongAdder();
    final LongAdder tcpQueries = new LongAdder();
    final LongAdder timeouts = new LongAdder();
    final LongAdder failures = new LongAdder();
    final LongAdder evictions = new LongAdder();

    ResolverStatistics snapshot(long size) {
        return new ResolverStatistics(hits.sum(), negativeHits.sum(), misses.sum(), staleServed.sum(), refreshes.sum(),
                queries.sum(), tcpQueries.sum(), timeouts.sum(), failures.sum(), evictions.sum(), size);
    }
}
