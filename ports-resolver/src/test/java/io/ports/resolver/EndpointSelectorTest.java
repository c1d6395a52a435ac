package io.ports.resolver;

import org.junit.jupiter.api.Test;

import java.net.InetAddress;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class EndpointSelectorTest {
    private static SrvEndpoint ep(int priority, int weight, String target) throws Exception {
        return new SrvEndpoint(priority, weight, target, 5432, List.of(InetAddress.getByName("10.0.0.1")));
    }

    @Test
    void roundRobin_takesEachInTurn_skippingThoseDown() throws Exception {
        SrvEndpoint a = ep(10, 1, "a");
        SrvEndpoint b = ep(20, 1, "b");
        SrvEndpoint c = ep(30, 1, "c");
        EndpointSelector s = EndpointSelector.roundRobin(List.of(a, b, c));
        List<String> seen = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            seen.add(s.next().orElseThrow().target());
        }
        assertEquals(List.of("a", "b", "c", "a", "b", "c"), seen);
        s.markDown(b);
        for (int i = 0; i < 10; i++) {
            assertTrue(!s.next().orElseThrow().target().equals("b"));
        }
        s.markDown(a);
        s.markDown(c);
        assertTrue(s.next().isEmpty(), "all down");
        s.markUp(b);
        assertEquals("b", s.next().orElseThrow().target());
    }

    @Test
    void weightedRandom_followsTheWeights_ignoringPriority() throws Exception {
        EndpointSelector s = EndpointSelector.weightedRandom(List.of(ep(10, 10, "a"), ep(20, 30, "b"), ep(30, 60, "c")));
        Map<String, Integer> counts = new HashMap<>();
        int draws = 20_000;
        for (int i = 0; i < draws; i++) {
            counts.merge(s.next().orElseThrow().target(), 1, Integer::sum);
        }
        assertEquals(0.1, counts.get("a") / (double) draws, 0.02);
        assertEquals(0.3, counts.get("b") / (double) draws, 0.02);
        assertEquals(0.6, counts.get("c") / (double) draws, 0.02);
    }

    @Test
    void priorityFailover_usesTheLowestPriorityUp_byWeight_thenFailsOver() throws Exception {
        SrvEndpoint a1 = ep(10, 90, "a1");
        SrvEndpoint a2 = ep(10, 10, "a2");
        SrvEndpoint b1 = ep(20, 0, "b1");
        EndpointSelector s = EndpointSelector.priorityFailover(List.of(b1, a1, a2));
        Map<String, Integer> counts = new HashMap<>();
        for (int i = 0; i < 5_000; i++) {
            counts.merge(s.next().orElseThrow().target(), 1, Integer::sum);
        }
        assertEquals(null, counts.get("b1"), "priority 20 is not used while 10 is up");
        assertTrue(counts.get("a1") > counts.get("a2") * 4, counts.toString());
        s.markDown(a1);
        assertEquals("a2", s.next().orElseThrow().target());
        s.markDown(a2);
        assertEquals("b1", s.next().orElseThrow().target(), "the whole priority is down: the next one");
        s.markUp(a1);
        assertEquals("a1", s.next().orElseThrow().target());
        assertEquals(List.of(b1, a1), s.available());
    }

    @Test
    void marks_followTargetAndPort_acrossUpdates() throws Exception {
        SrvEndpoint a = ep(10, 1, "A.example");
        EndpointSelector s = EndpointSelector.roundRobin(List.of(a, ep(10, 1, "b")));
        s.markDown(a);
        SrvEndpoint freshA = new SrvEndpoint(10, 1, "a.example", 5432, List.of(InetAddress.getByName("10.9.9.9")));
        s.update(List.of(freshA, ep(10, 1, "c")));
        assertTrue(s.isDown(freshA), "same target and port, new addresses: still down");
        assertEquals("c", s.next().orElseThrow().target());
        assertThrows(IllegalArgumentException.class, () -> EndpointSelector.roundRobin(List.of()));
    }

    @Test
    void endpointRecords_validate() throws Exception {
        assertThrows(IllegalArgumentException.class, () -> ep(-1, 0, "a"));
        assertThrows(IllegalArgumentException.class, () -> ep(0, 65536, "a"));
        assertThrows(IllegalArgumentException.class, () -> new SrvEndpoint(0, 0, "a", 0, List.of(InetAddress.getByName("10.0.0.1"))));
        assertThrows(IllegalArgumentException.class, () -> new Endpoint("a", 80, List.of()));
        Endpoint e = new Endpoint("db1", 5432, List.of(InetAddress.getByName("10.0.0.1")));
        SrvEndpoint wrapped = SrvEndpoint.of(e, 0, 1);
        assertEquals(e, wrapped.endpoint());
    }
}
