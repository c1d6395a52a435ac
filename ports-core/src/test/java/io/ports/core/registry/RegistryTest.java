package io.ports.core.registry;

import io.ports.core.HostReservations;
import io.ports.core.PortAllocator;
import io.ports.core.PortRange;
import io.ports.core.PortUnavailableException;
import io.ports.core.Protocol;
import io.ports.core.ServiceCatalog;
import io.ports.core.ServiceType;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class RegistryTest {
    @TempDir
    Path tmp;

    private final AtomicLong nanos = new AtomicLong(1_000_000_000L);
    private final AtomicReference<Instant> wall = new AtomicReference<>(Instant.parse("2026-11-24T10:00:00Z"));
    private final ServiceCatalog catalog = ServiceCatalog.defaults()
            .with(ServiceType.tcp("test", 0, PortRange.of(29000, 29999), "registry tests"));
    private Registry registry;

    private Clock clock() {
        return new Clock() {
            @Override
            public ZoneOffset getZone() {
                return ZoneOffset.UTC;
            }

            @Override
            public Clock withZone(java.time.ZoneId zone) {
                return this;
            }

            @Override
            public Instant instant() {
                return wall.get();
            }
        };
    }

    private Registry.Builder builder() {
        return Registry.builder().catalog(catalog).lockDirectory(tmp.resolve("locks")).ticker(nanos::get).clock(clock())
                .defaultHeartbeatTimeout(Duration.ofSeconds(5)).host("host-a");
    }

    @BeforeEach
    void setUp() {
        registry = builder().build();
    }

    @AfterEach
    void tearDown() {
        registry.close();
    }

    private Allocation allocate(String name) {
        return registry.allocate(AllocationRequest.builder(name, "test").build());
    }

    @Test
    void allocate_recordsAReservedPortInTheTypeRange_andLookupsFindIt() {
        Allocation a = registry.allocate(AllocationRequest.builder("orders", "test").metadata(Map.of("zone", "a")).pid(0).build());
        assertEquals(AllocationStatus.RESERVED, a.status());
        assertTrue(PortRange.of(29000, 29999).contains(a.port()));
        assertEquals("host-a", a.host());
        assertEquals(wall.get(), a.allocatedAt());
        assertEquals(Map.of("zone", "a"), a.metadata());
        assertEquals(a, registry.find(a.id()).orElseThrow());
        assertEquals(List.of(a), registry.byService("orders"));
        assertEquals(a, registry.byPort(a.port(), Protocol.TCP).orElseThrow());
        assertTrue(registry.byPort(a.port(), Protocol.UDP).isEmpty());
        assertEquals(List.of(a), registry.byType("test"));
        assertEquals(1, registry.stats().reserved());
        assertEquals(Map.of("test", 1), registry.stats().perType());
    }

    @Test
    void heartbeat_makesItActive_andReleaseFreesThePort() {
        Allocation a = allocate("orders");
        wall.set(wall.get().plusSeconds(3));
        Allocation beat = registry.heartbeat(a.id());
        assertEquals(AllocationStatus.ACTIVE, beat.status());
        assertEquals(wall.get(), beat.lastHeartbeat());
        Allocation released = registry.release(a.id());
        assertEquals(AllocationStatus.RELEASED, released.status());
        assertEquals(released, registry.release(a.id()), "releasing twice changes nothing");
        assertTrue(registry.byPort(a.port(), Protocol.TCP).isEmpty());
        Allocation again = registry.allocate(AllocationRequest.builder("next", "test").preferredPort(a.port()).required(true).build());
        assertEquals(a.port(), again.port(), "a released port can be allocated again");
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> registry.heartbeat(a.id()));
        assertTrue(e.getMessage().contains("RELEASED") && e.getMessage().contains("Allocate again"), e.getMessage());
        assertEquals(List.of(again), registry.live(), "live(): the released record is kept but not live");
        assertEquals(2, registry.directory().size(), "directory(): live and recently ended");
    }

    @Test
    void expiry_followsTheMonotonicClock_notTheWallClock() {
        Allocation a = allocate("orders");
        registry.heartbeat(a.id());
        wall.set(wall.get().plus(Duration.ofDays(3))); // the wall clock jumps forward: nothing expires
        assertTrue(registry.cleanup().isEmpty());
        nanos.addAndGet(TimeUnit.SECONDS.toNanos(4));
        assertTrue(registry.cleanup().isEmpty());
        registry.heartbeat(a.id());
        wall.set(wall.get().minus(Duration.ofDays(30))); // and backward: a dead holder does not come back
        nanos.addAndGet(TimeUnit.SECONDS.toNanos(6));
        List<Allocation> expired = registry.cleanup();
        assertEquals(List.of(a.id()), expired.stream().map(Allocation::id).toList());
        assertEquals(AllocationStatus.EXPIRED, registry.find(a.id()).orElseThrow().status());
        assertTrue(registry.byPort(a.port(), Protocol.TCP).isEmpty(), "an expired record frees its port");
        assertEquals(1, registry.statistics().expiries());
    }

    @Test
    void heartbeatTimeout_perTypeAndPerRecord() {
        registry.close();
        registry = builder().heartbeatTimeout("test", Duration.ofSeconds(60)).build();
        Allocation byType = allocate("long");
        Allocation byRecord = registry.allocate(AllocationRequest.builder("short", "test").heartbeatTimeout(Duration.ofSeconds(1)).build());
        assertEquals(60_000, byType.heartbeatTimeoutMillis());
        nanos.addAndGet(TimeUnit.SECONDS.toNanos(2));
        assertEquals(List.of(byRecord.id()), registry.cleanup().stream().map(Allocation::id).toList());
    }

    @Test
    void holderProcessKilled_isExpiredAtTheNextCleanup() throws Exception {
        Process p = new ProcessBuilder("sleep", "60").start();
        try {
            Allocation a = registry.allocate(AllocationRequest.builder("worker", "test").pid(p.pid()).build());
            assertTrue(registry.cleanup().isEmpty());
            p.destroyForcibly(); // SIGKILL
            assertTrue(p.waitFor(10, TimeUnit.SECONDS));
            List<Allocation> expired = registry.cleanup();
            assertEquals(List.of(a.id()), expired.stream().map(Allocation::id).toList());
        } finally {
            p.destroyForcibly();
        }
    }

    @Test
    void register_recordsALeaseTheCallerHolds_andLeavesItToTheCaller() {
        registry.close();
        try (PortAllocator allocator = PortAllocator.builder().catalog(catalog).lockDirectory(tmp.resolve("locks")).build()) {
            registry = builder().allocator(allocator).build();
            io.ports.core.PortLease lease = allocator.allocate("node-db", "test");
            Allocation a = registry.register(lease, Protocol.TCP, 4242, Map.of("role", "primary"), true);
            assertEquals(AllocationStatus.ACTIVE, a.status());
            assertEquals(lease.port(), a.port());
            assertEquals(a, registry.byPort(lease.port(), Protocol.TCP).orElseThrow());
            assertThrows(PortConflictException.class, () -> registry.register(lease, Protocol.TCP, 1, Map.of(), true));
            registry.release(a.id());
            assertFalse(lease.isReleased(), "the lease stays the caller's");
            lease.close();
            assertThrows(IllegalStateException.class, () -> registry.register(lease, Protocol.TCP, 1, Map.of(), true));
        }
        registry.close();
        registry = builder().build();
    }

    @Test
    void expire_endsALiveRecordForAGivenReason() {
        Allocation a = allocate("crashed");
        Allocation e = registry.expire(a.id(), "holder crashed and the port is free");
        assertEquals(AllocationStatus.EXPIRED, e.status());
        assertEquals(e, registry.expire(a.id(), "again"));
        assertEquals(1, registry.statistics().expiries());
        assertEquals(0, registry.statistics().releases());
        assertEquals("host-a", registry.host());
    }

    @Test
    void retention_purgesEndedRecords() {
        registry.close();
        registry = builder().retention(Duration.ofSeconds(10)).build();
        Allocation a = allocate("gone");
        registry.release(a.id());
        nanos.addAndGet(TimeUnit.SECONDS.toNanos(5));
        registry.cleanup();
        assertTrue(registry.find(a.id()).isPresent());
        nanos.addAndGet(TimeUnit.SECONDS.toNanos(6));
        registry.cleanup();
        assertTrue(registry.find(a.id()).isEmpty());
        assertThrows(NoSuchAllocationException.class, () -> registry.heartbeat(a.id()));
        assertTrue(registry.byService("gone").isEmpty());
    }

    @Test
    void endedRecords_areBoundedByCount_oldestEndedFirst_inTheStoreToo() {
        registry.close();
        Path data = tmp.resolve("bounded");
        List<String> ids = new ArrayList<>();
        try (Registry r = builder().store(FileRegistryStore.open(data)).maxEndedRecords(64).build()) {
            Allocation live = allocate2on(r, "keeps");
            for (int i = 0; i < 1000; i++) {
                Allocation a = allocate2on(r, "churn");
                ids.add(a.id());
                r.release(a.id());
                // a batch of 64 / 32 = 2 may wait for the next end: never more than that over the bound
                assertTrue(r.stats().released() <= 64 + 2, "after " + (i + 1) + " releases: " + r.stats());
            }
            assertTrue(r.stats().released() >= 64, r.stats().toString());
            assertEquals(AllocationStatus.RESERVED, r.find(live.id()).orElseThrow().status(), "a live record is never purged by the bound");
            for (String id : ids.subList(ids.size() - 64, ids.size())) {
                assertTrue(r.find(id).isPresent(), "the 64 newest ended records are kept");
            }
            for (String id : ids.subList(0, 900)) {
                assertTrue(r.find(id).isEmpty(), "an old ended record is purged: " + id);
            }
            assertEquals(r.stats().released(), r.byService("churn").size(), "the per-service index forgets purged records too");
            for (int i = 0; i < 200; i++) {
                r.release(allocate2on(r, "unique-" + i).id());
            }
            assertTrue(r.indexedServices() <= 2 + 66, "a service whose records are all purged leaves the index: " + r.indexedServices());
            assertTrue(r.byService("unique-0").isEmpty());
        }
        try (Registry r = builder().store(FileRegistryStore.open(data)).maxEndedRecords(64).build()) {
            Registry.Stats s = r.stats();
            assertEquals(1, s.reserved());
            assertTrue(s.released() >= 64 && s.released() <= 66, "the store holds the kept records only, after a restart: " + s);
        }
        registry = builder().build();
    }

    @Test
    void endedRecords_overTheBoundAtLoad_arePurgedByCleanup_andZeroKeepsNone() {
        registry.close();
        Path data = tmp.resolve("reopened");
        try (Registry r = builder().store(FileRegistryStore.open(data)).maxEndedRecords(500).build()) {
            for (int i = 0; i < 200; i++) {
                r.release(allocate2on(r, "churn").id());
            }
            assertEquals(200, r.stats().released());
        }
        try (Registry r = builder().store(FileRegistryStore.open(data)).maxEndedRecords(50).build()) {
            assertEquals(200, r.stats().released(), "loading purges nothing: it writes nothing");
            r.cleanup();
            assertEquals(50, r.stats().released(), "cleanup purges what is over the bound");
        }
        try (Registry r = builder().store(FileRegistryStore.open(data)).maxEndedRecords(0).build()) {
            assertEquals(50, r.stats().released());
            Allocation a = allocate2on(r, "next");
            Allocation released = r.release(a.id());
            assertEquals(AllocationStatus.RELEASED, released.status(), "the caller still gets the ended record");
            r.release(allocate2on(r, "after").id());
            assertTrue(r.find(a.id()).isEmpty(), "with a bound of 0 an ended record goes at the next end");
            r.cleanup();
            assertEquals(0, r.stats().total());
        }
        registry = builder().build();
    }

    @Test
    void endedRecords_whoseRemovalCannotBeWritten_stayAndGoLater() {
        registry.close();
        FlakyStore store = new FlakyStore();
        try (Registry r = builder().store(store).maxEndedRecords(32).build()) {
            List<String> ids = new ArrayList<>();
            for (int i = 0; i < 33; i++) {
                Allocation a = allocate2on(r, "churn");
                ids.add(a.id());
                r.release(a.id());
            }
            Allocation next = allocate2on(r, "failing");
            store.failNext = true;
            RegistryStoreException e = assertThrows(RegistryStoreException.class, () -> r.release(next.id()));
            assertTrue(e.getMessage().contains("disk full"), e.getMessage());
            assertEquals(AllocationStatus.RESERVED, r.find(next.id()).orElseThrow().status(), "a failed release changes nothing");
            assertEquals(33, r.stats().released(), "nor does it lose the records it would have purged");
            r.release(next.id());
            assertTrue(r.find(ids.get(0)).isEmpty(), "the oldest goes with the next end that is written");
            assertTrue(r.find(next.id()).isPresent());
            assertEquals(Set.copyOf(store.load().stream().map(Allocation::id).toList()), Set.copyOf(r.directory().stream().map(Allocation::id).toList()),
                    "the store and the registry hold the same records");
        }
        registry = builder().build();
    }

    /** In memory; its next write fails when told to. */
    private static final class FlakyStore implements RegistryStore {
        final InMemoryStore records = new InMemoryStore();
        volatile boolean failNext;

        @Override
        public java.util.Collection<Allocation> load() {
            return records.load();
        }

        @Override
        public synchronized void write(List<Change> changes) {
            if (failNext) {
                failNext = false;
                throw new RegistryStoreException("the flaky store failed to write: disk full");
            }
            records.write(changes);
        }

        @Override
        public String describe() {
            return "flaky store";
        }

        @Override
        public void close() {
        }
    }

    @Test
    void maxEndedRecords_negative_isRefusedWithTheValidRange() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> builder().maxEndedRecords(-1));
        assertTrue(e.getMessage().contains("-1") && e.getMessage().contains("0"), e.getMessage());
    }

    @Test
    void badRequests_changeNothing() {
        Allocation a = allocate("first");
        Registry.Stats before = registry.stats();
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> allocate2("x", "no-such-type"));
        assertTrue(e.getMessage().contains("'no-such-type'"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> AllocationRequest.builder("bad name", "test").build());
        assertThrows(IllegalArgumentException.class, () -> AllocationRequest.builder("x", "test").preferredPort(70000).build());
        assertThrows(PortUnavailableException.class,
                () -> registry.allocate(AllocationRequest.builder("x", "test").preferredPort(a.port()).required(true).build()));
        assertThrows(NoSuchAllocationException.class, () -> registry.release("nope"));
        assertEquals(before, registry.stats());
        assertEquals(Map.of("unavailable", 1L, "invalid", 1L), registry.statistics().failuresByReason());
    }

    private Allocation allocate2(String name, String type) {
        return registry.allocate(AllocationRequest.builder(name, type).build());
    }

    @Test
    void manyThreads_allocateHeartbeatRelease_noPortIsEverLiveTwice() throws Exception {
        Set<Integer> liveNow = ConcurrentHashMap.newKeySet();
        List<String> violations = java.util.Collections.synchronizedList(new ArrayList<>());
        ExecutorService pool = Executors.newFixedThreadPool(8);
        try {
            List<Future<?>> fs = new ArrayList<>();
            for (int t = 0; t < 8; t++) {
                int id = t;
                fs.add(pool.submit(() -> {
                    List<Allocation> mine = new ArrayList<>();
                    for (int i = 0; i < 60; i++) {
                        Allocation a = allocate("s" + id + "-" + i);
                        if (!liveNow.add(a.port())) {
                            violations.add("port " + a.port() + " given while live");
                        }
                        mine.add(a);
                        registry.heartbeat(a.id());
                        if (ThreadLocalRandom.current().nextBoolean()) {
                            Allocation r = mine.remove(ThreadLocalRandom.current().nextInt(mine.size()));
                            liveNow.remove(r.port());
                            registry.release(r.id());
                        }
                    }
                    return null;
                }));
            }
            for (Future<?> f : fs) {
                f.get(120, TimeUnit.SECONDS);
            }
        } finally {
            pool.shutdownNow();
        }
        assertEquals(List.of(), violations);
        Registry.Stats s = registry.stats();
        assertEquals(liveNow.size(), s.active() + s.reserved());
    }

    @Test
    void fileStore_recordsSurviveARestart_andTheirPortsAreClaimedAgain() {
        registry.close();
        Path data = tmp.resolve("data");
        Allocation a;
        try (Registry r = builder().store(FileRegistryStore.open(data)).build()) {
            a = allocate2on(r, "persisted");
            r.heartbeat(a.id());
        }
        try (Registry r = builder().store(FileRegistryStore.open(data)).build();
             HostReservations observer = HostReservations.open(tmp.resolve("locks"))) {
            Allocation back = r.find(a.id()).orElseThrow();
            assertEquals(AllocationStatus.ACTIVE, back.status());
            assertEquals(a.port(), back.port());
            assertTrue(observer.isClaimed(a.port()), "the reopened registry claims the port of its live record again");
        }
        registry = builder().build();
    }

    private static Allocation allocate2on(Registry r, String name) {
        return r.allocate(AllocationRequest.builder(name, "test").build());
    }

    @Test
    void exportImport_roundTrip_withDocumentedFieldNames() {
        Allocation live = allocate("live");
        registry.heartbeat(live.id());
        Allocation gone = allocate("gone");
        registry.release(gone.id());
        String json = registry.exportJson();
        for (String field : new String[] {"\"format\" : \"ports-registry\"", "\"allocation_id\"", "\"service_name\"", "\"service_type\"",
            "\"process_id\"", "\"allocated_at\" : \"2026-11-24T10:00:00Z\"", "\"last_heartbeat\"", "\"status\" : \"ACTIVE\""}) {
            assertTrue(json.contains(field), field + " missing in\n" + json);
        }
        registry.close(); // gives the host-wide claims back
        registry = builder().build();
        assertEquals(2, registry.importJson(json));
        assertEquals(AllocationStatus.ACTIVE, registry.find(live.id()).orElseThrow().status());
        assertEquals(live.port(), registry.byPort(live.port(), Protocol.TCP).orElseThrow().port());
        assertEquals(AllocationStatus.RELEASED, registry.find(gone.id()).orElseThrow().status());
        assertEquals(json.replaceAll("\"exported_at\" : \"[^\"]+\"", ""), registry.exportJson().replaceAll("\"exported_at\" : \"[^\"]+\"", ""));
    }

    @Test
    void import_conflictsAndGarbage_changeNothing() {
        Allocation a = allocate("holder");
        String json = registry.exportJson();
        String other = json.replace(a.id(), "another-id");
        PortConflictException e = assertThrows(PortConflictException.class, () -> registry.importJson(other));
        assertTrue(e.getMessage().contains("another-id") && e.getMessage().contains("nothing was imported"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> registry.importJson(json), "the same ids again");
        assertThrows(IllegalArgumentException.class, () -> registry.importJson("{\"format\":\"something-else\"}"));
        assertThrows(IllegalArgumentException.class, () -> registry.importJson("not json"));
        assertThrows(IllegalArgumentException.class, () -> registry.importJson(json.replace("\"port\" : " + a.port(), "\"port\" : 70000")));
        assertEquals(1, registry.directory().size());
    }

    @Test
    void overviewAndRanges() {
        Allocation a = allocate("orders");
        Allocation b = allocate("billing");
        Registry.Overview o = registry.overview();
        assertEquals(Map.of(a.port(), "orders", b.port(), "billing"), o.portToService());
        assertEquals(Set.of("orders", "billing"), Set.copyOf(o.typeToServices().get("test")));
        Registry.RangeUsage usage = registry.ranges().stream().filter(r -> r.serviceType().equals("test")).findFirst().orElseThrow();
        assertEquals(1000, usage.size());
        assertEquals(2, usage.used());
        assertEquals(0.002, usage.utilization(), 1e-9);
        registry.close();
        registry = Registry.builder().lockDirectory(tmp.resolve("locks")).ticker(nanos::get).clock(clock()).build(); // default catalog
        registry.allocate(AllocationRequest.builder("db", "DATABASE").build());
        registry.allocate(AllocationRequest.builder("raft", "CLUSTER").build());
        for (Registry.RangeUsage r : registry.ranges()) {
            if (r.range().equals("5400-5499")) { // shared by DATABASE, CLUSTER, REPLICATION and database
                assertEquals(2, r.used(), r.serviceType() + ": each record counts once per range");
            }
        }
        assertEquals(7, Registry.WELL_KNOWN_PORTS.size());
        assertEquals("HTTPS", Registry.WELL_KNOWN_PORTS.get(443));
    }

    @Test
    void sharedAllocator_registryAndDirectUsersNeverCollide() {
        try (PortAllocator direct = PortAllocator.builder().catalog(catalog).lockDirectory(tmp.resolve("locks")).build()) {
            Set<Integer> seen = new java.util.HashSet<>();
            for (int i = 0; i < 20; i++) {
                assertTrue(seen.add(allocate("r" + i).port()));
                assertTrue(seen.add(direct.allocate("d" + i, "test").port()));
            }
            assertFalse(seen.isEmpty());
        }
    }
}
