package io.ports.etcd;

import io.ports.core.PortRange;
import io.ports.core.ServiceCatalog;
import io.ports.core.ServiceType;
import io.ports.core.registry.Allocation;
import io.ports.core.registry.AllocationRequest;
import io.ports.core.registry.AllocationStatus;
import io.ports.core.registry.FileRegistryStore;
import io.ports.core.registry.PortConflictException;
import io.ports.core.registry.Registry;
import io.ports.core.registry.RegistryStore;
import io.ports.etcd.testsupport.EtcdCluster;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The file store into etcd and back, against a real etcd member. */
class RegistryMigrationTest {
    private static EtcdCluster etcd;

    @TempDir
    Path tmp;

    final ServiceCatalog catalog = ServiceCatalog.defaults().with(ServiceType.tcp("migtest", 0, PortRange.of(36800, 36899), "migration tests"));
    final String prefix = "/m-" + UUID.randomUUID() + "/";

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

    static List<Allocation> sorted(java.util.Collection<Allocation> records) {
        return records.stream().sorted(Comparator.comparing(Allocation::id)).toList();
    }

    @Test
    void fileToEtcd_andBack_keepsEveryRecord() throws Exception {
        Path fileDir = tmp.resolve("file-store");
        List<Allocation> original;
        try (Registry reg = Registry.builder().store(FileRegistryStore.open(fileDir)).catalog(catalog).lockDirectory(tmp.resolve("locks"))
                .host("db-host-1").defaultHeartbeatTimeout(Duration.ofSeconds(60)).build()) {
            Allocation a = reg.allocate(AllocationRequest.builder("orders", "migtest").metadata(Map.of("zone", "a")).build());
            reg.heartbeat(a.id());
            reg.allocate(AllocationRequest.builder("raft", "migtest").build());
            Allocation c = reg.allocate(AllocationRequest.builder("old", "migtest").build());
            reg.release(c.id());
            original = sorted(reg.directory());
        }
        RegistryMigration.Result there = RegistryMigration.fileToEtcd(fileDir, config());
        assertEquals(3, there.records());
        assertEquals(2, there.live());
        try (EtcdRegistryStore store = EtcdRegistryStore.open(config())) {
            assertEquals(original, sorted(store.load()));
            // the live records hold their claims and leases in etcd: a registry on etcd heart-beats them
            for (Allocation a : original) {
                if (a.status().isLive()) {
                    assertTrue(store.heartbeat(a), "lease of " + a.id());
                }
            }
            assertEquals(2, etcd.etcdctl("get", prefix + "claims/", "--prefix", "--keys-only").output().lines().filter(l -> !l.isBlank()).count());
        }

        // again into the same prefix: refused, nothing written
        IllegalArgumentException twice = assertThrows(IllegalArgumentException.class, () -> RegistryMigration.fileToEtcd(fileDir, config()));
        assertTrue(twice.getMessage().contains("already") && twice.getMessage().contains("nothing was copied"), twice.getMessage());

        Path back = tmp.resolve("file-store-back");
        RegistryMigration.Result home = RegistryMigration.etcdToFile(config(), back);
        assertEquals(3, home.records());
        try (FileRegistryStore f = FileRegistryStore.open(back)) {
            assertEquals(original, sorted(f.load()));
        }
    }

    @Test
    void copy_intoATargetWhoseLivePortIsTaken_writesNothing() {
        Instant now = Instant.now();
        Allocation there = new Allocation(UUID.randomUUID().toString(), "holder", "migtest", 36850, io.ports.core.Protocol.TCP, "db-host-1", 0,
                Map.of(), now, now, AllocationStatus.ACTIVE, 60_000);
        Allocation incoming = new Allocation(UUID.randomUUID().toString(), "incoming", "migtest", 36850, io.ports.core.Protocol.TCP, "db-host-1", 0,
                Map.of(), now, now, AllocationStatus.ACTIVE, 60_000);
        Allocation other = new Allocation(UUID.randomUUID().toString(), "other", "migtest", 36851, io.ports.core.Protocol.TCP, "db-host-1", 0,
                Map.of(), now, now, AllocationStatus.ACTIVE, 60_000);
        try (EtcdRegistryStore target = EtcdRegistryStore.open(config()); FileRegistryStore source = FileRegistryStore.open(tmp.resolve("src"))) {
            target.write(List.of(RegistryStore.Change.put(there)));
            source.write(List.of(RegistryStore.Change.put(other), RegistryStore.Change.put(incoming)));
            PortConflictException e = assertThrows(PortConflictException.class, () -> RegistryMigration.copy(source, target));
            assertTrue(e.getMessage().contains(incoming.id()) && e.getMessage().contains(there.id()), e.getMessage());
            assertEquals(List.of(there), List.copyOf(target.load()));
        }
    }
}
