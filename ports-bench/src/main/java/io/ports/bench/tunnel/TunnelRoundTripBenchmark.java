package io.ports.bench.tunnel;

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
 * 64-byte round trips through a {@link TunnelPath} ({@code path} = ours, websockify, direct): one
 * persistent connection, a blocking {@link Socket} with {@code TCP_NODELAY}; one operation writes
 * 64 bytes and reads the 64 echoed bytes. Mode {@code SampleTime} (µs): the distribution, for the
 * median and p99.
 *
 * <p>{@code pin=cpu0} pins the fork before anything starts ({@link Pinning}: the JVM, so the
 * benchmark client, both tunnel ends and the echo target, and websockify, which inherits it) to CPU
 * 0, so a round trip never crosses between the two vCPUs (on this VM a wake-up across them adds
 * tens of µs each way). {@code pin=none} leaves the scheduler free. The same for all three paths.
 * Setup checks one echo byte for byte.
 *
 * <p>Five warm-up iterations of 1 s (not three): a tunnel path runs a lot of Netty code, which the
 * JIT (sharing the two vCPUs) takes several seconds to compile.
 *
 * <p>Run: {@code scripts/bench TunnelRoundTripBenchmark} (needs websockify and taskset).
 */
@BenchmarkMode(Mode.SampleTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Fork(1)
@Warmup(iterations = 5, time = 1)
@Measurement(iterations = 5, time = 1)
@Threads(1)
@State(Scope.Benchmark)
public class TunnelRoundTripBenchmark {
    static final int SIZE = 64;

    @Param({TunnelPath.OURS, TunnelPath.WEBSOCKIFY, TunnelPath.DIRECT})
    public String path;

    @Param({"cpu0", "none"})
    public String pin;

    private TunnelPath p;
    private Socket socket;
    private OutputStream out;
    private InputStream in;
    private final byte[] request = TunnelThroughputBenchmark.pattern(SIZE);
    private final byte[] response = new byte[SIZE];

    @Setup(Level.Trial)
    public void setUp() throws IOException, InterruptedException {
        switch (pin) {
            case "cpu0" -> Pinning.pinJvm(0);
            case "none" -> { }
            default -> throw new IllegalArgumentException("pin '" + pin + "': expected cpu0 or none");
        }
        p = TunnelPath.open(path);
        socket = new Socket();
        socket.setTcpNoDelay(true);
        socket.setSoTimeout(10_000); // a lost echo fails the trial instead of hanging it
        socket.connect(p.entry(), 10_000);
        out = socket.getOutputStream();
        in = socket.getInputStream();
        roundTrip();
        if (!Arrays.equals(request, response)) {
            throw new IllegalStateException(path + ": the echo of " + SIZE + " bytes differs from what was sent");
        }
        p.startCpu();
    }

    @TearDown(Level.Trial)
    public void tearDown() throws IOException {
        try {
            System.out.println(p.report());
            System.out.println(p.cpuReport("rt"));
            if (pin.equals("cpu0")) {
                String elsewhere = Pinning.threadsNotOn("0");
                System.out.println(elsewhere.isEmpty() ? "every thread of the JVM ran on CPU 0" : "threads not on CPU 0: " + elsewhere);
            }
            p.checkAlive();
        } finally {
            try {
                if (socket != null) {
                    socket.close();
                }
            } finally {
                p.close();
            }
        }
    }

    @Benchmark
    public int roundTrip() throws IOException {
        out.write(request);
        int n = in.readNBytes(response, 0, SIZE);
        if (n != SIZE) {
            throw new EOFException(path + ": connection closed after " + n + " of " + SIZE + " echoed bytes");
        }
        return response[SIZE - 1];
    }
}
