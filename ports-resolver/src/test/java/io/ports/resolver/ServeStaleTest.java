package io.ports.resolver;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.ports.resolver.testsupport.FakeTicker;
import io.ports.resolver.testsupport.Knot;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

import java.net.InetAddress;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletionStage;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** RFC 8767 against a knotd of its own that the test stops: stale answers, the timeout error, recovery. */
class ServeStaleTest extends KnotTestSupport {

    private static PortsResolver.Builder against(Knot own, FakeTicker ticker) {
        return resolver().servers(own.v4()).ticker(ticker).timeout(Duration.ofMillis(200)).attempts(2)
                .familyPreference(FamilyPreference.IPV4_ONLY).refreshAhead(0).stalePeriod(Duration.ofHours(1))
                .staleAnswerTimeout(Duration.ZERO).staleRetryInterval(Duration.ofSeconds(30));
    }

    private static long warnings(ListAppender<ILoggingEvent> log, String text) {
        return log.list.stream().filter(e -> e.getLevel() == Level.WARN && e.getFormattedMessage().contains(text)).count();
    }

    @Test
    void serverStops_expiredAnswersAreServedStale_unknownNamesTimeOut_andRecoveryReturnsFreshAnswers() throws Exception {
        FakeTicker ticker = new FakeTicker();
        Logger cacheLog = (Logger) LoggerFactory.getLogger(ResolverCache.class);
        ListAppender<ILoggingEvent> log = new ListAppender<>();
        log.start();
        cacheLog.addAppender(log);
        try (Knot own = Knot.start(TestZone.TEXT); PortsResolver r = against(own, ticker).build()) {
            assertEquals(List.of("10.0.6.1"), ips(await(r.resolve("stale.cluster.test"))));
            assertInstanceOf(UnknownNameException.class, failure(r.resolve("missing.cluster.test")));
            own.stop();

            ticker.advance(Duration.ofSeconds(31)); // both expired
            assertEquals(List.of("10.0.6.1"), ips(await(r.resolve("stale.cluster.test"))), "stale after the servers failed");
            ResolverStatistics s = r.statistics();
            assertEquals(1, s.staleServed());
            assertEquals(2, s.timeouts(), "two attempts, each timed out");
            assertEquals(1, s.failures());
            assertEquals(4, s.queries());

            CompletionStage<List<InetAddress>> again = r.resolve("stale.cluster.test");
            assertTrue(again.toCompletableFuture().isDone(), "within the failure recheck interval: stale at once, no query");
            assertEquals(4, r.statistics().queries());
            assertEquals(2, r.statistics().staleServed());

            Throwable negative = failure(r.resolve("missing.cluster.test"));
            assertInstanceOf(DnsTimeoutException.class, negative, "negative answers are never served stale");

            Throwable never = failure(r.resolve("multi.cluster.test"));
            assertInstanceOf(DnsTimeoutException.class, never);
            DnsTimeoutException t = (DnsTimeoutException) never;
            assertEquals(List.of(own.v4()), t.servers());
            assertEquals(2, t.attempts());
            assertEquals("multi.cluster.test", t.name());
            assertEquals("A", t.type());
            assertTrue(t.getMessage().contains(Names.format(own.v4())) && t.getMessage().contains("2 attempts")
                    && t.getMessage().contains("200 ms") && t.getMessage().contains("timeout"), t.getMessage());

            ticker.advance(Duration.ofSeconds(31)); // past the recheck interval: asks again, fails, stale again
            long queries = r.statistics().queries();
            assertEquals(List.of("10.0.6.1"), ips(await(r.resolve("stale.cluster.test"))));
            assertEquals(queries + 2, r.statistics().queries());
            assertEquals(1, warnings(log, "serving stale answers"), "the failure is logged once");

            own.restart();
            ticker.advance(Duration.ofSeconds(31));
            assertEquals(List.of("10.0.6.1"), ips(await(r.resolve("stale.cluster.test"))));
            long stale = r.statistics().staleServed();
            assertTrue(r.resolve("stale.cluster.test").toCompletableFuture().isDone());
            assertEquals(stale, r.statistics().staleServed(), "a fresh answer again, not a stale one");
            assertTrue(log.list.stream().anyMatch(e -> e.getLevel() == Level.INFO && e.getFormattedMessage().contains("arrive again")));

            own.stop();
            ticker.advance(Duration.ofHours(2)); // beyond the stale period
            assertInstanceOf(DnsTimeoutException.class, failure(r.resolve("stale.cluster.test")));
        } finally {
            cacheLog.detachAppender(log);
        }
    }

    @Test
    void slowRefresh_callersGetTheStaleAnswerAfterTheClientResponseTimer() throws Exception {
        FakeTicker ticker = new FakeTicker();
        try (Knot own = Knot.start(TestZone.TEXT);
             PortsResolver r = against(own, ticker).timeout(Duration.ofSeconds(20)).attempts(1)
                     .staleAnswerTimeout(Duration.ofMillis(100)).build()) {
            await(r.resolve("stale.cluster.test"));
            own.stop();
            ticker.advance(Duration.ofSeconds(31));
            // the query waits 20 s for its timeout; the callers get the stale answer after 100 ms
            CompletionStage<List<InetAddress>> first = r.resolve("stale.cluster.test");
            CompletionStage<List<InetAddress>> second = r.resolve("stale.cluster.test");
            assertEquals(List.of("10.0.6.1"), ips(await(first)));
            assertEquals(List.of("10.0.6.1"), ips(await(second)));
            assertEquals(2, r.statistics().staleServed());
            assertEquals(2, r.statistics().queries(), "the first lookup, then one refresh in flight for both callers");
            assertEquals(0, r.statistics().failures(), "served by the 100 ms timer, not after the 20 s query failed");
        }
    }

    @Test
    void stalePeriodZero_failsWithTheError() throws Exception {
        FakeTicker ticker = new FakeTicker();
        try (Knot own = Knot.start(TestZone.TEXT); PortsResolver r = against(own, ticker).stalePeriod(Duration.ZERO).build()) {
            await(r.resolve("stale.cluster.test"));
            own.stop();
            ticker.advance(Duration.ofSeconds(31));
            assertInstanceOf(DnsTimeoutException.class, failure(r.resolve("stale.cluster.test")));
            assertEquals(0, r.statistics().staleServed());
        }
    }
}
