package io.ports.bench.registry;

import io.ports.core.PortRange;
import io.ports.core.ServiceCatalog;
import io.ports.core.ServiceType;
import io.ports.core.registry.Allocation;
import io.ports.core.registry.AllocationRequest;
import io.ports.core.registry.FileRegistryStore;
import io.ports.core.registry.Registry;
import io.ports.core.registry.RegistryStore;
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
import java.util.Comparator;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * Durable registry allocations and lookups.
 *
 * <p>{@code durable*}: one operation is a durable allocation followed by its durable release (two
 * changes, each acknowledged only after {@code fdatasync}), from 1, 8 and 64 threads, with the
 * embedded {@link FileRegistryStore} (group commit: one sync for everything queued) against a store
 * that syncs every write ({@link SyncEachWriteStore}, {@code @Param store}). Allocations per second
 * = the reported operations per second (one allocation per operation); durable changes per second
 * = twice that. Released records are purged as in a node that schedules {@link Registry#cleanup()}:
 * retention 0 and a cleanup every {@value #CLEANUP_MILLIS} ms on a thread of the state (its purge
 * is one more durable write, paid by both stores). Without it every released record stayed in the
 * registry and in the file store's state, whose snapshot (every 10,000 journal records) then grew
 * with the run: the rate fell from iteration to iteration (16,500 to 10,500 ops/s in 12 s).
 *
 * <p>{@code lookup*}: with 1,000 live records, {@code byPort}, {@code find(id)} and {@code byService}
 * of a random one.
 *
 * <p>Run: {@code scripts/bench RegistryBenchmark}
 */
@Fork(1)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
public class RegistryBenchmark {
    static final long CLEANUP_MILLIS = 100;
    private static final ServiceCatalog CATALOG = ServiceCatalog.defaults()
            .with(ServiceType.tcp("bench", 0, PortRange.of(30000, 59999), "benchmark range"));

    @State(Scope.Benchmark)
    public static class Durable {
        @Param({"file", "syncEachWrite"})
        public String store;

        Path dir;
        Registry registry;
        ScheduledExecutorService cleaner;

        @Setup(Level.Trial)
        public void setUp() throws IOException {
            dir = Files.createTempDirectory("ports-bench-registry");
            RegistryStore s = switch (store) {
                case "file" -> FileRegistryStore.open(dir.resolve("data"));
                case "syncEachWrite" -> new SyncEachWriteStore(dir.resolve("journal.log"));
                default -> throw new IllegalArgumentException("store " + store + ": expected file or syncEachWrite");
            };
            registry = Registry.builder().catalog(CATALOG).lockDirectory(dir.resolve("locks")).store(s).retention(Duration.ZERO).build();
            cleaner = Executors.newSingleThreadScheduledExecutor(r -> {
                Thread t = new Thread(r, "bench-registry-cleanup");
                t.setDaemon(true);
                return t;
            });
            cleaner.scheduleWithFixedDelay(() -> {
                try {
                    registry.cleanup();
                } catch (RuntimeException e) {
                    e.printStackTrace(); // a failing cleanup must not silently stop the purging
                }
            }, CLEANUP_MILLIS, CLEANUP_MILLIS, TimeUnit.MILLISECONDS);
        }

        @TearDown(Level.Trial)
        public void tearDown() throws IOException, InterruptedException {
            cleaner.shutdown();
            cleaner.awaitTermination(10, TimeUnit.SECONDS);
            // bounded state: at most about one cleanup interval of released records
            System.out.println("registry records at the end of the trial: " + registry.stats().total());
            closeAndDelete(registry, dir);
        }
    }

    static void closeAndDelete(Registry registry, Path dir) throws IOException {
        registry.close();
        try (Stream<Path> files = Files.walk(dir)) {
            files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }

    private static int allocateRelease(Durable d) {
        return allocateRelease(d.registry);
    }

    /** One durable allocate+release pair of type {@code bench}, as every store's benchmark measures it; returns the port. */
    public static int allocateRelease(Registry registry) {
        Allocation a = registry.allocate(AllocationRequest.builder("svc-" + Thread.currentThread().getId(), "bench").build());
        registry.release(a.id());
        return a.port();
    }

    @Benchmark
    @BenchmarkMode(Mode.Throughput)
    @OutputTimeUnit(TimeUnit.SECONDS)
    @Threads(1)
    public int durable_1client(Durable d) {
        return allocateRelease(d);
    }

    @Benchmark
    @BenchmarkMode(Mode.Throughput)
    @OutputTimeUnit(TimeUnit.SECONDS)
    @Threads(8)
    public int durable_8clients(Durable d) {
        return allocateRelease(d);
    }

    @Benchmark
    @BenchmarkMode(Mode.Throughput)
    @OutputTimeUnit(TimeUnit.SECONDS)
    @Threads(64)
    public int durable_64clients(Durable d) {
        return allocateRelease(d);
    }

    @State(Scope.Benchmark)
    public static class Lookups {
        Path dir;
        Registry registry;
        Allocation[] live;

        @Setup(Level.Trial)
        public void setUp() throws IOException {
            dir = Files.createTempDirectory("ports-bench-lookups");
            registry = Registry.builder().catalog(CATALOG).lockDirectory(dir.resolve("locks")).build();
            live = new Allocation[1000];
            for (int i = 0; i < live.length; i++) {
                live[i] = registry.allocate(AllocationRequest.builder("svc-" + i, "bench").build());
                registry.heartbeat(live[i].id()); // ACTIVE: drops the holding socket, keeps the claim
            }
        }

        @TearDown(Level.Trial)
        public void tearDown() throws IOException {
            closeAndDelete(registry, dir);
        }

        Allocation any() {
            return live[ThreadLocalRandom.current().nextInt(live.length)];
        }
    }

    @Benchmark
    @BenchmarkMode(Mode.AverageTime)
    @OutputTimeUnit(TimeUnit.NANOSECONDS)
    public Object lookup_byPort(Lookups l) {
        return l.registry.byPort(l.any().port(), io.ports.core.Protocol.TCP);
    }

    @Benchmark
    @BenchmarkMode(Mode.AverageTime)
    @OutputTimeUnit(TimeUnit.NANOSECONDS)
    public Object lookup_byId(Lookups l) {
        return l.registry.find(l.any().id());
    }

    @Benchmark
    @BenchmarkMode(Mode.AverageTime)
    @OutputTimeUnit(TimeUnit.NANOSECONDS)
    public Object lookup_byService(Lookups l) {
        return l.registry.byService(l.any().serviceName());
    }
}
