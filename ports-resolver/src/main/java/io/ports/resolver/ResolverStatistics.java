package io.ports.resolver;

/**
 * A snapshot of a resolver's counters since it was built, as plain numbers for a metrics binder.
 * Counters only grow; use {@link #minus(ResolverStatistics)} for the change over an interval.
 * A {@code resolveSrv} counts once for the SRV set and once per target it resolves; lookups of
 * literal addresses and hosts-file names count nowhere.
 *
 * @param hits         lookups answered from a fresh cache entry, positive or negative
 * @param negativeHits the part of {@code hits} answered from a cached NXDOMAIN or NODATA
 * @param misses       lookups that had to wait for the servers (every caller counts, also those
 *                     that joined a query already in flight)
 * @param staleServed  lookups answered with an expired entry because the servers failed or were slow
 *                     (RFC 8767)
 * @param refreshes    background refreshes of hot entries started before they expired
 * @param queries      DNS messages sent, UDP and TCP, every attempt counted
 * @param tcpQueries   the part of {@code queries} sent over TCP after a truncated UDP answer
 * @param timeouts     query attempts that got no answer within the timeout
 * @param failures     resolutions (including background refreshes) that failed with a timeout or a
 *                     server failure; NXDOMAIN and NODATA are answers, not failures
 * @param evictions    entries removed because the cache was full
 * @param size         entries in the cache now
 */
public record ResolverStatistics(long hits, long negativeHits, long misses, long staleServed, long refreshes,
                                 long queries, long tcpQueries, long timeouts, long failures, long evictions,
                                 long size) {

    /** Hits divided by hits plus misses; 0 before the first lookup. */
    public double hitRate() {
        long total = hits + misses;
        return total == 0 ? 0 : (double) hits / total;
    }

    /** The counters' growth since {@code earlier}; {@code size} stays the current size. */
    public ResolverStatistics minus(ResolverStatistics earlier) {
        return new ResolverStatistics(hits - earlier.hits, negativeHits - earlier.negativeHits, misses - earlier.misses,
                staleServed - earlier.staleServed, refreshes - earlier.refreshes, queries - earlier.queries,
                tcpQueries - earlier.tcpQueries, timeouts - earlier.timeouts, failures - earlier.failures,
                evictions - earlier.evictions, size);
    }
}
