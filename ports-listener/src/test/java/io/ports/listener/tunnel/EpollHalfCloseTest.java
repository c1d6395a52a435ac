package io.ports.listener.tunnel;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.channel.socket.DuplexChannel;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.InputStream;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Netty 4.2.18's epoll fault that {@link EpollHalfClose} works around, on a plain epoll channel (no
 * tunnel): the peer half-closes, then the channel writes 8 MiB to that peer, which reads slowly. On
 * plain Netty the first write that has to wait for the socket fails ({@code epoll_ctl(MOD)}:
 * {@code ENOENT}) and the peer sees a clean end of stream early; with the workaround every byte
 * arrives. And the cost of the workaround: a half-closed channel left idle does not keep its event loop
 * busy.
 */
class EpollHalfCloseTest {
    private static final int TOTAL = 8 << 20;
    private static final int CHUNK = 256 << 10;
    private static final long DEADLINE_MS = 30_000;

    private static MultiThreadIoEventLoopGroup group;

    @BeforeAll
    static void epoll() {
        if (!Epoll.isAvailable()) {
            String why = "epoll is not available here: " + Epoll.unavailabilityCause();
            if ("true".equalsIgnoreCase(System.getenv("CI"))) {
                fail(why + " (CI=true: the test must run there)");
            }
            assumeTrue(false, why);
        }
        group = new MultiThreadIoEventLoopGroup(1, EpollIoHandler.newFactory());
    }

    @AfterAll
    static void stop() {
        if (group != null) {
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly(10, TimeUnit.SECONDS);
        }
    }

    @Test
    void halfClosedChannel_deliversEverythingToASlowReader_withTheWorkaround() throws Exception {
        Result r = writeAfterPeerHalfClose(EpollHalfClose::apply);
        assertNull(r.writeFailure, "a write failed: " + r);
        assertEquals(TOTAL, r.received, "bytes the slow reader got before the end of stream: " + r);
        assertTrue(r.intact, "the bytes are the ones written, in order: " + r);
    }

    /**
     * The fault itself, on Netty as it is: when this fails, Netty no longer loses the data and
     * {@link EpollHalfClose} can go.
     */
    @Test
    void halfClosedChannel_losesTheTailOfItsOutput_onPlainNetty() throws Exception {
        Result r = writeAfterPeerHalfClose(ch -> { });
        assertTrue(r.received < TOTAL && r.writeFailure != null,
                "Netty's epoll transport no longer loses the output of a half-closed channel (EpollHalfClose is not needed): " + r);
        assertTrue(causes(r.writeFailure).contains("No such file or directory"), "the failure is epoll_ctl's ENOENT: " + causes(r.writeFailure));
    }

    @Test
    void halfClosedChannel_leftIdle_doesNotKeepItsLoopBusy() throws Exception {
        assertIdleLoopCpu(false);
    }

    @Test
    void channelWithBothDirectionsShut_leftIdle_doesNotKeepItsLoopBusy() throws Exception {
        assertIdleLoopCpu(true);
    }

