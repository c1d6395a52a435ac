package io.ports.listener.tunnel;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.zip.CRC32;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Backpressure end to end, keepalive and dead peers, reconnecting with backoff. No assertion on time. */
class TunnelFlowTest extends TunnelFixture {
    private static final int LOW = 32 << 10;
    private static final int HIGH = 128 << 10;
    private static final int FRAME = 64 << 10;
    /** What one tunnel end may hold beyond the high water mark: one read (at most {@link Bridge#MAX_READ}) or one frame, per channel. */
    private static final long BOUND = 2L * (HIGH + FRAME + Bridge.MAX_READ);

    @Test
    void slowTarget_stallsTheSender_withBoundedBuffers_thenEverythingArrives() throws Exception {
        long total = 256L << 20; // far more than every socket buffer on the way can hold
        try (TcpTarget sink = closeLater(TcpTarget.slowSink(64 << 10))) {
            TunnelServer server = server(sink, b -> b.writeBufferWaterMarks(LOW, HIGH).maxFramePayload(FRAME)
                    .keepalive(Duration.ofMillis(100), Duration.ofMillis(400)));
            TunnelClient client = client(ws(server), b -> b.writeBufferWaterMarks(LOW, HIGH).maxFramePayload(FRAME)
                    .keepalive(Duration.ofMillis(100), Duration.ofMillis(400)));
            try (Socket s = connect(client.port())) {
                AtomicLong written = new AtomicLong();
                CRC32 crc = new CRC32();
                CompletableFuture<Void> writer = CompletableFuture.runAsync(() -> {
                    try {
                        OutputStream out = s.getOutputStream();
                        byte[] buf = new byte[64 << 10];
                        while (written.get() < total) {
                            TcpTarget.pattern(written.get(), buf, buf.length);
                            crc.update(buf);
                            out.write(buf);
                            written.addAndGet(buf.length);
                        }
                        s.shutdownOutput();
                    } catch (IOException e) {
                        throw new java.io.UncheckedIOException(e);
                    }
                });
                long stalledAt = awaitStall(written::get, "the application's writes");
                System.out.printf("upload stalled after %d bytes; buffered in the tunnel: client %d, server %d%n", stalledAt,
                        client.counters().bufferedBytes(), server.counters().bufferedBytes());
                assertTrue(stalledAt < total, "the writer stalled at " + stalledAt + " of " + total + " bytes");
                assertTrue(client.counters().bufferedBytes() <= BOUND, "client buffers " + client.counters().bufferedBytes() + " > " + BOUND);
                assertTrue(server.counters().bufferedBytes() <= BOUND, "server buffers " + server.counters().bufferedBytes() + " > " + BOUND);
                assertEquals(0, sink.bytesRead.get());
                assertEquals(0, client.counters().pingTimeouts() + server.counters().pingTimeouts(),
                        "a peer held back by backpressure is not taken for dead");

                sink.go.countDown(); // the target reads again: everything flows
                writer.get(60, TimeUnit.SECONDS);
                ByteBuffer answer = ByteBuffer.wrap(s.getInputStream().readNBytes(16));
                assertEquals(total, answer.getLong(), "bytes the target read");
                assertEquals(crc.getValue(), answer.getLong(), "CRC32 of what the target read");
            }
            assertEquals(1, client.counters().connectionsOpened(), "the tunnel survived the stall");
        }
    }

    @Test
    void slowApplication_stallsTheTarget_withBoundedBuffers_thenEverythingArrives() throws Exception {
        long total = 256L << 20;
        try (TcpTarget source = closeLater(TcpTarget.source(total))) {
            TunnelServer server = server(source, b -> b.writeBufferWaterMarks(LOW, HIGH).maxFramePayload(FRAME)
                    .keepalive(Duration.ofMillis(100), Duration.ofMillis(400)));
            TunnelClient client = client(ws(server), b -> b.writeBufferWaterMarks(LOW, HIGH).maxFramePayload(FRAME)
                    .keepalive(Duration.ofMillis(100), Duration.ofMillis(400)));
            Socket s = new Socket();
            s.setReceiveBufferSize(64 << 10);
            s.connect(new java.net.InetSocketAddress("127.0.0.1", client.port()), 5000);
            s.setSoTimeout(20_000);
            try (s) {
                s.getOutputStream().write(0); // the tunnel is up once the target saw its connection
                await("the target accepted", () -> source.accepted() == 1, source.accepted());
                source.go.countDown();
                AtomicLong carried = new AtomicLong();
                long stalledAt = awaitStall(() -> server.counters().bytesSent(), "bytes the server carried from the target");
                System.out.printf("download stalled after %d bytes; buffered in the tunnel: client %d, server %d%n", stalledAt,
                        client.counters().bufferedBytes(), server.counters().bufferedBytes());
                assertTrue(stalledAt < total, "the server stopped reading the target at " + stalledAt + " of " + total);
                assertTrue(client.counters().bufferedBytes() <= BOUND, "client buffers " + client.counters().bufferedBytes() + " > " + BOUND);
                assertTrue(server.counters().bufferedBytes() <= BOUND, "server buffers " + server.counters().bufferedBytes() + " > " + BOUND);
                assertEquals(0, client.counters().pingTimeouts() + server.counters().pingTimeouts());

                InputStream in = s.getInputStream(); // now read everything, checking each byte
                byte[] buf = new byte[64 << 10];
                byte[] expected = new byte[buf.length];
                int n;
                while ((n = in.read(buf)) >= 0) {
                    TcpTarget.pattern(carried.get(), expected, n);
                    assertArrayEquals(java.util.Arrays.copyOf(expected, n), java.util.Arrays.copyOf(buf, n), "at offset " + carried.get());
                    carried.addAndGet(n);
                }
                assertEquals(total, carried.get());
            }
        }
    }

