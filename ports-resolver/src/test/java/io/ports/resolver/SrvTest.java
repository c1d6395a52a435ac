package io.ports.resolver;

import org.junit.jupiter.api.Test;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** SRV against knotd: RFC 2782 order and its statistics, "." targets, targets that do not resolve, selection. */
class SrvTest extends KnotTestSupport {

    @Test
    void resolveSrv_ordersByPriority_andResolvesEveryTarget() throws Exception {
        try (PortsResolver r = resolver().build()) {
            List<SrvEndpoint> peers = await(r.resolveSrv("_db._tcp.cluster.test"));
            assertEquals(4, peers.size());
            assertEquals(Set.of("node1.cluster.test", "node2.cluster.test", "node3.cluster.test"),
                    peers.subList(0, 3).stream().map(SrvEndpoint::target).collect(Collectors.toSet()));
            assertTrue(peers.subList(0, 3).stream().allMatch(p -> p.priority() == 10));
            SrvEndpoint last = peers.get(3);
            assertEquals("node4.cluster.test", last.target());
            assertEquals(20, last.priority());
            assertEquals(0, last.weight());
            assertEquals(List.of("10.1.0.4", "fd01::4"), ips(last.addresses()));
            assertEquals(5432, last.endpoint().port());
            assertTrue(peers.stream().allMatch(p -> p.port() == 5432 && p.addresses().size() == 2));
            assertEquals(4, r.resolveSrvBlocking("_db._tcp.cluster.test").size());
        }
    }

    @Test
    void resolveSrv_weights10_30_60_tenThousandDraws_followTheWeights() throws Exception {
        try (PortsResolver r = resolver().familyPreference(FamilyPreference.IPV4_ONLY).build()) {
            long srvQueries = served("query-type[SRV]");
            int draws = 10_000;
            Map<String, Integer> first = new HashMap<>();
            Map<String, Integer> last = new HashMap<>();
            for (int i = 0; i < draws; i++) {
                List<SrvEndpoint> order = await(r.resolveSrv("_weights._tcp.cluster.test"));
                assertEquals(3, order.size());
                first.merge(order.get(0).target(), 1, Integer::sum);
                last.merge(order.get(2).target(), 1, Integer::sum);
            }
            // P(first) = w/100: 0.1, 0.3, 0.6; standard deviation at most 0.005, bounds are 6 of them
            assertShare(first, "node1.cluster.test", 0.10, draws);
            assertShare(first, "node2.cluster.test", 0.30, draws);
            assertShare(first, "node3.cluster.test", 0.60, draws);
            // P(last) = sum over the first two draws: node1 last = .3*.6/.7 + .6*.3/.4 = 0.7071...
            assertShare(last, "node1.cluster.test", 0.3 * 0.6 / 0.7 + 0.6 * 0.3 / 0.4, draws);
            assertEquals(4, r.statistics().queries(), "one SRV query and one A per target: every draw after is a hit");
            assertEquals(srvQueries + 1, served("query-type[SRV]"));
        }
    }

    private static void assertShare(Map<String, Integer> counts, String target, double expected, int draws) {
        double share = counts.getOrDefault(target, 0) / (double) draws;
        assertTrue(Math.abs(share - expected) < 0.03, target + " came " + share + " of the time, expected about " + expected
                + " (" + counts + ")");
    }

    @Test
    void resolveSrv_weightZeroTargets_getAVerySmallChance() throws Exception {
        try (PortsResolver r = resolver().familyPreference(FamilyPreference.IPV4_ONLY).build()) {
            Map<String, Integer> first = new HashMap<>();
            int draws = 10_000;
            for (int i = 0; i < draws; i++) {
                first.merge(await(r.resolveSrv("_zero._tcp.cluster.test")).get(0).target(), 1, Integer::sum);
            }
            // weights 0, 0, 100: the two weight-0 targets together come first with 1/101, about 99 times
            int zeroFirst = first.getOrDefault("node1.cluster.test", 0) + first.getOrDefault("node2.cluster.test", 0);
            assertTrue(zeroFirst > 30 && zeroFirst < 250, "weight-0 targets first " + zeroFirst + " times: " + first);
            assertTrue(first.getOrDefault("node1.cluster.test", 0) > 0 && first.getOrDefault("node2.cluster.test", 0) > 0, first.toString());
        }
    }

    @Test
    void resolveSrv_targetDot_meansNoService() throws Exception {
        try (PortsResolver r = resolver().build()) {
            Throwable t = failure(r.resolveSrv("_none._tcp.cluster.test"));
            assertInstanceOf(NoDataException.class, t);
            assertEquals("SRV", ((DnsException) t).type());
            assertTrue(t.getMessage().contains("decidedly not available") && t.getMessage().contains("_none._tcp.cluster.test"),
                    t.getMessage());
            assertEquals(1, r.statistics().queries(), "no lookup of \".\"");
        }
    }

    @Test
    void resolveSrv_aTargetThatDoesNotResolve_isLeftOut() throws Exception {
        try (PortsResolver r = resolver().familyPreference(FamilyPreference.IPV4_ONLY).build()) {
            List<SrvEndpoint> peers = await(r.resolveSrv("_partial._tcp.cluster.test"));
            assertEquals(List.of("node5.cluster.test"), peers.stream().map(SrvEndpoint::target).collect(Collectors.toList()));
        }
    }

    @Test
    void resolveSrv_unknownName_andSearchList() throws Exception {
        try (PortsResolver r = resolver().build()) {
            Throwable t = failure(r.resolveSrv("_nope._tcp.cluster.test"));
            assertInstanceOf(UnknownNameException.class, t);
            assertTrue(t.getMessage().contains("'_nope._tcp.cluster.test' (SRV)"), t.getMessage());
        }
        try (PortsResolver r = resolver().search(List.of("cluster.test")).build()) {
            assertEquals(4, await(r.resolveSrv("_db._tcp")).size());
        }
    }

    @Test
    void priorityFailover_overResolvedPeers_movesToTheNextPriorityWhenOneIsDown() throws Exception {
        try (PortsResolver r = resolver().build()) {
            EndpointSelector peers = EndpointSelector.priorityFailover(r.resolveSrvBlocking("_db._tcp.cluster.test"));
            Optional<SrvEndpoint> e = peers.next();
            assertEquals(10, e.orElseThrow().priority());
            for (SrvEndpoint p : peers.endpoints()) {
                if (p.priority() == 10) {
                    peers.markDown(p);
                }
            }
            assertEquals("node4.cluster.test", peers.next().orElseThrow().target());
            peers.update(r.resolveSrvBlocking("_db._tcp.cluster.test")); // fresh order, marks kept
            assertEquals("node4.cluster.test", peers.next().orElseThrow().target());
            peers.markDown(peers.next().orElseThrow());
            assertTrue(peers.next().isEmpty());
            peers.markAllUp();
            assertEquals(10, peers.next().orElseThrow().priority());
        }
    }
}
