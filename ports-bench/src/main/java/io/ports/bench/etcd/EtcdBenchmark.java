package io.ports.bench.etcd;

import io.ports.bench.registry.RegistryBenchmark;
import io.ports.core.PortRange;
import io.ports.core.ServiceCatalog;
import io.ports.core.ServiceType;
import io.ports.core.registry.FileRegistryStore;
import io.ports.core.registry.Registry;
import io.ports.core.registry.RegistryStore;
import io.ports.core.testsupport.PeerRuns;
import io.ports.etcd.EtcdRegistryStore;
import io.ports.etcd.EtcdStoreConfig;
import io.ports.etcd.testsupport.EtcdCluster;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * Registry allocate+release pairs per second through the etcd store, on one etcd member and on a
 * three-member cluster on loopback (Debian's etcd 3.4, started by the trial with its defaults: fsync
 * of every commit, raft heartbeat 100 ms, election 1 s; request timeout 5 s), beside the embedded file
 * store in the same run
 * ({@code @Param store}: {@code file}, {@code etcd1}, {@code etcd3}).
 *
 * <p>One operation is a durable allocation (etcd: a lease grant, then one transaction that creates the
 * host+port claim only if absent, with the record; file: one journaled write after {@code fdatasync})
 * followed by its durable release (etcd: one transaction, then the lease revoked; file: one write).
 * Released records are purged by a cleanup every 100 ms (retention 0), as in a node.
 *
 * <p>Run: {@code flock /tmp/ports-bench.lock scripts/bench EtcdBenchmark} (needs etcd-server).
 */
@Fork(1)
@Warmup(iterations = 2, time = 2)
@Measurement(iterations = 3, time = 3)
public class EtcdBenchmark {
    private static final ServiceCatalog CATALOG = ServiceCatalog.defaults()
            .with(ServiceType.tcp("bench", 0, PortRange.of(30000, 59999), "benchmark range"));

    @State(Scope.Benchmark)
    public static class Store {
        @Param({"file", "etcd1", "etcd3"})
        public String store;

        Path dir;
        EtcdCluster etcd;
        Registry registry;
        ScheduledExecutorService cleaner;

        @Setup(Level.Trial)
        public void setUp() throws IOException, InterruptedException {
            dir = Files.createTempDirectory("ports-bench-etcd");
            RegistryStore s = switch (store) {
                case "file" -> FileRegistryStore.open(dir.resolve("data"));
                case "etcd1", "etcd3" -> {
                    etcd = EtcdCluster.start(store.equals("etcd1") ? 1 : 3, null, false);
                    yield EtcdRegistryStore.open(EtcdStoreConfig.parse(etcd.uri() + "?timeout=5s"));
                }
                default -> throw new IllegalArgumentException("store " + store + ": expected file, etcd1 or etcd3");
            };
            registry = Registry.builder().catalog(CATALOG).lockDirectory(dir.resolve("locks")).store(s).retention(Duration.ZERO).build();
            cleaner = Executors.newSingleThreadScheduledExecutor(r -> {
                Thread t = new Thread(r, "bench-etcd-cleanup");
                t.setDaemon(true);
                return t;
            });
            cleaner.scheduleWithFixedDelay(() -> {
                try {
                    registry.cleanup();
                } catch (RuntimeException e) {
                    e.printStackTrace(); // a failing cleanup must not silently stop the purging
                }
            }, 100, 100, TimeUnit.MILLISECONDS);
        }

        @TearDown(Level.Trial)
        public void tearDown() throws InterruptedException {
            try {
                cleaner.shutdown();
                cleaner.awaitTermination(10, TimeUnit.SECONDS);
                System.out.println("registry records at the end of the trial: " + registry.stats().total());
                registry.close();
            } finally {
                try {
                    if (etcd != null) {
                        etcd.close();
                    }
                } finally {
                    PeerRuns.deleteTree(dir);
                }
            }
        }
    }

    private static int allocateRelease(Store s) {
        return RegistryBenchmark.allocateRelease(s.registry);
    }

    @Benchmark
    @BenchmarkMode(Mode.Throughput)
    @OutputTimeUnit(TimeUnit.SECONDS)
    @Threads(1)
    public int pairs_1client(Store s) {
        return allocateRelease(s);
    }

    @Benchmark
    @BenchmarkMode(Mode.Throughput)
    @OutputTimeUnit(TimeUnit.SECONDS)
    @Threads(8)
    public int pairs_8clients(Store s) {
        return allocateRelease(s);
    }
}
