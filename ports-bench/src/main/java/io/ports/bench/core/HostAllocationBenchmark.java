package io.ports.bench.core;

import io.ports.core.PortAllocator;
import io.ports.core.PortLease;
import io.ports.core.PortRequest;
import io.ports.core.Protocol;
import io.ports.core.ServiceType;
import io.ports.core.internal.SocketBinder;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.BindException;
import java.net.DatagramSocket;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.EnumSet;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * Host-wide allocation of one port as a user calls it, one thread, including giving the port back:
 *
 * <ul>
 *   <li>{@code ports_default}: {@code allocator.allocate(PortRequest.of("bench", CUSTOM)).close()} with
 *       default settings: in-process bitmap, one {@code fcntl} byte-range lock in the shared lock file
 *       (in a temporary lock directory), one dual-stack TCP socket bound with {@code SO_REUSEADDR}
 *       that checks the port and holds it until the lease closes;</li>
 *   <li>{@code ports_noHold}: the same with {@code hold(false)}: the TCP check socket is closed at once;</li>
 *   <li>{@code ports_tcpAndUdp}: default settings, the request asks for TCP and UDP (one more bind);</li>
 *   <li>baseline {@code serverSocketZero}: {@code new ServerSocket(0)}, {@code getLocalPort()},
 *       {@code close()}: the idiom of Spring's {@code TestSocketUtils}, get-port, phayes/freeport;</li>
 *   <li>baseline {@code randomTcpUdpBind}: a random port of 15000-24999 (portpicker, openport
 *       {@code rand}), checked by binding a {@code ServerSocket} and a {@code DatagramSocket} to it,
 *       both closed; another random port on {@code BindException}, at most 50 tries.</li>
 * </ul>
 * Every variant returns the port it got, so nothing is eliminated as dead code. Only loopback and
 * wildcard binds; no traffic.
 *
 * <p>Run: {@code scripts/bench HostAllocationBenchmark} (from the repository root), or after a build
 * {@code java -jar ports-bench/target/benchmarks.jar HostAllocationBenchmark}.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Fork(1)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@State(Scope.Benchmark)
public class HostAllocationBenchmark {
    static final int RANDOM_FROM = 15000;
    static final int RANDOM_TO = 24999;
    static final int RANDOM_TRIES = 50;

    private Path lockDir;
    private PortAllocator defaults;
    private PortAllocator noHold;
    private PortRequest tcp;
    private PortRequest tcpAndUdp;

    @Setup(Level.Trial)
    public void setUp() throws IOException {
        lockDir = Files.createTempDirectory("ports-bench-locks");
        // which socket layer is measured: netty-native (JNI) on Linux, jdk-nio where Netty's transport does not load
        System.out.println("ports sockets: " + SocketBinder.system().implementation());
        defaults = PortAllocator.builder().lockDirectory(lockDir).build();
        noHold = PortAllocator.builder().lockDirectory(lockDir).hold(false).build();
        tcp = PortRequest.of("bench", ServiceType.CUSTOM);
        tcpAndUdp = PortRequest.builder("bench", ServiceType.CUSTOM)
                .protocols(EnumSet.of(Protocol.TCP, Protocol.UDP))
                .build();
    }

    @TearDown(Level.Trial)
    public void tearDown() throws IOException {
        defaults.close();
        noHold.close();
        try (Stream<Path> files = Files.walk(lockDir)) {
            for (Path p : (Iterable<Path>) files.sorted(Comparator.reverseOrder())::iterator) {
                Files.delete(p);
            }
        }
    }

    @Benchmark
    public int ports_default() {
        PortLease lease = defaults.allocate(tcp);
        lease.close();
        return lease.port();
    }

    @Benchmark
    public int ports_noHold() {
        PortLease lease = noHold.allocate(tcp);
        lease.close();
        return lease.port();
    }

    @Benchmark
    public int ports_tcpAndUdp() {
        PortLease lease = defaults.allocate(tcpAndUdp);
        lease.close();
        return lease.port();
    }

    @Benchmark
    public int serverSocketZero() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    @Benchmark
    @SuppressWarnings("try") // the sockets are opened only to be bound and closed
    public int randomTcpUdpBind() throws IOException {
        ThreadLocalRandom random = ThreadLocalRandom.current();
        BindException last = null;
        for (int i = 0; i < RANDOM_TRIES; i++) {
            int port = random.nextInt(RANDOM_FROM, RANDOM_TO + 1);
            try (ServerSocket tcpSocket = new ServerSocket(port);
                 DatagramSocket udpSocket = new DatagramSocket(port)) {
                return port;
            } catch (BindException e) {
                last = e;
            }
        }
        throw new UncheckedIOException("no free port in " + RANDOM_FROM + "-" + RANDOM_TO + " after " + RANDOM_TRIES + " tries", last);
    }
}
