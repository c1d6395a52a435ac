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
import java.net.Socket;
import java.util.concurrent.TimeUnit;

/**
 * New-connection set-up through a {@link TunnelPath} ({@code path} = ours, websockify, direct): one
 * operation opens a new TCP connection to the path's entry, writes one byte and reads its echo,
 * then closes. Through a tunnel the byte can only come back once the client end has dialled the
 * server, the WebSocket upgrade is done and the server end has connected the target, so the time is
 * the whole set-up as an application sees it. Mode {@code SampleTime} (µs), one client thread.
 * Five warm-up iterations, as in the other tunnel benchmarks: the set-up code runs once per
 * connection, so the JIT needs a few thousand connections to compile it.
 *
 * <p>The close is a reset ({@code SO_LINGER} 0), the same on all three paths, so that the tens of
 * thousands of connections of a trial leave no {@code TIME_WAIT} entries on the client's ephemeral
 * ports (the loopback is shared with other programs). Through a tunnel a reset of the local
 * connection makes the client end close the WebSocket with 1011 and the server end reset its target
 * connection; that teardown runs after the operation, overlapping the next one.
 *
 * <p>Run: {@code scripts/bench TunnelConnectBenchmark} (needs websockify).
 */
@BenchmarkMode(Mode.SampleTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Fork(1)
@Warmup(iterations = 5, time = 1)
@Measurement(iterations = 5, time = 1)
@Threads(1)
@State(Scope.Benchmark)
public class TunnelConnectBenchmark {
    static final int BYTE = '+';

    @Param({TunnelPath.OURS, TunnelPath.WEBSOCKIFY, TunnelPath.DIRECT})
    public String path;

    private TunnelPath p;
    private long connections;

    @Setup(Level.Trial)
    public void setUp() throws IOException, InterruptedException {
        p = TunnelPath.open(path);
        connectAndEcho();
        connections = 0;
        p.startCpu();
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        try {
            System.out.println(path + ": " + connections + " measured and warm-up connections; " + p.report());
            System.out.println(p.cpuReport("conn"));
            p.checkAlive();
        } finally {
            p.close();
        }
    }

    @Benchmark
    public int connectAndEcho() throws IOException {
        try (Socket s = new Socket()) {
            s.setTcpNoDelay(true);
            s.setSoLinger(true, 0);
            s.setSoTimeout(10_000); // a set-up that never completes fails the trial
            s.connect(p.entry(), 10_000);
            s.getOutputStream().write(BYTE);
            int b = s.getInputStream().read();
            if (b != BYTE) {
                throw b < 0 ? new EOFException(path + ": connection closed before the echo; " + p.report())
                        : new IOException(path + ": echoed " + b + ", sent " + BYTE);
            }
            connections++;
            return b;
        }
    }
}
