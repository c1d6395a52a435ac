package io.ports.resolver;

import org.junit.jupiter.api.Test;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SrvOrderTest {
    private static SrvOrder.Srv srv(int priority, int weight, String target) {
        return new SrvOrder.Srv(priority, weight, 5432, target + ".");
    }

    @Test
    void order_lowerPriorityFirst_dotAndPortZeroDropped() {
        List<SrvOrder.Srv> records = List.of(srv(20, 5, "c"), srv(10, 5, "a"), new SrvOrder.Srv(0, 0, 0, "."),
                new SrvOrder.Srv(5, 5, 0, "noport."), srv(10, 5, "b"), srv(30, 0, "d"));
        Random random = new Random(42);
        for (int i = 0; i < 200; i++) {
            List<String> order = SrvOrder.order(records, random).stream().map(SrvOrder.Srv::target).collect(Collectors.toList());
            assertEquals(4, order.size());
            assertTrue(order.subList(0, 2).containsAll(List.of("a.", "b.")), order.toString());
            assertEquals(List.of("c.", "d."), order.subList(2, 4));
        }
    }

    @Test
    void pick_followsTheWeights_withoutBiasTowardsTheFirst() {
        List<Integer> weights = List.of(10, 30, 60);
        Random random = new Random(7);
        int[] counts = new int[3];
        int draws = 100_000;
        for (int i = 0; i < draws; i++) {
            counts[SrvOrder.pick(weights, w -> w, random)]++;
        }
        assertEquals(0.1, counts[0] / (double) draws, 0.006);
        assertEquals(0.3, counts[1] / (double) draws, 0.006);
        assertEquals(0.6, counts[2] / (double) draws, 0.006);
        assertEquals(0.5, share(List.of(1, 1), 1, random), 0.01, "equal weights, no off-by-one for the first");
    }

    @Test
    void pick_weightZero_hasOneInSumPlusOne_allZeroIsUniform() {
        Random random = new Random(3);
        assertEquals(1.0 / 11, share(List.of(0, 10), 0, random), 0.004);
        assertEquals(1.0 / 3, share(List.of(0, 0, 0), 2, random), 0.01);
        assertEquals(0.0, share(List.of(5), 0, random) - 1.0, 0.0);
    }

    private static double share(List<Integer> weights, int index, Random random) {
        int hits = 0;
        int draws = 100_000;
        for (int i = 0; i < draws; i++) {
            if (SrvOrder.pick(weights, w -> w, random) == index) {
                hits++;
            }
        }
        return hits / (double) draws;
    }

    @Test
    void order_allPositions_followTheRfcDrawWithoutReplacement() {
        List<SrvOrder.Srv> records = List.of(srv(1, 10, "a"), srv(1, 30, "b"), srv(1, 60, "c"));
        Random random = new Random(11);
        Map<String, Integer> second = new HashMap<>();
        int draws = 50_000;
        for (int i = 0; i < draws; i++) {
            second.merge(SrvOrder.order(records, random).get(1).target(), 1, Integer::sum);
        }
        // P(a second) = P(b first) * 10/70 + P(c first) * 10/40
        assertEquals(0.3 * 10 / 70 + 0.6 * 10 / 40, second.get("a.") / (double) draws, 0.01);
    }
}
