package io.ports.resolver;

import io.ports.resolver.testsupport.FakeTicker;
import io.ports.resolver.testsupport.UdpForwarder;
import org.junit.jupiter.api.Test;
import org.xbill.DNS.Name;
import org.xbill.DNS.Type;

import java.net.InetAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The cache against knotd, with a hand-moved ticker: hits, TTLs, negative caching, single flight, refresh-ahead, eviction. */
class CacheTest extends KnotTestSupport {

    private static PortsResolver.Builder v4(FakeTicker ticker) {
        return resolver().ticker(ticker).familyPreference(FamilyPreference.IPV4_ONLY).refreshAhead(0);
    }

    @Test
    void hit_returnsTheSameCompletedStage_withoutAQuery() throws Exception {
        try (PortsResolver r = v4(new FakeTicker()).build()) {
            long a = served("query-type[A]");
            CompletionStage<List<InetAddress>> first = r.resolve("v4only.cluster.test");
            await(first);
            CompletionStage<List<InetAddress>> second = r.resolve("v4only.cluster.test");
            CompletionStage<List<InetAddress>> third = r.resolve("v4only.cluster.test");
            assertTrue(second.toCompletableFuture().isDone(), "a hit is complete when returned");
            assertSame(second, third, "hits share one pre-built stage");
            assertEquals(List.of("10.0.1.1"), ips(await(third)));
            ResolverStatistics s = r.statistics();
            assertEquals(1, s.misses());
            assertEquals(2, s.hits());
            assertEquals(1, s.queries());
            assertEquals(1, s.size());
            assertEquals(a + 1, servedAtLeast("query-type[A]", a + 1));
        }
    }