    /** Polls {@code progress} until it stops growing for 1 s (50 polls of 20 ms), at most 60 s; returns it. */
    private static long awaitStall(java.util.function.LongSupplier progress, String what) throws InterruptedException {
        long last = -1;
        int still = 0;
        for (int i = 0; i < 3000 && still < 50; i++) {
            Thread.sleep(20);
            long now = progress.getAsLong();
            still = now == last ? still + 1 : 0;
            last = now;
        }
        assertTrue(still >= 50, what + " never stopped growing: " + last);
        return last;
    }

    @Test
    void serverThatStopsAnswering_isDroppedAfterThePingTimeout() throws Exception {
        try (ServerSocket fake = new ServerSocket(0, 10, InetAddress.getLoopbackAddress())) {
            TunnelClient client = client("ws://127.0.0.1:" + fake.getLocalPort() + "/", b -> b.keepalive(Duration.ofMillis(100), Duration.ofMillis(500)));
            try (Socket app = connect(client.port()); RawWebSocket silent = RawWebSocket.accept(fake)) {
                CompletableFuture<Void> drain = CompletableFuture.runAsync(silent::drainSilently);
                await("the client took the silent server for dead", () -> client.counters().pingTimeouts() == 1, client.counters());
                assertEquals("reset", ending(app), "the application sees a broken stream");
                drain.get(30, TimeUnit.SECONDS); // the client closed the WebSocket connection
            }
            assertEquals(0, client.counters().connectionsActive());
        }
    }

    @Test
    void clientThatStopsAnswering_isDroppedAfterThePingTimeout_andTheTargetClosed() throws Exception {
        try (TcpTarget echo = closeLater(TcpTarget.echo())) {
            TunnelServer server = server(echo, b -> b.keepalive(Duration.ofMillis(100), Duration.ofMillis(500)));
            try (RawWebSocket silent = RawWebSocket.connect(server.port(), "/", "Sec-WebSocket-Protocol: binary")) {
                assertEquals(101, silent.status);
                silent.send(RawWebSocket.BINARY, true, "x".getBytes(StandardCharsets.US_ASCII));
                silent.drainSilently(); // never answers a Ping; returns when the server closes
            }
            assertEquals(1, server.counters().pingTimeouts());
            await("the target connection was closed", () -> echo.finished() == 1, echo.endings);
        }
    }

    @Test
    void frameArrivingSlowerThanThePingTimeout_keepsThePeerAlive() throws Exception {
        try (TcpTarget echo = closeLater(TcpTarget.echo())) {
            TunnelServer server = server(echo, b -> b.keepalive(Duration.ofMillis(100), Duration.ofMillis(500)));
            try (RawWebSocket slow = RawWebSocket.connect(server.port(), "/", "Sec-WebSocket-Protocol: binary")) {
                assertEquals(101, slow.status);
                byte[] data = random(64 << 10);
                // one frame, 1 KiB every 25 ms: about 1.6 s, three ping timeouts, before it is complete;
                // the peer's Pings (none here, it never answers) would be queued behind it anyway
                slow.sendSlowly(RawWebSocket.BINARY, data, 1024, 25);
                assertArrayEquals(data, slow.readData(data.length), "the frame went through and came back");
            }
            assertEquals(0, server.counters().pingTimeouts(), "bytes of a frame still arriving are a live peer");
        }
    }

    @Test
    void eventLoopsThatStallLongerThanThePingTimeout_doNotDropALivePeer() throws Exception {
        try (TcpTarget echo = closeLater(TcpTarget.echo())) {
            TunnelServer server = server(echo, b -> b.keepalive(Duration.ofMillis(100), Duration.ofMillis(400)));
            TunnelClient client = client(ws(server), b -> b.keepalive(Duration.ofMillis(100), Duration.ofMillis(400)));
            try (Socket s = connect(client.port())) {
                s.getOutputStream().write('a');
                assertEquals('a', s.getInputStream().read());
                // every event loop stops for 1 s at once (a GC pause, a starved VM): the peer's Pings
                // wait in the socket, unread; that silence is ours, not the peer's
                for (int round = 0; round < 3; round++) {
                    java.util.List<java.util.concurrent.Future<?>> stalls = new java.util.ArrayList<>();
                    for (io.netty.util.concurrent.EventExecutor e : loops.group()) {
                        stalls.add(e.submit(() -> {
                            Thread.sleep(1000);
                            return null;
                        }));
                    }
                    for (java.util.concurrent.Future<?> f : stalls) {
                        f.get(10, TimeUnit.SECONDS);
                    }
                    s.getOutputStream().write('b' + round);
                    assertEquals('b' + round, s.getInputStream().read(), "the tunnel still carries bytes after stall " + round);
                }
            }
            assertEquals(0, client.counters().pingTimeouts() + server.counters().pingTimeouts());
        }
    }

