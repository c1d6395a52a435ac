package io.ports.etcd;

import io.ports.core.PortRange;
import io.ports.core.Protocol;
import io.ports.core.ServiceCatalog;
import io.ports.core.ServiceType;
import io.ports.core.registry.Allocation;
import io.ports.core.registry.AllocationRequest;
import io.ports.core.registry.AllocationStatus;
import io.ports.core.registry.PortConflictException;
import io.ports.core.registry.Registry;
import io.ports.core.registry.RegistryStore;
import io.ports.core.registry.RegistryStoreException;
import io.ports.etcd.testsupport.EtcdCluster;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The etcd store against one real etcd member: transactions, leases, watches, as two registries (daemons) use it. */
class EtcdRegistryStoreTest {
    static final String HOST = "db-host-1";
    private static EtcdCluster etcd;

    @TempDir
    Path tmp;

    final ServiceCatalog catalog = ServiceCatalog.defaults().with(ServiceType.tcp("etcdtest", 0, PortRange.of(36100, 36299), "etcd store tests"));
    final String prefix = "/t-" + UUID.randomUUID() + "/";

    @BeforeAll
    static void startEtcd() throws Exception {
        etcd = EtcdCluster.start(1);
    }

    @AfterAll
    static void stopEtcd() {
        if (etcd != null) {
            etcd.close();
        }
    }

    EtcdStoreConfig config() {
        return EtcdStoreConfig.parse(etcd.uri() + prefix);
    }

    Registry registry(EtcdRegistryStore store, String lockDir) {
        return Registry.builder().store(store).catalog(catalog).lockDirectory(tmp.resolve(lockDir)).host(HOST)
                .defaultHeartbeatTimeout(Duration.ofSeconds(30)).build();
    }

    static AllocationRequest request(String service) {
        return AllocationRequest.builder(service, "etcdtest").build();
    }

