package io.ports.core;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.OptionalInt;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class PortReservationTest {

    @Test
    void reservePort_handsOutLowestFirstAndNeverTwice() {
        PortReservation r = PortReservation.inclusive(15000, 15002);
        assertEquals(OptionalInt.of(15000), r.reservePort());
        assertEquals(OptionalInt.of(15001), r.reservePort());
        assertEquals(OptionalInt.of(15002), r.reservePort());
        assertEquals(OptionalInt.empty(), r.reservePort());
        assertEquals(3, r.reservedCount());
    }

    @Test
    void releasePort_makesItTheNextOneHandedOut() {
        PortReservation r = PortReservation.inclusive(15000, 15199);
        int[] got = r.reservePorts(150);
        assertEquals(150, got.length);
        assertTrue(r.releasePort(15007));
        assertFalse(r.releasePort(15007), "second release of the same port reports nothing released");
        assertEquals(OptionalInt.of(15007), r.reservePort());
        assertEquals(OptionalInt.of(15150), r.reservePort());
    }

    @Test
    void exclusive_excludesTheEnd() {
        PortReservation r = PortReservation.exclusive(20000, 20002);
        assertEquals(PortRange.of(20000, 20001), r.range());
        assertEquals(2, r.reservePorts(5).length);
    }

    @Test
    void reservePorts_returnsAsManyAsAvailable() {
        PortReservation r = PortReservation.inclusive(20000, 20004);
        assertTrue(r.reserve(20002));
        int[] got = r.reservePorts(10);
        assertArrayEquals(new int[] {20000, 20001, 20003, 20004}, got);
        assertEquals(0, r.reservePorts(3).length);
        assertEquals(0, r.availableCount());
    }

    @Test
    void reservePortsAllOrNothing_whenShort_reservesNothingAndSaysWhy() {
        PortReservation r = PortReservation.inclusive(20000, 20004);
        r.reserve(20000);
        r.reserve(20001);
        PortExhaustedException e = assertThrows(PortExhaustedException.class, () -> r.reservePortsAllOrNothing(4));
        assertTrue(e.getMessage().contains("asked for 4 ports of range 20000-20004 but only 3 were free"), e.getMessage());
        assertEquals(2, r.reservedCount(), "nothing stays reserved after a failed all-or-nothing call");
        assertEquals(3, r.reservePortsAllOrNothing(3).length);
    }

    @Test
    void specificPort_reserveIsReservedRelease() {
        PortReservation r = PortReservation.inclusive(30000, 30100);
        assertFalse(r.isReserved(30050));
        assertTrue(r.reserve(30050));
        assertFalse(r.reserve(30050));
        assertTrue(r.isReserved(30050));
        assertEquals(1, r.releasePorts(30050, 30051), "only the reserved one counts");
        assertEquals(0, r.releasePorts(List.of()));
        r.reserve(30060);
        r.reserve(30061);
        assertEquals(2, r.releasePorts(List.of(30060, 30061, 30062)));
        assertEquals(0, r.reservedCount());
    }

    @Test
    void outOfRangePortsAndNegativeCounts_areRejected() {
        PortReservation r = PortReservation.inclusive(30000, 30100);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> r.reserve(29999));
        assertTrue(e.getMessage().contains("29999") && e.getMessage().contains("30000-30100"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> r.releasePort(30101));
        assertThrows(IllegalArgumentException.class, () -> r.reservePorts(-1));
        assertEquals(0, r.reservedCount());
    }

    @Test
    void rangeNotMultipleOf64_neverHandsOutPortsPastTheEnd() {
        PortReservation r = PortReservation.inclusive(1000, 1064); // 65 ports: two words, the second with one bit
        int[] all = r.reservePorts(1000);
        assertEquals(65, all.length);
        assertEquals(1064, all[64]);
        assertEquals(65, r.reservedCount());
    }

    @Test
    void nextUnreserved_skipsReservedWordsAndClipsToBounds() {
        PortReservation r = PortReservation.of(PortRange.ALL);
        for (int p = 20000; p < 20200; p++) {
            r.reserve(p);
        }
        assertEquals(20200, r.nextUnreserved(20000, 30000));
        assertEquals(-1, r.nextUnreserved(20000, 20199));
        assertEquals(19999, r.nextUnreserved(19999, 20199));
        assertEquals(65535, r.nextUnreserved(65535, 70000));
    }

    @Test
    void manyThreads_reserveAtOnce_noPortTwice() throws Exception {
        PortReservation r = PortReservation.inclusive(10000, 19999);
        int threads = 8;
        int perThread = 1000;
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        try {
            CountDownLatch start = new CountDownLatch(1);
            List<Future<List<Integer>>> futures = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                futures.add(pool.submit(() -> {
                    start.await();
                    List<Integer> mine = new ArrayList<>();
                    for (int i = 0; i < perThread; i++) {
                        int p = r.reservePort().orElseThrow();
                        mine.add(p);
                        if (i % 3 == 0) { // churn: release and take again
                            assertTrue(r.releasePort(p));
                            mine.remove(mine.size() - 1);
                            mine.add(r.reservePort().orElseThrow());
                        }
                    }
                    return mine;
                }));
            }
            start.countDown();
            Set<Integer> all = new HashSet<>();
            for (Future<List<Integer>> f : futures) {
                for (int p : f.get(60, TimeUnit.SECONDS)) {
                    assertTrue(all.add(p), "port " + p + " handed out twice");
                }
            }
            assertEquals(threads * perThread, all.size());
            assertEquals(threads * perThread, r.reservedCount());
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void manyThreads_contendForAFewPorts_eachPortHasOneHolderAtATime() throws Exception {
        PortReservation r = PortReservation.inclusive(20000, 20003);
        Set<Integer> holders = ConcurrentHashMap.newKeySet();
        AtomicInteger violations = new AtomicInteger();
        int threads = 6;
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        try {
            List<Future<?>> fs = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                fs.add(pool.submit(() -> {
                    for (int i = 0; i < 20_000; i++) {
                        OptionalInt p = r.reservePort();
                        if (p.isPresent()) {
                            if (!holders.add(p.getAsInt())) {
                                violations.incrementAndGet();
                            }
                            holders.remove(p.getAsInt());
                            r.releasePort(p.getAsInt());
                        }
                    }
                }));
            }
            for (Future<?> f : fs) {
                f.get(60, TimeUnit.SECONDS);
            }
        } finally {
            pool.shutdownNow();
        }
        assertEquals(0, violations.get());
        assertEquals(0, r.reservedCount());
    }
}