    @Test
    void quietButAliveTunnel_isKeptOpenByPings() throws Exception {
        try (TcpTarget echo = closeLater(TcpTarget.echo())) {
            TunnelServer server = server(echo, b -> b.keepalive(Duration.ofMillis(50), Duration.ofMillis(200)));
            TunnelClient client = client(ws(server), b -> b.keepalive(Duration.ofMillis(50), Duration.ofMillis(200)));
            try (Socket s = connect(client.port())) {
                s.getOutputStream().write('a');
                assertEquals('a', s.getInputStream().read());
                Thread.sleep(1000); // quiet for five ping timeouts: only Pings and Pongs go by
                s.getOutputStream().write('b');
                assertEquals('b', s.getInputStream().read());
            }
            assertEquals(0, client.counters().pingTimeouts() + server.counters().pingTimeouts());
        }
    }

    @Test
    void serverDown_newConnectionWaitsWithBackoff_andGoesThroughOnceItIsUp() throws Exception {
        int port = Websockify.freePort();
        try (TcpTarget echo = closeLater(TcpTarget.echo())) {
            TunnelClient client = client("ws://127.0.0.1:" + port + "/", b -> b.backoff(Duration.ofMillis(20), Duration.ofMillis(200))
                    .reconnectTimeout(Duration.ofSeconds(60)));
            try (Socket s = connect(client.port())) {
                s.getOutputStream().write("waiting".getBytes(StandardCharsets.US_ASCII));
                await("several attempts failed", () -> client.counters().dialFailures() >= 3, client.counters());
                TunnelServerOptions o = TunnelServerOptions.builder().allow(echo.hostPort()).build();
                closeLater(TunnelServer.start(manager, "127.0.0.1:" + port, quickStop(), o)); // the server comes (back)
                assertEquals("waiting", new String(s.getInputStream().readNBytes(7), StandardCharsets.US_ASCII));
            }
            assertTrue(client.counters().dialAttempts() == client.counters().dialFailures() + 1, client.counters().toString());
            long before = client.counters().dialAttempts();
            assertArrayEquals("next".getBytes(StandardCharsets.US_ASCII), exchange(client.port(), "next".getBytes(StandardCharsets.US_ASCII)));
            assertEquals(before + 1, client.counters().dialAttempts(), "after a success the backoff is cleared: one attempt");
        }
    }

    @Test
    void serverDown_localConnectionDroppedAfterTheReconnectTimeout() throws Exception {
        int port = Websockify.freePort();
        TunnelClient client = client("ws://127.0.0.1:" + port + "/", b -> b.backoff(Duration.ofMillis(10), Duration.ofMillis(50))
                .reconnectTimeout(Duration.ofMillis(300)));
        try (Socket s = connect(client.port())) {
            assertEquals("reset", ending(s));
        }
        assertEquals(1, client.counters().connectionsFailed());
        assertTrue(client.counters().dialFailures() >= 1, client.counters().toString());
    }

    @Test
    void backoff_doublesFromTheInitialDelayUpToTheCap_withJitterInTheUpperHalf() {
        Backoff b = new Backoff(Duration.ofMillis(100), Duration.ofSeconds(5), () -> 0.5);
        assertEquals(TimeUnit.MILLISECONDS.toNanos(50), b.delayNanos(1, 0.0));
        assertEquals(TimeUnit.MILLISECONDS.toNanos(75), b.delayNanos(1, 0.5));
        assertEquals(TimeUnit.MILLISECONDS.toNanos(100), b.delayNanos(2, 0.0));
        assertEquals(TimeUnit.MILLISECONDS.toNanos(800), b.delayNanos(5, 0.0), "1600 ms, the lower half of its jitter");
        assertEquals(TimeUnit.MILLISECONDS.toNanos(2500), b.delayNanos(7, 0.0), "capped at 5 s");
        assertEquals(TimeUnit.MILLISECONDS.toNanos(2500), b.delayNanos(1_000_000, 0.0), "no overflow");
        long now = 1_000_000_000L;
        assertEquals(0, b.waitNanos(now));
        assertEquals(TimeUnit.MILLISECONDS.toNanos(75), b.failed(now));
        assertEquals(TimeUnit.MILLISECONDS.toNanos(150), b.failed(now));
        assertEquals(2, b.failures());
        b.succeeded();
        assertEquals(0, b.waitNanos(now));
        assertEquals(0, b.failures());
    }
}