    static void await(String what, long millis, BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(millis);
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("not within " + millis + " ms: " + what);
            }
            Thread.sleep(20);
        }
    }

    String etcdGet(String key) throws Exception {
        EtcdCluster.Result r = etcd.etcdctl("get", key, "--print-value-only");
        assertEquals(0, r.exit(), r.output());
        return r.output().strip();
    }

    int etcdCount(String keyPrefix) throws Exception {
        EtcdCluster.Result r = etcd.etcdctl("get", keyPrefix, "--prefix", "--keys-only");
        assertEquals(0, r.exit(), r.output());
        return (int) r.output().lines().filter(l -> !l.isBlank()).count();
    }

    @Test
    void allocate_writesRecordAndClaim_releaseDropsClaim() throws Exception {
        try (EtcdRegistryStore store = EtcdRegistryStore.open(config()); Registry reg = registry(store, "a")) {
            Allocation a = reg.allocate(request("orders"));
            String claim = prefix + "claims/" + HOST + "/TCP/" + a.port();
            assertEquals(a.id(), etcdGet(claim));
            String record = etcdGet(prefix + "records/" + a.id());
            assertTrue(record.contains("\"allocation_id\":\"" + a.id() + "\"") && record.contains("\"status\":\"RESERVED\""), record);

            Allocation beat = reg.heartbeat(a.id());
            assertEquals(AllocationStatus.ACTIVE, beat.status());
            assertTrue(etcdGet(prefix + "records/" + a.id()).contains("\"status\":\"ACTIVE\""));

            reg.release(a.id());
            assertTrue(etcdGet(prefix + "records/" + a.id()).contains("\"status\":\"RELEASED\""));
            await("the claim of a released record goes with its lease", 5_000, () -> {
                try {
                    return etcdGet(claim).isEmpty();
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            });
            assertFalse(store.isStale());
        }
    }

    @Test
    void reopenedStore_loadsRecords_andHeartbeatsKeepTheirLeases() throws Exception {
        Allocation a;
        try (EtcdRegistryStore store = EtcdRegistryStore.open(config()); Registry reg = registry(store, "a")) {
            a = reg.allocate(request("orders"));
            reg.heartbeat(a.id());
        }
        try (EtcdRegistryStore store = EtcdRegistryStore.open(config()); Registry reg = registry(store, "a")) {
            Allocation back = reg.find(a.id()).orElseThrow();
            assertEquals(AllocationStatus.ACTIVE, back.status());
            assertEquals(a.port(), back.port());
            assertEquals(a.port(), reg.byPort(a.port(), Protocol.TCP).orElseThrow().port());
            assertEquals(AllocationStatus.ACTIVE, reg.heartbeat(a.id()).status()); // the same lease, found again
        }
    }

    @Test
    void twoStores_racingForOneHostPort_exactlyOneTransactionWins() throws Exception {
        try (EtcdRegistryStore s1 = EtcdRegistryStore.open(config()); EtcdRegistryStore s2 = EtcdRegistryStore.open(config())) {
            ExecutorService pool = Executors.newFixedThreadPool(2);
            try {
                for (int round = 0; round < 20; round++) {
                    int port = 36300 + round;
                    Allocation r1 = record("one-" + round, port);
                    Allocation r2 = record("two-" + round, port);
                    CountDownLatch go = new CountDownLatch(1);
                    Future<Throwable> f1 = pool.submit(() -> attempt(go, s1, r1));
                    Future<Throwable> f2 = pool.submit(() -> attempt(go, s2, r2));
                    go.countDown();
                    Throwable e1 = f1.get(10, TimeUnit.SECONDS);
                    Throwable e2 = f2.get(10, TimeUnit.SECONDS);
                    assertTrue(e1 == null ^ e2 == null, "round " + round + ": exactly one must win, got " + e1 + " and " + e2);
                    Throwable lost = e1 != null ? e1 : e2;
                    Allocation winner = e1 == null ? r1 : r2;
                    assertTrue(lost instanceof PortConflictException, String.valueOf(lost));
                    assertTrue(lost.getMessage().contains("port " + port + " of host " + HOST) && lost.getMessage().contains(winner.id()),
                            lost.getMessage());
                    assertEquals(winner.id(), etcdGet(prefix + "claims/" + HOST + "/TCP/" + port));
                }
                assertEquals(20, s1.conflicts() + s2.conflicts());
                assertEquals(20, etcdCount(prefix + "records/"), "the losers wrote nothing");
            } finally {
                pool.shutdownNow();
            }
        }
    }

    private static Throwable attempt(CountDownLatch go, RegistryStore store, Allocation a) throws InterruptedException {
        go.await();
        try {
            store.write(List.of(RegistryStore.Change.put(a)));
            return null;
        } catch (RuntimeException e) {
            return e;
        }
    }

    static Allocation record(String service, int port) {
        Instant now = Instant.now();
        return new Allocation(UUID.randomUUID().toString(), service, "etcdtest", port, Protocol.TCP, HOST, 0, Map.of(), now, now,
                AllocationStatus.RESERVED, 30_000);
    }

    @Test
    void twoRegistries_concurrentLoadFromBoth_neverDoubleAllocate_andSeeEachOther() throws Exception {
        try (EtcdRegistryStore s1 = EtcdRegistryStore.open(config()); EtcdRegistryStore s2 = EtcdRegistryStore.open(config());
             Registry r1 = registry(s1, "locks-1"); Registry r2 = registry(s2, "locks-2")) {
            // separate lock directories: as on two hosts, only etcd stands between them
            ConcurrentLinkedQueue<Allocation> acknowledged = new ConcurrentLinkedQueue<>();
            ConcurrentLinkedQueue<Throwable> failures = new ConcurrentLinkedQueue<>();
            ExecutorService pool = Executors.newFixedThreadPool(4);
            CountDownLatch go = new CountDownLatch(1);
            List<Future<?>> jobs = new ArrayList<>();
            for (int t = 0; t < 4; t++) {
                Registry reg = t % 2 == 0 ? r1 : r2;
                String name = "svc-" + t;
                jobs.add(pool.submit(() -> {
                    go.await();
                    for (int i = 0; i < 25; i++) {
                        try {
                            Allocation a = reg.allocate(request(name + "-" + i));
                            acknowledged.add(a);
                            reg.heartbeat(a.id()); // drops the holding socket: the other registry's allocator finds the port free
                        } catch (RuntimeException e) {
                            failures.add(e);
                        }
                    }
                    return null;
                }));
            }
            go.countDown();
            for (Future<?> f : jobs) {
                f.get(60, TimeUnit.SECONDS);
            }
            pool.shutdownNow();
            assertTrue(failures.isEmpty(), "allocations failed: " + failures);
            assertEquals(100, acknowledged.size());
            Set<Integer> ports = new HashSet<>();
            for (Allocation a : acknowledged) {
                assertTrue(ports.add(a.port()), "port " + a.port() + " handed out twice");
            }
            assertEquals(100, etcdCount(prefix + "claims/"));
            // each registry sees every record of both, through its watch
            await("both registries see all 100 live records", 10_000, () -> live(r1) == 100 && live(r2) == 100);
            for (Allocation a : acknowledged) {
                assertEquals(a.id(), r1.byPort(a.port(), Protocol.TCP).orElseThrow().id());
                assertEquals(a.id(), r2.byPort(a.port(), Protocol.TCP).orElseThrow().id());
            }
            System.out.println("conflicts resolved by etcd transactions: " + (s1.conflicts() + s2.conflicts()));
        }
    }

    static long live(Registry r) {
        return r.directory().stream().filter(a -> a.status().isLive()).count();
    }

    @Test
    void watch_carriesReleaseToTheOtherRegistry_whichCanThenTakeThePort() throws Exception {
        try (EtcdRegistryStore s1 = EtcdRegistryStore.open(config()); EtcdRegistryStore s2 = EtcdRegistryStore.open(config());
             Registry r1 = registry(s1, "locks-1"); Registry r2 = registry(s2, "locks-2")) {
            Allocation a = r1.allocate(AllocationRequest.builder("orders", "etcdtest").preferredPort(36250).required(true).build());
            r1.heartbeat(a.id());
            await("r2 sees r1's record", 5_000, () -> r2.find(a.id()).map(x -> x.status() == AllocationStatus.ACTIVE).orElse(false));
            PortConflictException taken = assertThrows(PortConflictException.class,
                    () -> r2.allocate(AllocationRequest.builder("other", "etcdtest").preferredPort(36250).required(true).build()));
            assertTrue(taken.getMessage().contains(a.id()), taken.getMessage());

            r1.release(a.id());
            await("r2 sees the release", 5_000, () -> r2.find(a.id()).map(x -> x.status() == AllocationStatus.RELEASED).orElse(false));
            Allocation b = retry(() -> r2.allocate(AllocationRequest.builder("other", "etcdtest").preferredPort(36250).required(true).build()));
            assertEquals(36250, b.port());
            await("r1 sees r2's record", 5_000, () -> r1.byPort(36250, Protocol.TCP).map(x -> x.id().equals(b.id())).orElse(false));
        }
    }

    /** The released claim goes with its lease's revocation, a moment after the release is acknowledged. */
    private static Allocation retry(java.util.function.Supplier<Allocation> op) throws InterruptedException {
        for (int i = 0; ; i++) {
            try {
                return op.get();
            } catch (PortConflictException e) {
                if (i >= 50) {
                    throw e;
                }
                Thread.sleep(20);
            }
        }
    }

    @Test
    void recordWhoseHolderStopsHeartbeating_expiresByItsLease_everywhere() throws Exception {
        try (EtcdRegistryStore s1 = EtcdRegistryStore.open(config()); EtcdRegistryStore s2 = EtcdRegistryStore.open(config());
             Registry r1 = registry(s1, "locks-1"); Registry r2 = registry(s2, "locks-2")) {
            Allocation silent = r1.allocate(AllocationRequest.builder("silent", "etcdtest").heartbeatTimeout(Duration.ofSeconds(1)).build());
            Allocation beating = r1.allocate(AllocationRequest.builder("beating", "etcdtest").heartbeatTimeout(Duration.ofSeconds(1)).build());
            await("r2 sees both", 5_000, () -> r2.find(silent.id()).isPresent() && r2.find(beating.id()).isPresent());
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
            while (r2.find(silent.id()).map(a -> a.status().isLive()).orElse(true)) {
                assertTrue(System.nanoTime() < deadline, "the silent record did not expire within 15 s");
                r1.heartbeat(beating.id());
                Thread.sleep(200);
            }
            assertEquals(AllocationStatus.EXPIRED, r2.find(silent.id()).orElseThrow().status());
            await("r1 sees its own record expire too", 5_000, () -> r1.find(silent.id()).orElseThrow().status() == AllocationStatus.EXPIRED);
            assertEquals(AllocationStatus.ACTIVE, r1.heartbeat(beating.id()).status());
            assertTrue(r2.find(beating.id()).orElseThrow().status().isLive());
            assertEquals("", etcdGet(prefix + "claims/" + HOST + "/TCP/" + silent.port()), "the expired record's claim is gone");
            IllegalStateException late = assertThrows(IllegalStateException.class, () -> r1.heartbeat(silent.id()));
            assertTrue(late.getMessage().contains("EXPIRED") && late.getMessage().contains("Allocate again"), late.getMessage());
        }
    }

    @Test
    void heartbeatAfterTheLeaseRanOut_expiresTheRecord_andSaysSo() throws Exception {
        try (EtcdRegistryStore store = EtcdRegistryStore.open(config())) {
            Allocation a = record("orders", 36290).withHeartbeat(Instant.now(), AllocationStatus.RESERVED);
            a = new Allocation(a.id(), a.serviceName(), a.serviceType(), a.port(), a.protocol(), a.host(), 0, Map.of(), a.allocatedAt(),
                    a.lastHeartbeat(), AllocationStatus.RESERVED, 1_000);
            store.write(List.of(RegistryStore.Change.put(a)));
            assertTrue(store.heartbeat(a));
            String key = prefix + "records/" + a.id();
            await("the lease runs out", 10_000, () -> {
                try {
                    return etcdGet(key).isEmpty();
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            });
            Allocation gone = a;
            await("the store's view drops it", 5_000, () -> !store.heartbeat(gone));
        }
    }

    @Test
    void badStoreUris_areRefusedNamingTheProblem() {
        Map<String, String> cases = new HashMap<>();
        cases.put("http://127.0.0.1:2379", "not an etcd URI");
        cases.put("etcd://", "names no endpoint");
        cases.put("etcd://127.0.0.1:70000", "expected 1-65535");
        cases.put("etcd://127.0.0.1:2379,", "empty endpoint");
        cases.put("etcd://127.0.0.1:2379?colour=red", "unknown option 'colour'");
        cases.put("etcd://127.0.0.1:2379?user=ports", "has no password");
        cases.put("etcd://127.0.0.1:2379?password=x", "without a user");
        cases.put("etcd://127.0.0.1:2379?tls=maybe", "expected true or false");
        cases.put("etcd://127.0.0.1:2379?timeout=soon", "not a duration");
        cases.put("etcd://127.0.0.1:2379?ca=/nonexistent/ca.pem", "not readable");
        cases.put("etcd://127.0.0.1:2379/a b", "prefix");
        cases.put("etcd://::1:2379", "[ADDR]:PORT");
        for (var c : cases.entrySet()) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> EtcdStoreConfig.parse(c.getKey()), c.getKey());
            assertTrue(e.getMessage().contains(c.getValue()), c.getKey() + " -> " + e.getMessage());
        }
        IllegalArgumentException secret = assertThrows(IllegalArgumentException.class,
                () -> EtcdStoreConfig.parse("etcd://127.0.0.1:2379?user=u&password=hunter2&colour=red"));
        assertFalse(secret.getMessage().contains("hunter2"), secret.getMessage());

        EtcdStoreConfig ok = EtcdStoreConfig.parse("etcd://10.0.0.1,[::1]:2380,db.example:12379/prod/ports?user=u&password=p&tls=true&timeout=500ms");
        assertEquals(List.of("https://10.0.0.1:2379", "https://[::1]:2380", "https://db.example:12379"),
                ok.endpoints().stream().map(Object::toString).toList());
        assertEquals("/prod/ports/", ok.prefix());
        assertEquals(Duration.ofMillis(500), ok.requestTimeout());
        assertFalse(ok.toString().contains("=p,"), ok.toString());
    }

    @Test
    void registryStores_opensEtcdUris_throughTheProvider() {
        try (RegistryStore s = io.ports.core.registry.RegistryStores.open(etcd.uri() + prefix)) {
            assertTrue(s instanceof EtcdRegistryStore, s.getClass().getName());
            assertTrue(s.shared() && s.expiresRecords());
            assertEquals(Optional.empty(), s.staleSince());
        }
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> io.ports.core.registry.RegistryStores.open("zk://x"));
        assertTrue(e.getMessage().contains("etcd://"), e.getMessage());
    }

    @Test
    void unreachableEtcd_openFailsNamingTheEndpoints() throws Exception {
        int closed;
        try (java.net.ServerSocket s = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            closed = s.getLocalPort();
        }
        EtcdStoreConfig cfg = EtcdStoreConfig.parse("etcd://127.0.0.1:" + closed + "?connect_timeout=1s&timeout=1s");
        RegistryStoreException e = assertThrows(RegistryStoreException.class, () -> EtcdRegistryStore.open(cfg));
        assertTrue(e.getMessage().contains("http://127.0.0.1:" + closed) && e.getMessage().contains("cannot be read"), e.getMessage());
    }

    @Test
    void foreignValueUnderThePrefix_failsOpeningNamingTheKey() throws Exception {
        assertEquals(0, etcd.etcdctl("put", prefix + "records/not-a-record", "{oops").exit());
        RegistryStoreException e = assertThrows(RegistryStoreException.class, () -> EtcdRegistryStore.open(config()));
        assertTrue(e.getMessage().contains(prefix + "records/not-a-record"), e.getMessage());
    }

    @Test
    void mutualTls_withTheCaAndAClientCertificate_works_withoutTheClientCertificate_isRefusedClearly() throws Exception {
        io.ports.etcd.testsupport.TestCerts certs = io.ports.etcd.testsupport.TestCerts.create(tmp.resolve("certs"));
        try (EtcdCluster secured = EtcdCluster.start(1, new EtcdCluster.Tls(certs.ca(), certs.serverCert(), certs.serverKey(), certs.ca()))) {
            String base = secured.uri() + "?tls=true&ca=" + certs.ca();
            try (EtcdRegistryStore store = EtcdRegistryStore.open(EtcdStoreConfig.parse(base + "&cert=" + certs.clientCert() + "&key=" + certs.clientKey()));
                 Registry reg = registry(store, "tls")) {
                assertTrue(store.config().tls());
                Allocation a = reg.allocate(request("over-tls"));
                assertEquals(AllocationStatus.ACTIVE, reg.heartbeat(a.id()).status());
                assertTrue(secured.etcdctl("get", EtcdStoreConfig.DEFAULT_PREFIX + "records/" + a.id(), "--print-value-only").output()
                        .contains(a.id()));
            }
            RegistryStoreException noCert = assertThrows(RegistryStoreException.class,
                    () -> EtcdRegistryStore.open(EtcdStoreConfig.parse(base + "&connect_timeout=2s")));
            assertTrue(noCert.getMessage().contains(secured.endpoints()) && noCert.getMessage().contains("TLS"), noCert.getMessage());
        }
    }

    @Test
    void wrongPassword_isRefusedClearly_rightOneWorks() throws Exception {
        try (EtcdCluster secured = EtcdCluster.start(1)) {
            assertEquals(0, secured.etcdctl("user", "add", "root:rootpw").exit());
            assertEquals(0, secured.etcdctl("auth", "enable").exit());
            EtcdStoreConfig good = EtcdStoreConfig.parse(secured.uri() + "?user=root&password=rootpw");
            try (EtcdRegistryStore store = EtcdRegistryStore.open(good)) {
                store.write(List.of(RegistryStore.Change.put(record("secured", 36299))));
                assertEquals(1, store.load().size());
            }
            EtcdStoreConfig bad = EtcdStoreConfig.parse(secured.uri() + "?user=root&password=wrong&connect_timeout=2s");
            RegistryStoreException e = assertThrows(RegistryStoreException.class, () -> EtcdRegistryStore.open(bad));
            assertTrue(e.getMessage().contains(secured.endpoints().split(",")[0]), e.getMessage());
            assertNotEquals(-1, e.getMessage().toLowerCase(java.util.Locale.ROOT).indexOf("auth"), e.getMessage());
        }
    }
}