    @Test
    void ttlExpiry_afterAnUpdate_theCachedAnswerStaysUntilItsTtlPasses() throws Exception {
        FakeTicker ticker = new FakeTicker();
        try (PortsResolver r = v4(ticker).build()) {
            assertEquals(List.of("10.0.2.100"), ips(await(r.resolve("upd.cluster.test"))));
            knot.update(u -> {
                try {
                    u.replace(Name.fromString("upd.cluster.test."), Type.A, 2, "10.0.2.101");
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            });
            try (PortsResolver fresh = v4(new FakeTicker()).build()) {
                assertEquals(List.of("10.0.2.101"), ips(await(fresh.resolve("upd.cluster.test"))), "knotd serves the update");
            }
            long a = served("query-type[A]");
            ticker.advance(Duration.ofMillis(1900));
            assertEquals(List.of("10.0.2.100"), ips(await(r.resolve("upd.cluster.test"))), "within the 2 s TTL: cached");
            assertEquals(a, served("query-type[A]"));
            ticker.advance(Duration.ofMillis(200));
            assertEquals(List.of("10.0.2.101"), ips(await(r.resolve("upd.cluster.test"))), "after the TTL: asked again");
            assertEquals(a + 1, servedAtLeast("query-type[A]", a + 1));
        }
    }

    @Test
    void ttlZero_isNeverCached() throws Exception {
        try (PortsResolver r = v4(new FakeTicker()).minTtl(Duration.ofSeconds(30)).build()) {
            long a = served("query-type[A]");
            assertEquals(List.of("10.0.3.1"), ips(await(r.resolve("zero.cluster.test"))));
            assertEquals(List.of("10.0.3.1"), ips(await(r.resolve("zero.cluster.test"))));
            assertEquals(2, r.statistics().misses());
            assertEquals(0, r.statistics().size());
            assertEquals(a + 2, servedAtLeast("query-type[A]", a + 2));
        }
    }

    @Test
    void ttl_isClampedByMinAndMax() throws Exception {
        FakeTicker ticker = new FakeTicker();
        try (PortsResolver r = v4(ticker).minTtl(Duration.ofSeconds(60)).build()) {
            await(r.resolve("short.cluster.test")); // TTL 2
            ticker.advance(Duration.ofSeconds(59));
            await(r.resolve("short.cluster.test"));
            assertEquals(1, r.statistics().queries(), "raised to 60 s");
            ticker.advance(Duration.ofSeconds(2));
            await(r.resolve("short.cluster.test"));
            assertEquals(2, r.statistics().queries());
        }
        try (PortsResolver r = v4(ticker).maxTtl(Duration.ofSeconds(5)).build()) {
            await(r.resolve("multi.cluster.test")); // TTL 30
            ticker.advance(Duration.ofSeconds(4));
            await(r.resolve("multi.cluster.test"));
            assertEquals(1, r.statistics().queries());
            ticker.advance(Duration.ofSeconds(2));
            await(r.resolve("multi.cluster.test"));
            assertEquals(2, r.statistics().queries(), "lowered to 5 s");
        }
    }

    @Test
    void cnameChain_entryLivesForTheShortestTtlOnTheChain() throws Exception {
        FakeTicker ticker = new FakeTicker();
        try (PortsResolver r = v4(ticker).build()) {
            await(r.resolve("alias.cluster.test")); // CNAME 30, CNAME 20, A 30
            ticker.advance(Duration.ofSeconds(19));
            await(r.resolve("alias.cluster.test"));
            assertEquals(1, r.statistics().queries());
            ticker.advance(Duration.ofSeconds(2));
            await(r.resolve("alias.cluster.test"));
            assertEquals(2, r.statistics().queries());
        }
    }

    @Test
    void nxdomainAndNodata_areCachedForTheSoaMinimum() throws Exception {
        FakeTicker ticker = new FakeTicker();
        try (PortsResolver r = v4(ticker).build()) {
            long a = served("query-type[A]");
            Throwable first = failure(r.resolve("missing.cluster.test"));
            assertInstanceOf(UnknownNameException.class, first);
            Throwable second = failure(r.resolve("missing.cluster.test"));
            assertSame(first, second, "the cached negative answer");
            ticker.advance(Duration.ofMillis(4900));
            assertInstanceOf(UnknownNameException.class, failure(r.resolve("missing.cluster.test")));
            assertEquals(2, r.statistics().negativeHits());
            assertEquals(1, r.statistics().queries(), "SOA MINIMUM 5: cached for 5 s");
            ticker.advance(Duration.ofMillis(200));
            assertInstanceOf(UnknownNameException.class, failure(r.resolve("missing.cluster.test")));
            assertEquals(2, r.statistics().queries());

            assertInstanceOf(NoDataException.class, failure(r.resolve("txtonly.cluster.test")));
            assertInstanceOf(NoDataException.class, failure(r.resolve("txtonly.cluster.test")));
            assertEquals(3, r.statistics().queries());
            assertEquals(a + 3, servedAtLeast("query-type[A]", a + 3));
        }
        try (PortsResolver r = v4(ticker).negativeTtlMax(Duration.ofSeconds(2)).build()) {
            failure(r.resolve("missing.cluster.test"));
            ticker.advance(Duration.ofMillis(2100));
            failure(r.resolve("missing.cluster.test"));
            assertEquals(2, r.statistics().queries(), "capped at 2 s");
        }
        try (PortsResolver r = v4(ticker).negativeTtlMax(Duration.ZERO).build()) {
            failure(r.resolve("missing.cluster.test"));
            failure(r.resolve("missing.cluster.test"));
            assertEquals(2, r.statistics().queries(), "negative caching off");
        }
    }

    @Test
    void singleFlight_aHundredConcurrentMisses_sendOneQuery() throws Exception {
        try (UdpForwarder gate = new UdpForwarder(knot.v4());
             PortsResolver r = resolver().servers(gate.address()).timeout(Duration.ofSeconds(10)).attempts(1)
                     .familyPreference(FamilyPreference.IPV4_ONLY).build()) {
            // the query is held at the gate until all 100 callers have missed, so all 100 are concurrent misses
            gate.holdUntil(() -> r.statistics().misses() >= 100);
            long a = served("query-type[A]");
            int threads = 4;
            int perThread = 25;
            List<CompletionStage<List<InetAddress>>> stages = java.util.Collections.synchronizedList(new ArrayList<>());
            CountDownLatch go = new CountDownLatch(1);
            List<Thread> callers = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                Thread th = new Thread(() -> {
                    try {
                        go.await();
                    } catch (InterruptedException e) {
                        return;
                    }
                    for (int i = 0; i < perThread; i++) {
                        stages.add(r.resolve("sf1.cluster.test"));
                    }
                });
                th.start();
                callers.add(th);
            }
            go.countDown();
            for (Thread th : callers) {
                th.join(10_000);
            }
            assertEquals(100, stages.size());
            for (CompletionStage<List<InetAddress>> s : stages) {
                assertEquals(List.of("10.5.0.1"), ips(await(s)));
            }
            ResolverStatistics st = r.statistics();
            assertEquals(100, st.misses());
            assertEquals(0, st.hits());
            assertEquals(1, st.queries());
            assertEquals(1, gate.forwarded());
            assertEquals(a + 1, servedAtLeast("query-type[A]", a + 1));
            Thread.sleep(100); // anything else in flight would have arrived by now
            assertEquals(a + 1, served("query-type[A]"), "knotd answered exactly one query for 100 misses");
        }
    }