    /**
     * A half-closed channel whose peer then resets: the socket reports {@code EPOLLHUP} on every wait and
     * Netty, with nothing to write and its input ended, does nothing about it; the workaround's check
     * closes the channel, so the loop is not kept busy beyond the check's period.
     */
    @Test
    void halfClosedChannel_resetByItsPeer_isClosedWithoutKeepingItsLoopBusy() throws Exception {
        ThreadMXBean threads = ManagementFactory.getThreadMXBean();
        assumeTrue(threads.isThreadCpuTimeSupported(), "no thread CPU time on this JVM");
        threads.setThreadCpuTimeEnabled(true);
        try (ServerSocket server = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            server.setSoTimeout(10_000);
            CompletableFuture<Void> halfClosed = new CompletableFuture<>();
            Channel ch = connect(server, EpollHalfClose::apply, new ChannelInboundHandlerAdapter() {
                @Override
                public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
                    if (evt instanceof ChannelInputShutdownEvent) {
                        ctx.channel().config().setAutoRead(false);
                        halfClosed.complete(null);
                    }
                }

                @Override
                public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
                    ctx.close();
                }
            });
            try {
                long loopThread = ch.eventLoop().submit(() -> Thread.currentThread().getId()).get(5, TimeUnit.SECONDS);
                try (Socket peer = server.accept()) {
                    peer.shutdownOutput();
                    halfClosed.get(5, TimeUnit.SECONDS);
                    Thread.sleep(100);
                    peer.setSoLinger(true, 0); // the reset
                }
                long cpu0 = threads.getThreadCpuTime(loopThread);
                long t0 = System.nanoTime();
                Thread.sleep(1_000);
                long cpu = threads.getThreadCpuTime(loopThread) - cpu0;
                long wall = System.nanoTime() - t0;
                System.out.printf("EpollHalfCloseTest: half-closed then reset, loop CPU %.1f ms in %.1f ms, channel %s%n", cpu / 1e6, wall / 1e6,
                        ch.isOpen() ? "open" : "closed");
                assertTrue(!ch.isOpen(), "the reset channel was closed");
                assertTrue(cpu < wall / 4, "the event loop thread took " + cpu / 1_000_000 + " ms of CPU in " + wall / 1_000_000
                        + " ms after the reset of a half-closed channel: woken without end");
            } finally {
                ch.close().awaitUninterruptibly(5, TimeUnit.SECONDS);
            }
        }
    }

    // --------------------------------------------------------------------------------------------

    private static final class Result {
        volatile long received;
        volatile boolean intact = true;
        volatile Throwable writeFailure;

        @Override
        public String toString() {
            return "received " + received + " of " + TOTAL + ", intact " + intact + ", write failure " + writeFailure;
        }
    }

    /**
     * The peer (a blocking socket) sends its FIN at once; the Netty channel (ALLOW_HALF_CLOSURE, epoll)
     * sees its input end and then writes {@code TOTAL} bytes one chunk at a time, each after the
     * previous one was written whole (so its interest set drops to none in between); the peer reads
     * them slowly until the end of stream or the deadline.
     */
    private static Result writeAfterPeerHalfClose(Consumer<Channel> workaround) throws Exception {
        Result r = new Result();
        try (ServerSocket server = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            server.setSoTimeout(10_000);
            CompletableFuture<Void> done = new CompletableFuture<>();
            Channel ch = connect(server, workaround, new ChannelInboundHandlerAdapter() {
                @Override
                public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
                    if (evt instanceof ChannelInputShutdownEvent) {
                        writeFrom(ctx.channel(), 0, r, done);
                    }
                }
            });
            try (Socket peer = server.accept()) {
                peer.setReceiveBufferSize(64 << 10);
                peer.shutdownOutput(); // the half-close
                peer.setSoTimeout(5_000);
                long deadline = System.currentTimeMillis() + DEADLINE_MS;
                InputStream in = peer.getInputStream();
                byte[] buf = new byte[32 << 10];
                long received = 0;
                Thread.sleep(100); // let the first writes fill the socket
                try {
                    for (int reads = 0; reads < 100_000 && System.currentTimeMillis() < deadline; reads++) {
                        int n = in.read(buf);
                        if (n < 0) {
                            break;
                        }
                        for (int i = 0; i < n; i++) {
                            if (buf[i] != pattern(received + i)) {
                                r.intact = false;
                            }
                        }
                        received += n;
                        r.received = received;
                        if (reads % 4 == 0) {
                            Thread.sleep(1); // a slow reader
                        }
                    }
                } catch (SocketTimeoutException | java.net.SocketException e) {
                    r.intact = false; // neither an end of stream nor all the data in time
                }
                done.get(5, TimeUnit.SECONDS);
            } finally {
                ch.close().awaitUninterruptibly(5, TimeUnit.SECONDS);
            }
        }
        return r;
    }

    private static void writeFrom(Channel ch, long offset, Result r, CompletableFuture<Void> done) {
        if (offset >= TOTAL) {
            ((DuplexChannel) ch).shutdownOutput().addListener(f -> done.complete(null));
            return;
        }
        int n = (int) Math.min(CHUNK, TOTAL - offset);
        ByteBuf b = Unpooled.buffer(n);
        for (int i = 0; i < n; i++) {
            b.writeByte(pattern(offset + i));
        }
        ch.writeAndFlush(b).addListener(f -> {
            if (f.isSuccess()) {
                // on the next turn of the loop, after the flush has cleared EPOLLOUT
                ch.eventLoop().execute(() -> writeFrom(ch, offset + n, r, done));
            } else {
                r.writeFailure = f.cause();
                ch.close();
                done.complete(null);
            }
        });
    }

    private static String causes(Throwable t) {
        StringBuilder b = new StringBuilder();
        for (int i = 0; t != null && i < 10; i++, t = t.getCause()) {
            b.append(i == 0 ? "" : " <- ").append(t);
        }
        return b.toString();
    }

    private static byte pattern(long i) {
        return (byte) (i * 31 + (i >>> 11));
    }

    private static Channel connect(ServerSocket server, Consumer<Channel> workaround, ChannelInboundHandlerAdapter handler) {
        return new Bootstrap().group(group).channel(EpollSocketChannel.class)
                .option(ChannelOption.ALLOW_HALF_CLOSURE, true)
                .option(ChannelOption.SO_SNDBUF, 64 << 10)
                .handler(new ChannelInboundHandlerAdapter() {
                    @Override
                    public void channelActive(ChannelHandlerContext ctx) {
                        workaround.accept(ctx.channel());
                        ctx.pipeline().replace(this, "test", handler);
                        ctx.fireChannelActive();
                    }
                })
                .connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), server.getLocalPort()))
                .syncUninterruptibly().channel();
    }

    /**
     * With the workaround, leaves a channel whose peer half-closed (and, if {@code bothShut}, whose own
     * output is shut down too) open for a second with autoRead off, and measures the CPU time its
     * event loop thread took meanwhile: a loop woken without end (level-triggered {@code EPOLLHUP}
     * ignored by Netty) takes most of the second, an idle one next to nothing. Generous bound: a
     * fault detector, not a timing measurement.
     */
    private static void assertIdleLoopCpu(boolean bothShut) throws Exception {
        ThreadMXBean threads = ManagementFactory.getThreadMXBean();
        assumeTrue(threads.isThreadCpuTimeSupported(), "no thread CPU time on this JVM");
        threads.setThreadCpuTimeEnabled(true);
        try (ServerSocket server = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            server.setSoTimeout(10_000);
            CompletableFuture<Void> halfClosed = new CompletableFuture<>();
            Channel ch = connect(server, EpollHalfClose::apply, new ChannelInboundHandlerAdapter() {
                @Override
                public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
                    if (evt instanceof ChannelInputShutdownEvent) {
                        ctx.channel().config().setAutoRead(false);
                        if (bothShut) {
                            ((DuplexChannel) ctx.channel()).shutdownOutput().addListener(f -> halfClosed.complete(null));
                        } else {
                            halfClosed.complete(null);
                        }
                    }
                }
            });
            try (Socket peer = server.accept()) {
                peer.shutdownOutput();
                halfClosed.get(5, TimeUnit.SECONDS);
                long loopThread = ch.eventLoop().submit(() -> Thread.currentThread().getId()).get(5, TimeUnit.SECONDS);
                Thread.sleep(100);
                long cpu0 = threads.getThreadCpuTime(loopThread);
                long t0 = System.nanoTime();
                Thread.sleep(1_000);
                long cpu = threads.getThreadCpuTime(loopThread) - cpu0;
                long wall = System.nanoTime() - t0;
                assertTrue(ch.isOpen(), "the channel stayed open");
                System.out.printf("EpollHalfCloseTest: %s, loop CPU %.1f ms in %.1f ms%n", bothShut ? "both directions shut" : "half-closed",
                        cpu / 1e6, wall / 1e6);
                assertTrue(cpu < wall / 4, "the event loop thread took " + cpu / 1_000_000 + " ms of CPU in " + wall / 1_000_000
                        + " ms with an idle " + (bothShut ? "fully shut" : "half-closed") + " channel: woken without end");
            } finally {
                ch.close().awaitUninterruptibly(5, TimeUnit.SECONDS);
            }
        }
    }
}
