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
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.util.concurrent.TimeUnit;

/**
 * Bulk echo through a {@link TunnelPath} ({@code path} = ours, websockify, direct): one connection,
 * one client thread. One operation sends {@value #MESSAGE} bytes and receives their echo while
 * keeping at most {@value #WINDOW} bytes in flight (sent, not yet echoed back), so no path has to
 * buffer more than that. The score in ops/s is MiB/s each way (1 MiB goes out and 1 MiB comes back
 * per operation).
 *
 * <p>The client is a non-blocking {@link SocketChannel} ({@code TCP_NODELAY}) on one {@link Selector}:
 * it writes from a 64 KiB pattern whenever the window has room and reads (into 256 KiB) whatever has
 * come back; it waits in {@code select} only when neither moved. Setup echoes one message and checks
 * every byte against the pattern; the measured operations check the count only. No progress for
 * 10 s fails the trial.
 *
 * <p>Five warm-up iterations of 1 s (not three): a tunnel path runs a lot of Netty code, which the
 * JIT (sharing the two vCPUs) takes several seconds to compile.
 *
 * <p>Run: {@code scripts/bench TunnelThroughputBenchmark} (needs websockify: Debian's {@code websockify}).
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Fork(1)
@Warmup(iterations = 5, time = 1)
@Measurement(iterations = 5, time = 1)
@Threads(1)
@State(Scope.Benchmark)
public class TunnelThroughputBenchmark {
    static final int MESSAGE = 1 << 20;
    static final int CHUNK = 64 << 10;
    static final int WINDOW = 256 << 10;
    static final long STALL_NANOS = TimeUnit.SECONDS.toNanos(10);

    @Param({TunnelPath.OURS, TunnelPath.WEBSOCKIFY, TunnelPath.DIRECT})
    public String path;

    private TunnelPath p;
    private SocketChannel channel;
    private Selector selector;
    private SelectionKey key;
    private final byte[] pattern = pattern(CHUNK);
    private final ByteBuffer out = ByteBuffer.allocateDirect(CHUNK);
    private final ByteBuffer in = ByteBuffer.allocateDirect(WINDOW);
    private final byte[] check = new byte[WINDOW];

    @Setup(Level.Trial)
    public void setUp() throws IOException, InterruptedException {
        p = TunnelPath.open(path);
        out.put(pattern).flip();
        channel = SocketChannel.open();
        channel.setOption(StandardSocketOptions.TCP_NODELAY, true);
        channel.socket().connect(p.entry(), 10_000);
        channel.configureBlocking(false);
        selector = Selector.open();
        key = channel.register(selector, SelectionKey.OP_READ);
        long n = transfer(true);
        System.out.println("checked: " + n + " bytes echoed byte for byte through " + path);
        p.startCpu();
    }

    @TearDown(Level.Trial)
    public void tearDown() throws IOException {
        try {
            System.out.println(p.report());
            System.out.println(p.cpuReport("MiB"));
            p.checkAlive();
        } finally {
            try {
                if (selector != null) {
                    selector.close();
                }
                if (channel != null) {
                    channel.close();
                }
            } finally {
                p.close();
            }
        }
    }

    @Benchmark
    public long echo() throws IOException {
        return transfer(false);
    }

    /** Sends {@link #MESSAGE} bytes and reads their echo, at most {@link #WINDOW} in flight; returns the bytes received. */
    private long transfer(boolean verify) throws IOException {
        long sent = 0;
        long received = 0;
        long lastProgress = System.nanoTime();
        while (received < MESSAGE) {
            boolean progress = false;
            long room = Math.min(MESSAGE - sent, WINDOW - (sent - received));
            if (room > 0) {
                int off = (int) (sent % CHUNK);
                out.limit((int) Math.min(CHUNK, off + room)).position(off);
                int n = channel.write(out);
                sent += n;
                progress = n > 0;
            }
            in.clear();
            int n = channel.read(in);
            if (n < 0) {
                throw new EOFException(path + ": connection closed after " + received + " of " + MESSAGE + " echoed bytes");
            }
            if (n > 0) {
                if (verify) {
                    verify(received, n);
                }
                received += n;
                progress = true;
            }
            if (progress) {
                lastProgress = System.nanoTime();
            } else {
                key.interestOps(SelectionKey.OP_READ | (room > 0 ? SelectionKey.OP_WRITE : 0));
                selector.select(1_000);
                selector.selectedKeys().clear();
                if (System.nanoTime() - lastProgress > STALL_NANOS) {
                    throw new IOException(path + ": no progress for 10 s (sent " + sent + ", received " + received + " of " + MESSAGE + "); " + p.report());
                }
            }
        }
        if (sent != MESSAGE || received != MESSAGE) {
            throw new IllegalStateException(path + ": sent " + sent + " and received " + received + ", expected " + MESSAGE + " each way");
        }
        return received;
    }

    private void verify(long offset, int n) {
        in.flip();
        in.get(check, 0, n);
        for (int i = 0; i < n; i++) {
            if (check[i] != pattern[(int) ((offset + i) % CHUNK)]) {
                throw new IllegalStateException(path + ": echoed byte " + (offset + i) + " is " + check[i] + ", sent " + pattern[(int) ((offset + i) % CHUNK)]);
            }
        }
    }

    static byte[] pattern(int size) {
        byte[] b = new byte[size];
        for (int i = 0; i < size; i++) {
            b[i] = (byte) (i * 31 + (i >>> 9) + 7);
        }
        return b;
    }
}
