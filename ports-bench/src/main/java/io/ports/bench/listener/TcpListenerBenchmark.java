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

import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.util.Arrays;
import java.util.concurrent.TimeUnit;

/**
 * TCP traffic through a listener started by {@link ListenerManager} ({@code server=ports}) against a
 * plain Netty {@code ServerBootstrap} ({@code server=netty}), on the same {@code EventLoops}
 * ({@code transport} = IO_URING, EPOLL, NIO; 2 threads) with the same child handler,
 * {@link BenchServer.Echo}, which writes back every buffer it reads. Loopback only (127.0.0.1).
 *
 * <p>Each benchmark thread is a client with one persistent connection, a blocking
 * {@link java.net.Socket} with {@code TCP_NODELAY}, opened in the thread's trial setup (and checked
 * with one echo of each size) and closed in its teardown. One operation:
 * <ul>
 *   <li>{@code requestResponse}: writes 64 bytes and reads the 64 bytes back (one round trip), one client thread;</li>
 *   <li>{@code requestResponse_twoThreads}: the same on two client threads, two connections
 *       (the score is the sum over both threads);</li>
 *   <li>{@code bulk}: writes 64 KiB and reads the 64 KiB back, one client thread: 128 KiB cross the
 *       loopback per operation (64 KiB each way).</li>
 * </ul>
 * Scores are operations per second. Only the accept path differs between the two servers (ports
 * adds each connection to its channel group through a {@code ChannelInitializer}); per byte the
 * pipelines are the same, so the two should be equal within noise.
 *
 * <p>Run: {@code scripts/bench TcpListenerBenchmark} (from the repository root), or after a build
 * {@code java -jar ports-bench/target/benchmarks.jar TcpListenerBenchmark}.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Fork(1)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@State(Scope.Benchmark)
public class TcpListenerBenchmark {
    static final int SMALL = 64;
    static final int BULK = 64 * 1024;

    @Param({"ports", "netty"})
    public String server;

    @Param({"IO_URING", "EPOLL", "NIO"})
    public String transport;

    private BenchServer listener;

    @Setup(Level.Trial)
    public void setUp() {
        listener = BenchServer.start(server, transport, false, new BenchServer.Echo());
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        listener.close();
    }

    /** One client connection per benchmark thread. */
    @State(Scope.Thread)
    public static class Client {
        private Socket socket;
        private OutputStream out;
        private InputStream in;
        private final byte[] small = pattern(SMALL);
        private final byte[] smallBack = new byte[SMALL];
        private final byte[] bulk = pattern(BULK);
        private final byte[] bulkBack = new byte[BULK];

        @Setup(Level.Trial)
        public void connect(TcpListenerBenchmark b) throws IOException {
            socket = new Socket();
            socket.setTcpNoDelay(true);
            socket.setSoTimeout(BenchServer.TIMEOUT_MILLIS); // a lost echo fails the run instead of hanging it
            socket.connect(b.listener.address(), BenchServer.TIMEOUT_MILLIS);
            out = socket.getOutputStream();
            in = socket.getInputStream();
            for (byte[][] pair : new byte[][][] {{small, smallBack}, {bulk, bulkBack}}) {
                roundTrip(pair[0], pair[1]);
                if (!Arrays.equals(pair[0], pair[1])) {
                    throw new IllegalStateException("the echo of " + pair[0].length + " bytes differs from what was sent");
                }
                Arrays.fill(pair[1], (byte) 0);
            }
        }

        @TearDown(Level.Trial)
        public void close() throws IOException {
            socket.close();
        }

        int roundTrip(byte[] request, byte[] response) throws IOException {
            out.write(request);
            int n = in.readNBytes(response, 0, response.length);
            if (n != response.length) {
                throw new EOFException("connection closed after " + n + " of " + response.length + " echoed bytes");
            }
            return response[n - 1];
        }

        private static byte[] pattern(int size) {
            byte[] b = new byte[size];
            for (int i = 0; i < size; i++) {
                b[i] = (byte) (i * 31 + 7);
            }
            return b;
        }
    }

    @Benchmark
    @Threads(1)
    public int requestResponse(Client c) throws IOException {
        return c.roundTrip(c.small, c.smallBack);
    }

    @Benchmark
    @Threads(2)
    public int requestResponse_twoThreads(Client c) throws IOException {
        return c.roundTrip(c.small, c.smallBack);
    }

    @Benchmark
    @Threads(1)
    public int bulk(Client c) throws IOException {
        return c.roundTrip(c.bulk, c.bulkBack);
    }
}
