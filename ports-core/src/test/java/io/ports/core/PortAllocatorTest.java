package io.ports.core;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.BindException;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class PortAllocatorTest {
    @TempDir
    Path lockDir;

    private PortAllocator allocator;
    private HostReservations observer;
    private final List<AutoCloseable> cleanup = new ArrayList<>();

    @BeforeEach
    void setUp() {
        allocator = PortAllocator.builder().lockDirectory(lockDir).environment(Map.of()).build();
        observer = HostReservations.open(lockDir);
    }

    @AfterEach
    void tearDown() throws Exception {
        for (AutoCloseable c : cleanup) {
            c.close();
        }
        allocator.close();
        observer.close();
    }

    private static ServiceType type(String name, int defaultPort, PortRange range) {
        return ServiceType.tcp(name, defaultPort, range, "test");
    }

    private ServerSocket listenOn(int port) throws IOException {
        ServerSocket s = new ServerSocket();
        s.bind(new InetSocketAddress(InetAddress.getByName("127.0.0.1"), port));
        cleanup.add(s);
        return s;
    }

    private int freePortIn(PortRange r) {
        for (int p : r) {
            if (!observer.isClaimed(p) && BindProbe.wildcard().isFree(p)) {
                return p;
            }
        }
        throw new AssertionError("no free port in " + r);
    }

    @Test
    void allocate_defaultPortFree_isPreferredAndHeldHostWide() {
        PortRange r = PortRange.of(24000, 24099);
        int p = freePortIn(r);
        PortLease l = allocator.allocate("db", type("t", p, r));
        assertEquals(p, l.port());
        assertEquals(PortLease.Outcome.PREFERRED, l.outcome());
        assertEquals(1, l.attempts());
        assertTrue(l.isHostWide() && l.isHeld());
        assertTrue(observer.isClaimed(p));
        assertTrue(allocator.isReservedHere(p));
        l.close();
        l.close(); // exactly once
        assertTrue(l.isReleased());
        assertFalse(observer.isClaimed(p));
        assertFalse(allocator.isReservedHere(p));
    }

    @Test
    void allocate_preferredBoundByAnotherProgram_fallsBackWithinTheRange() throws IOException {
        PortRange r = PortRange.of(24100, 24199);
        int taken = freePortIn(r);
        listenOn(taken);
        PortLease l = allocator.allocate("db", type("t", taken, r));
        assertNotEquals(taken, l.port());
        assertTrue(r.contains(l.port()));
        assertEquals(PortLease.Outcome.FALLBACK, l.outcome());
        assertTrue(l.attempts() >= 2);
        assertFalse(allocator.isReservedHere(taken), "a refused candidate leaves nothing behind");
        assertFalse(observer.isClaimed(taken));
    }

    @Test
    void allocate_requiredPortTaken_failsNamingTheHolderAndHoldsNothing() throws IOException {
        PortRange r = PortRange.of(24200, 24299);
        int taken = freePortIn(r);
        listenOn(taken);
        PortUnavailableException e = assertThrows(PortUnavailableException.class, () -> allocator.allocate(
                PortRequest.builder("db", type("t", 0, r)).preferredPort(taken).required(true).build()));
        assertEquals(taken, e.port());
        assertTrue(e.getMessage().contains("required port " + taken + " for service 'db' is unavailable: in use"), e.getMessage());
        assertTrue(e.holder().contains("pid " + ProcessHandle.current().pid()), "holder: " + e.holder());
        assertTrue(allocator.report().entries().isEmpty());
        assertFalse(observer.isClaimed(taken));
    }

    @Test
    void allocate_requiredPortLeasedHere_namesTheService() {
        PortRange r = PortRange.of(24300, 24399);
        PortLease first = allocator.allocate("first", type("t", 0, r));
        PortUnavailableException e = assertThrows(PortUnavailableException.class, () -> allocator.allocate(
                PortRequest.builder("second", type("t", 0, r)).preferredPort(first.port()).required(true).build()));
        assertTrue(e.holder().contains("service 'first' in this process"), e.holder());
    }

    @Test
    void allocate_requiredWithoutAnyPort_isBadInput() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> allocator.allocate(PortRequest.builder("x", ServiceType.CUSTOM).required(true).environmentVariable("PORT").build()));
        assertTrue(e.getMessage().contains("required but names no port") && e.getMessage().contains("PORT"), e.getMessage());
    }

    @Test
    void allocate_environmentVariable_winsOverTheConfiguredPort_andBadValuesAreRejected() {
        PortRange r = PortRange.of(24400, 24499);
        int fromEnv = freePortIn(PortRange.of(24450, 24499));
        try (PortAllocator a = PortAllocator.builder().lockDirectory(lockDir).environment(Map.of("PORT", Integer.toString(fromEnv), "BAD", "54x")).build()) {
            PortLease l = a.allocate(PortRequest.builder("web", type("t", 24400, r)).environmentVariable("PORT").preferredPort(24401).build());
            assertEquals(fromEnv, l.port());
            assertEquals(PortLease.Outcome.PREFERRED, l.outcome());
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> a.allocate(PortRequest.builder("web2", type("t", 0, r)).environmentVariable("BAD").build()));
            assertTrue(e.getMessage().contains("environment variable BAD") && e.getMessage().contains("'54x'"), e.getMessage());
            assertEquals(1, a.report().entries().size(), "the bad request held nothing");
        }
    }

    @Test
    void sequential_walksFromTheStartOfTheRange() {
        PortRange r = PortRange.of(24500, 24599);
        int first = freePortIn(r);
        PortLease a = allocator.allocate(PortRequest.builder("a", type("t", 0, r)).strategy(AllocationStrategy.SEQUENTIAL).build());
        assertEquals(first, a.port());
        PortLease b = allocator.allocate(PortRequest.builder("b", type("t", 0, r)).strategy(AllocationStrategy.SEQUENTIAL).build());
        assertTrue(b.port() > a.port());
    }

    @Test
    void random_staysInTheRangeAndSpreads() {
        PortRange r = PortRange.of(24600, 24799);
        Set<Integer> seen = new HashSet<>();
        for (int i = 0; i < 20; i++) {
            PortLease l = allocator.allocate(PortRequest.builder("r" + i, type("t", 0, r)).strategy(AllocationStrategy.RANDOM).build());
            assertTrue(r.contains(l.port()));
            seen.add(l.port());
        }
        assertEquals(20, seen.size());
        int lowest = seen.stream().mapToInt(Integer::intValue).min().orElseThrow();
        int highest = seen.stream().mapToInt(Integer::intValue).max().orElseThrow();
        assertTrue(highest - lowest > 20, "20 random ports of 200 should not be one block: " + seen);
    }

    @Test
    void hash_sameKeyGetsTheSamePortOnEveryStart_andCollisionsProbeDeterministically() {
        PortRange r = PortRange.of(24800, 24999);
        ServiceType t = type("t", 0, r);
        int first;
        try (PortAllocator a = PortAllocator.builder().lockDirectory(lockDir).nodeId("node-7").strategy(AllocationStrategy.HASH).build()) {
            first = a.allocate("orders", t).port();
        }
        try (PortAllocator a = PortAllocator.builder().lockDirectory(lockDir).nodeId("node-7").strategy(AllocationStrategy.HASH).build()) {
            assertEquals(first, a.allocate("orders", t).port(), "same node and service: same port");
        }
        int second;
        try (PortAllocator a = PortAllocator.builder().lockDirectory(lockDir).nodeId("node-7").strategy(AllocationStrategy.HASH).build()) {
            a.allocate(PortRequest.builder("squatter", t).preferredPort(first).build()); // takes the hashed port
            second = a.allocate("orders", t).port();
            assertNotEquals(first, second);
        }
        try (PortAllocator a = PortAllocator.builder().lockDirectory(lockDir).nodeId("node-7").strategy(AllocationStrategy.HASH).build()) {
            a.allocate(PortRequest.builder("squatter", t).preferredPort(first).build());
            assertEquals(second, a.allocate("orders", t).port(), "the probe sequence after a collision is deterministic");
        }
    }

    @Test
    void hashOrder_isAPermutationOfTheRange() {
        for (int size : new int[] {1, 2, 3, 64, 100, 1000}) {
            var order = PortAllocator.hashOrder("key-" + size, size);
            Set<Integer> seen = new HashSet<>();
            for (int i = 0; i < size; i++) {
                assertTrue(seen.add(order.applyAsInt(i)));
            }
            assertEquals(size, seen.size());
        }
    }

    @Test
    void exclusionsAndNeverAllocate_areSkippedAndRefusedWhenRequired() {
        PortRange r = PortRange.of(25000, 25004);
        try (PortAllocator a = PortAllocator.builder().lockDirectory(lockDir).neverAllocate(25000).build()) {
            PortLease l = a.allocate(PortRequest.builder("x", type("t", 0, r)).exclude(25001).build());
            assertTrue(l.port() > 25001, "got " + l.port());
            PortUnavailableException e = assertThrows(PortUnavailableException.class,
                    () -> a.allocate(PortRequest.builder("y", type("t", 0, r)).preferredPort(25000).required(true).build()));
            assertTrue(e.getMessage().contains("never-allocate"), e.getMessage());
        }
    }

    @Test
    void privilegedPorts_areRefusedUnlessAllowed() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> allocator.allocate(PortRequest.builder("web", type("t", 0, PortRange.of(25100, 25199))).preferredPort(80).build()));
        assertTrue(e.getMessage().contains("preferred port 80") && e.getMessage().contains("allowPrivileged"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> allocator.allocate("web", type("t", 0, PortRange.of(1000, 1100))));
        assertTrue(e.getMessage().contains("range 1000-1100") && e.getMessage().contains("privileged"), e.getMessage());
        assertTrue(allocator.report().entries().isEmpty());
    }

    @Test
    void exhaustion_ofATinyRange_saysWhatWasFoundAndWhatToDo() throws IOException {
        PortRange r = PortRange.of(25200, 25202);
        ServiceType t = type("tiny", 0, r);
        PortLease mine = allocator.allocate(PortRequest.builder("mine", t).preferredPort(25200).required(true).build());
        HostClaim elsewhere = observer.tryClaim(25201); // as another process using ports would
        cleanup.add(elsewhere);
        listenOn(25202);                             // a program that has nothing to do with ports
        PortExhaustedException e = assertThrows(PortExhaustedException.class, () -> allocator.allocate("more", t));
        assertEquals(r, e.range());
        assertEquals(1, e.reservedHere());
        assertEquals(1, e.reservedElsewhere());
        assertEquals(1, e.boundByOthers());
        assertEquals("no free port for service 'more' in range 25200-25202 (3 ports) after 2 probes: 1 reserved by this process, "
                + "1 reserved by other ports processes on this host, 1 bound by other programs, 0 excluded or never-allocate. "
                + "Widen the range, release leases you no longer need, or find the holders with 'ports scan 25200-25202'", e.getMessage());
        assertEquals(List.of(mine.port()), allocator.report().entries().stream().map(AllocationReport.Entry::port).toList());
    }

    @Test
    void allocateAll_isAllOrNothing() throws IOException {
        PortRange r = PortRange.of(25300, 25399);
        int taken = freePortIn(r);
        listenOn(taken);
        List<PortRequest> batch = List.of(
                PortRequest.of("a", type("t", 0, r)),
                PortRequest.of("b", type("t", 0, r)),
                PortRequest.builder("c", type("t", 0, r)).preferredPort(taken).required(true).build());
        assertThrows(PortUnavailableException.class, () -> allocator.allocateAll(batch));
        assertTrue(allocator.report().entries().isEmpty());
        for (int p : r) {
            assertFalse(allocator.isReservedHere(p));
            if (p != taken) {
                assertFalse(observer.isClaimed(p), "port " + p + " left claimed");
            }
        }
        List<PortLease> ok = allocator.allocateAll(batch.subList(0, 2));
        assertEquals(2, ok.size());
        assertNotEquals(ok.get(0).port(), ok.get(1).port());
    }

    @Test
    void badRequests_areRejectedBeforeAnythingIsHeld() {
        assertThrows(IllegalArgumentException.class, () -> PortRequest.of("", ServiceType.CUSTOM));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> PortRequest.of("bad name", ServiceType.CUSTOM));
        assertTrue(e.getMessage().contains("'bad name'"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> PortRequest.builder("x", ServiceType.CUSTOM).preferredPort(70000).build());
        assertThrows(IllegalArgumentException.class, () -> PortRequest.builder("x", ServiceType.CUSTOM).environmentVariable("1X").build());
        assertThrows(IllegalArgumentException.class, () -> PortRequest.builder("x", ServiceType.CUSTOM).exclude(0).build());
        assertThrows(IllegalArgumentException.class, () -> allocator.allocate("x", "no-such-type"));
        assertTrue(allocator.report().entries().isEmpty());
    }

    @Test
    void heldLease_letsTheServiceServerBindButKeepsOthersOff() throws IOException {
        PortLease l = allocator.allocate("db", type("t", 0, PortRange.of(25400, 25499)));
        assertTrue(l.isHeld());
        try (ServerSocket stranger = new ServerSocket()) {
            stranger.setReuseAddress(false);
            assertThrows(BindException.class, () -> stranger.bind(new InetSocketAddress(l.port())));
        }
        try (ServerSocket server = new ServerSocket()) {
            server.setReuseAddress(true); // what Java servers do
            server.bind(new InetSocketAddress(l.port()));
            l.releaseHold();
            assertFalse(l.isHeld());
            assertTrue(allocator.isReservedHere(l.port()), "releasing the hold keeps the reservation");
        }
    }

    @Test
    void sharedHold_doesNotStopAStrangerThatSetsReuseAddress() throws IOException {
        // documented limit of HoldMode.SHARED: what EXCLUSIVE is for
        PortLease l = allocator.allocate("db", type("t", 0, PortRange.of(25410, 25499)));
        try (ServerSocket stranger = new ServerSocket()) {
            stranger.setReuseAddress(true);
            stranger.bind(new InetSocketAddress(l.port()));
        }
    }

    @Test
    void exclusiveHold_refusesReuseAddressStrangers_andAdmitsAReusePortServer() throws IOException {
        PortLease l = allocator.allocate(PortRequest.builder("db", type("t", 0, PortRange.of(25420, 25499)))
                .holdMode(HoldMode.EXCLUSIVE).build());
        assertEquals(HoldMode.EXCLUSIVE, l.holdMode());
        for (boolean reuseAddress : new boolean[] {false, true}) {
            try (ServerSocket stranger = new ServerSocket()) {
                stranger.setReuseAddress(reuseAddress);
                assertThrows(BindException.class, () -> stranger.bind(new InetSocketAddress(l.port())),
                        "a stranger with SO_REUSEADDR=" + reuseAddress + " must not bind an exclusively held port");
            }
        }
        try (ServerSocket server = new ServerSocket()) {
            server.setOption(java.net.StandardSocketOptions.SO_REUSEPORT, true);
            server.bind(new InetSocketAddress(l.port()));
            l.releaseHold();
            assertEquals(null, l.holdMode());
        }
    }

    @Test
    void udpService_portWithAForeignUdpSocket_isSkipped() throws IOException {
        PortRange r = PortRange.of(25500, 25599);
        int p = freePortIn(r);
        DatagramSocket d = new DatagramSocket(new InetSocketAddress(InetAddress.getByName("127.0.0.1"), p));
        cleanup.add(d);
        ServiceType udp = type("gossip", p, r).withProtocols(EnumSet.of(Protocol.UDP));
        assertNotEquals(p, allocator.allocate("gossip", udp).port());
        assertEquals(p, allocator.allocate("tcp-only", type("t", p, r)).port(), "a TCP service does not care about UDP");
    }

    @Test
    void report_listsLiveLeasesWithOutcomeAndTotals() throws IOException {
        PortRange r = PortRange.of(25600, 25699);
        int a = freePortIn(r);
        PortLease first = allocator.allocate("alpha", type("A", a, r));
        listenOn(a + 1);
        PortLease second = allocator.allocate("beta", type("B", a + 1, r));
        AllocationReport rep = allocator.report();
        assertEquals(2, rep.entries().size());
        assertEquals(1, rep.preferredCount());
        assertEquals(1, rep.fallbackCount());
        String text = rep.format();
        assertTrue(text.contains("alpha") && text.contains("PREFERRED") && text.contains("beta") && text.contains("FALLBACK"), text);
        assertTrue(text.endsWith("2 services: 1 preferred, 1 fallback, " + (first.attempts() + second.attempts()) + " attempts"), text);
        second.close();
        assertEquals(1, allocator.report().entries().size());
    }

    @Test
    void close_releasesEveryLeaseAndRefusesNewWork() {
        PortLease l = allocator.allocate("x", type("t", 0, PortRange.of(25700, 25799)));
        allocator.close();
        assertTrue(l.isReleased());
        assertFalse(observer.isClaimed(l.port()));
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> allocator.allocate("y", ServiceType.CUSTOM));
        assertTrue(e.getMessage().contains("closed"));
    }

    @Test
    void manyThreads_allocatingAtOnce_getDistinctPorts() throws Exception {
        PortRange r = PortRange.of(26000, 26999);
        ServiceType t = type("t", 0, r);
        int threads = 8;
        int each = 40;
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        try {
            CountDownLatch go = new CountDownLatch(1);
            List<Future<List<Integer>>> fs = new ArrayList<>();
            for (int i = 0; i < threads; i++) {
                int id = i;
                fs.add(pool.submit(() -> {
                    go.await();
                    List<Integer> mine = new ArrayList<>();
                    for (int k = 0; k < each; k++) {
                        AllocationStrategy s = AllocationStrategy.values()[(id + k) % 3];
                        mine.add(allocator.allocate(PortRequest.builder("s" + id + "-" + k, t).strategy(s).build()).port());
                    }
                    return mine;
                }));
            }
            go.countDown();
            Set<Integer> all = new HashSet<>();
            for (Future<List<Integer>> f : fs) {
                for (int p : f.get(120, TimeUnit.SECONDS)) {
                    assertTrue(all.add(p), "port " + p + " given twice");
                }
            }
            assertEquals(threads * each, all.size());
            assertEquals(threads * each, allocator.report().entries().size());
        } finally {
            pool.shutdownNow();
        }
    }
}