    @Test
    void refreshAhead_aHotEntryIsRefreshedBeforeItExpires_callersNeverMiss() throws Exception {
        FakeTicker ticker = new FakeTicker();
        try (PortsResolver r = v4(ticker).refreshAhead(0.1).build()) {
            long a = served("query-type[A]");
            await(r.resolve("refresh.cluster.test")); // TTL 30: refresh window from 27 s
            ticker.advance(Duration.ofSeconds(20));
            await(r.resolve("refresh.cluster.test"));
            assertEquals(0, r.statistics().refreshes());
            ticker.advance(Duration.ofSeconds(8)); // 28 s: in the window
            CompletionStage<List<InetAddress>> hot = r.resolve("refresh.cluster.test");
            assertTrue(hot.toCompletableFuture().isDone(), "the caller gets the cached answer at once");
            assertEquals(List.of("10.0.4.1"), ips(await(hot)));
            assertEquals(1, r.statistics().refreshes());
            assertEquals(a + 2, servedAtLeast("query-type[A]", a + 2), "the background refresh reached knotd");
            ResolverCache.Entry<?> e = r.cache().map.get("refresh.cluster.test");
            eventually(() -> e.flight.get() == null, "the refresh has been applied");

            ticker.advance(Duration.ofSeconds(5)); // 33 s: past the first answer's expiry
            CompletionStage<List<InetAddress>> after = r.resolve("refresh.cluster.test");
            assertTrue(after.toCompletableFuture().isDone(), "still a hit: the refreshed entry lives to 58 s");
            ResolverStatistics s = r.statistics();
            assertEquals(1, s.misses(), "only the very first lookup missed");
            assertEquals(3, s.hits());
            assertEquals(2, s.queries());
            assertEquals(a + 2, served("query-type[A]"));
        }
    }

    @Test
    void maxEntries_boundsTheCache_evictingEntriesNotUsedRecently() throws Exception {
        FakeTicker ticker = new FakeTicker();
        try (PortsResolver r = v4(ticker).maxEntries(3).build()) {
            for (int i = 1; i <= 6; i++) {
                await(r.resolve("node" + i + ".cluster.test"));
                assertTrue(r.statistics().size() <= 3, "size " + r.statistics().size());
                long queries = r.statistics().queries();
                assertTrue(r.resolve("node" + i + ".cluster.test").toCompletableFuture().isDone(), "the newest entry is kept");
                assertEquals(queries, r.statistics().queries());
            }
            assertEquals(3, r.statistics().evictions());
            assertEquals(3, r.statistics().size());
            // an expired entry goes before a fresh one
            ticker.advance(Duration.ofSeconds(31));
            await(r.resolve("v4only.cluster.test"));
            assertTrue(r.statistics().size() <= 3);
        }
    }

    @Test
    void blockingLookup_onAnEventLoopThread_isRefusedUnlessCached() throws Exception {
        // a server that never answers: the uncached question cannot complete before resolveBlocking looks at it
        // (knot on loopback could answer first, and a completed stage is returned, by design)
        try (java.net.DatagramSocket silent = new java.net.DatagramSocket(new java.net.InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
             PortsResolver mute = v4(new FakeTicker()).servers((java.net.InetSocketAddress) silent.getLocalSocketAddress()).build()) {
            Object onLoop = loops.next().submit(() -> {
                try {
                    mute.resolveBlocking("multi.cluster.test");
                    return "no exception";
                } catch (IllegalStateException expected) {
                    return expected;
                }
            }).get(10, TimeUnit.SECONDS);
            assertInstanceOf(IllegalStateException.class, onLoop);
            assertTrue(((IllegalStateException) onLoop).getMessage().contains("multi.cluster.test"), onLoop.toString());
        }
        try (PortsResolver r = v4(new FakeTicker()).build()) {
            await(r.resolve("v4only.cluster.test"));
            List<InetAddress> cached = loops.next().submit(() -> r.resolveBlocking("v4only.cluster.test")).get(10, TimeUnit.SECONDS);
            assertEquals(List.of("10.0.1.1"), ips(cached));
        }
    }

    @Test
    void keys_areTheStringsAsGiven() throws Exception {
        try (PortsResolver r = v4(new FakeTicker()).build()) {
            CompletionStage<List<InetAddress>> lower = r.resolve("v4only.cluster.test");
            await(lower);
            CompletionStage<List<InetAddress>> upper = r.resolve("V4ONLY.cluster.test");
            assertEquals(List.of("10.0.1.1"), ips(await(upper)));
            assertNotSame(r.resolve("v4only.cluster.test"), upper);
            assertEquals(2, r.statistics().size());
        }
    }
}
