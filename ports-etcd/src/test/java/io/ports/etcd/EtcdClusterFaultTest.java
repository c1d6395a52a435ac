package io.ports.etcd;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.ports.core.PortRange;
import io.ports.core.Protocol;
import io.ports.core.ServiceCatalog;
import io.ports.core.ServiceType;
import io.ports.core.registry.Allocation;
import io.ports.core.registry.AllocationRequest;
import io.ports.core.registry.AllocationStatus;
import io.ports.core.registry.Registry;
import io.ports.core.registry.RegistryStoreException;
import io.ports.etcd.testsupport.EtcdCluster;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Two registries (as two daemons) on a real three-member etcd cluster on loopback, with members killed
 * by pid under load: one member (the leader), then a majority.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class EtcdClusterFaultTest {
    static final String HOST = "db-host-1";
    private static EtcdCluster etcd;

    @TempDir
    Path tmp;

    final ServiceCatalog catalog = ServiceCatalog.defaults().with(ServiceType.tcp("faulttest", 0, PortRange.of(36400, 36799), "etcd fault tests"));
    final String prefix = "/f-" + UUID.randomUUID() + "/";

    @BeforeAll
    static void startCluster() throws Exception {
        etcd = EtcdCluster.start(3);
    }

    @AfterAll
    static void stopCluster() {
        if (etcd != null) {
            etcd.close();
        }
    }

    EtcdStoreConfig config() {
        return EtcdStoreConfig.parse(etcd.uri() + prefix + "?timeout=1s");
    }

    Registry registry(EtcdRegistryStore store, String lockDir) {
        return Registry.builder().store(store).catalog(catalog).lockDirectory(tmp.resolve(lockDir)).host(HOST)
                .defaultHeartbeatTimeout(Duration.ofSeconds(30)).build();
    }

    static void await(String what, long millis, BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(millis);
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("not within " + millis + " ms: " + what + "\n" + etcd.logs());
            }
            Thread.sleep(50);
        }
    }

    /** The index of the member that leads now. */
    static int leader() throws Exception {
        EtcdCluster.Result r = etcd.etcdctl("endpoint", "status", "-w", "json");
        assertEquals(0, r.exit(), r.output());
        JsonNode all = new ObjectMapper().readTree(r.output());
        for (JsonNode n : all) {
            JsonNode status = n.path("Status");
            if (status.path("leader").asLong() == status.path("header").path("member_id").asLong()) {
                String endpoint = n.path("Endpoint").asText();
                List<String> eps = List.of(etcd.endpoints().replace("http://", "").split(","));
                return eps.indexOf(endpoint.replace("http://", ""));
            }
        }
        throw new AssertionError("no leader in " + r.output());
    }

    @Test
    @Order(1)
    void leaderKilledUnderLoad_acknowledgedAllocationsSurvive_noneDuplicated_registriesKeepServing() throws Exception {
        try (EtcdRegistryStore s1 = EtcdRegistryStore.open(config()); EtcdRegistryStore s2 = EtcdRegistryStore.open(config());
             Registry r1 = registry(s1, "locks-1"); Registry r2 = registry(s2, "locks-2")) {
            Map<String, Allocation> live = new ConcurrentHashMap<>();
            Set<String> released = ConcurrentHashMap.newKeySet();
            Map<String, Allocation> uncertain = new ConcurrentHashMap<>(); // releases that failed
            ConcurrentLinkedQueue<RuntimeException> failures = new ConcurrentLinkedQueue<>();
            AtomicBoolean killed = new AtomicBoolean();
            AtomicInteger[] afterKill = {new AtomicInteger(), new AtomicInteger()};
            AtomicInteger done = new AtomicInteger();
            CountDownLatch go = new CountDownLatch(1);
            ExecutorService pool = Executors.newFixedThreadPool(2);
            List<Future<?>> jobs = new ArrayList<>();
            for (int t = 0; t < 2; t++) {
                Registry reg = t == 0 ? r1 : r2;
                int me = t;
                jobs.add(pool.submit(() -> {
                    go.await();
                    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
                    for (int i = 0; i < 80 && System.nanoTime() < deadline; i++) {
                        try {
                            Allocation a = reg.allocate(AllocationRequest.builder("load-" + me + "-" + i, "faulttest").build());
                            live.put(a.id(), a);
                            done.incrementAndGet();
                            if (killed.get()) {
                                afterKill[me].incrementAndGet();
                            }
                            reg.heartbeat(a.id());
                            if (i % 3 == 2) {
                                live.remove(a.id());
                                try {
                                    reg.release(a.id());
                                    released.add(a.id());
                                } catch (RegistryStoreException e) {
                                    // not acknowledged, and maybe applied all the same (a lost answer): either outcome is right
                                    uncertain.put(a.id(), a);
                                    throw e;
                                }
                            }
                        } catch (RegistryStoreException e) {
                            failures.add(e); // not acknowledged: allowed while the cluster elects a new leader
                            Thread.sleep(50);
                        }
                    }
                    return null;
                }));
            }
            go.countDown();
            await("the load gets going", 20_000, () -> done.get() >= 30);
            int leader = leader();
            long pid = etcd.pid(leader);
            etcd.kill(leader);
            killed.set(true);
            System.out.println("killed the leader, member " + leader + " (pid " + pid + ") after " + done.get() + " allocations");
            for (Future<?> f : jobs) {
                f.get(60, TimeUnit.SECONDS);
            }
            pool.shutdownNow();
            System.out.println("allocations acknowledged: " + done.get() + ", refused while electing: " + failures.size());
            for (RuntimeException e : failures) {
                assertTrue(e.getMessage().contains("etcd " + config().endpointList()), "a failure must name the endpoints: " + e.getMessage());
            }
            assertTrue(afterKill[0].get() > 0 && afterKill[1].get() > 0,
                    "both registries keep serving after the kill: " + afterKill[0] + ", " + afterKill[1]);

            // every acknowledged allocation is in etcd as acknowledged, and no host port twice
            await("the registries are current again", 10_000, () -> !s1.isStale() && !s2.isStale());
            try (EtcdRegistryStore check = EtcdRegistryStore.open(config())) {
                Map<String, Allocation> stored = new HashMap<>();
                check.load().forEach(a -> stored.put(a.id(), a));
                for (Allocation a : live.values()) {
                    Allocation s = stored.get(a.id());
                    assertTrue(s != null && s.status().isLive() && s.port() == a.port(), "acknowledged allocation " + a + " is in etcd as " + s);
                }
                for (String id : released) {
                    assertEquals(AllocationStatus.RELEASED, stored.get(id).status());
                }
                for (Allocation a : uncertain.values()) {
                    Allocation s = stored.get(a.id());
                    assertTrue(s != null && (s.status() == AllocationStatus.RELEASED || s.status().isLive() && s.port() == a.port()),
                            "allocation " + a + " whose release failed is in etcd as " + s);
                }
                System.out.println("releases that failed: " + uncertain.size());
                // both registries learn what etcd holds for those, whichever way the release went (a lost answer included)
                await("r1 and r2 agree with etcd on every record whose release failed", 10_000, () -> uncertain.values().stream()
                        .allMatch(a -> List.of(r1, r2).stream().allMatch(r -> r.find(a.id())
                                .map(x -> x.status().isLive() == stored.get(a.id()).status().isLive()).orElse(false))));
                Set<Integer> ports = new HashSet<>();
                for (Allocation s : stored.values()) {
                    if (s.status().isLive()) {
                        assertTrue(ports.add(s.port()), "port " + s.port() + " is held by two live records in etcd");
                    }
                }
                // both registries' views agree with etcd
                try {
                    await("r1 and r2 see every live record", 10_000, () -> live.values().stream()
                            .allMatch(a -> r1.byPort(a.port(), Protocol.TCP).isPresent() && r2.byPort(a.port(), Protocol.TCP).isPresent()));
                } catch (AssertionError e) {
                    StringBuilder why = new StringBuilder();
                    for (Allocation a : live.values()) {
                        for (Registry r : List.of(r1, r2)) {
                            if (r.byPort(a.port(), Protocol.TCP).isEmpty()) {
                                EtcdRegistryStore s = (EtcdRegistryStore) r.store();
                                why.append("\n").append(r == r1 ? "r1" : "r2").append(" misses ").append(a.id()).append(" port ").append(a.port())
                                        .append(": registry has ").append(r.find(a.id()).orElse(null)).append("; its store has ")
                                        .append(s.load().stream().filter(x -> x.id().equals(a.id())).findFirst().orElse(null))
                                        .append("; etcd has ").append(stored.get(a.id()));
                            }
                        }
                    }
                    throw new AssertionError(e.getMessage() + why, e);
                }
            }
        } finally {
            for (int i = 0; i < etcd.size(); i++) {
                if (!etcd.isRunning(i)) {
                    etcd.restart(i);
                }
            }
            assertTrue(etcd.awaitHealthy(20_000), "the cluster is whole again");
        }
    }

    @Test
    @Order(2)
    void majorityKilled_writesFailClearly_readsAreStale_andEverythingResumesWhenTheyReturn() throws Exception {
        try (EtcdRegistryStore s1 = EtcdRegistryStore.open(config()); EtcdRegistryStore s2 = EtcdRegistryStore.open(config());
             Registry r1 = registry(s1, "locks-1"); Registry r2 = registry(s2, "locks-2")) {
            List<Allocation> before = new ArrayList<>();
            for (int i = 0; i < 5; i++) {
                Allocation a = r1.allocate(AllocationRequest.builder("kept-" + i, "faulttest").build());
                r1.heartbeat(a.id());
                before.add(a);
            }
            await("r2 sees r1's records", 5_000, () -> before.stream().allMatch(a -> r2.find(a.id()).isPresent()));

            int survivor = leader() == 0 ? 1 : 0; // kill the leader and one more
            List<Integer> victims = new ArrayList<>();
            for (int i = 0; i < 3; i++) {
                if (i != survivor) {
                    victims.add(i);
                    etcd.kill(i);
                }
            }
            // writes fail with a clear error naming the endpoints; the stores notice and say since when
            RegistryStoreException refused = assertThrows(RegistryStoreException.class,
                    () -> r1.allocate(AllocationRequest.builder("during", "faulttest").build()));
            assertTrue(refused.getMessage().contains(config().endpointList()), refused.getMessage());
            await("both stores are stale", 15_000, () -> s1.isStale() && s2.isStale());
            RegistryStoreException fast = assertThrows(RegistryStoreException.class,
                    () -> r2.allocate(AllocationRequest.builder("during", "faulttest").build()));
            assertTrue(fast.getMessage().contains("cannot be reached since " + s2.staleSince().orElseThrow())
                    && fast.getMessage().contains(config().endpointList()), fast.getMessage());
            RegistryStoreException beat = assertThrows(RegistryStoreException.class, () -> r1.heartbeat(before.get(0).id()));
            assertTrue(beat.getMessage().contains("heartbeat"), beat.getMessage());
            // reads: the last known view
            for (Allocation a : before) {
                assertEquals(a.id(), r1.byPort(a.port(), Protocol.TCP).orElseThrow().id());
                assertEquals(a.id(), r2.byPort(a.port(), Protocol.TCP).orElseThrow().id());
            }
            assertEquals(5, r2.directory().stream().filter(a -> a.status().isLive()).count());

            for (int i : victims) {
                etcd.restart(i);
            }
            await("both stores are current again", 20_000, () -> !s1.isStale() && !s2.isStale());
            Allocation after = r2.allocate(AllocationRequest.builder("after", "faulttest").build());
            await("r1 sees the new record", 5_000, () -> r1.find(after.id()).isPresent());
            for (Allocation a : before) {
                assertEquals(AllocationStatus.ACTIVE, r1.heartbeat(a.id()).status(), "the lease of " + a.id() + " survived the outage");
            }
            try (EtcdRegistryStore check = EtcdRegistryStore.open(config())) {
                assertEquals(6, check.load().stream().filter(a -> a.status().isLive()).count());
            }
            assertFalse(r1.find("during").isPresent());
        } finally {
            for (int i = 0; i < etcd.size(); i++) {
                if (!etcd.isRunning(i)) {
                    etcd.restart(i);
                }
            }
        }
    }
}
