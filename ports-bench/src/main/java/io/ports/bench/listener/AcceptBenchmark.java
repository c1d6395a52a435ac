package io.ports.bench.listener;

import io.ports.listener.ListenerManager;
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
import java.net.InetSocketAddress;
import java.net.Socket;
import java.util.concurrent.TimeUnit;

/**
 * Accept rate of a TCP listener started by {@link ListenerManager} ({@code server=ports}) against a
 * plain Netty {@code ServerBootstrap} ({@code server=netty}) on the same {@code EventLoops}
 * ({@code transport} = IO_URING, EPOLL, NIO; 2 threads), with {@code SO_REUSEPORT} off (one
 * listening socket) and on ({@code reusePort=true}: 2 sockets bound to the port, one per event loop
 * thread, and the kernel spreads connections over them). Loopback only (127.0.0.1).
 *
 * <p>One operation is one whole short connection as a client sees it: a blocking
 * {@link java.net.Socket} connects, reads the one byte the server's child handler
 * ({@link BenchServer.Greeter}) writes as soon as the connection is active (so the server has
 * accepted and registered it before the operation ends), and closes. The client socket has
 * {@code SO_LINGER} 0: it closes with a reset, so neither side keeps the connection in
 * {@code TIME_WAIT} and the ephemeral ports are not exhausted; the server closes its side on the reset.
 * {@code oneThread} connects from one client thread, {@code twoThreads} from two at once (the score
 * is the sum). Scores are connections per second.
 *
 * <p>Run: {@code scripts/bench AcceptBenchmark} (from the repository root), or after a build
 * {@code java -jar ports-bench/target/benchmarks.jar AcceptBenchmark}.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Fork(1)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@State(Scope.Benchmark)
public class AcceptBenchmark {
    @Param({"ports", "netty"})
    public String server;

    @Param({"IO_URING", "EPOLL", "NIO"})
    public String transport;

    @Param({"false", "true"})
    public boolean reusePort;

    private BenchServer listener;
    private InetSocketAddress address;

    @Setup(Level.Trial)
    public void setUp() throws IOException {
        listener = BenchServer.start(server, transport, reusePort, new BenchServer.Greeter());
        address = listener.address();
        connectOnce(); // fails the trial at once if the server does not answer
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        listener.close();
    }

    private int connectOnce() throws IOException {
        try (Socket s = new Socket()) {
            s.setSoLinger(true, 0); // close with RST: no TIME_WAIT
            s.setSoTimeout(BenchServer.TIMEOUT_MILLIS);
            s.connect(address, BenchServer.TIMEOUT_MILLIS);
            int b = s.getInputStream().read();
            if (b != BenchServer.Greeter.GREETING) {
                throw new IOException("expected the server's greeting byte, got " + b);
            }
            return s.getLocalPort();
        }
    }

    @Benchmark
    @Threads(1)
    public int oneThread() throws IOException {
        return connectOnce();
    }

    @Benchmark
    @Threads(2)
    public int twoThreads() throws IOException {
        return connectOnce();
    }
}
