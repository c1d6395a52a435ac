package io.ports.bench.listener;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.socket.nio.NioChannelOption;
import io.netty.channel.unix.UnixChannelOption;
import io.netty.util.ReferenceCountUtil;
import io.ports.core.EventLoops;
import io.ports.listener.Listener;
import io.ports.listener.ListenerManager;
import io.ports.listener.ListenerOptions;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * The two servers the listener benchmarks compare, on the same {@link EventLoops} and with the same
 * child handler: {@code ports} ({@link ListenerManager#start(String, ListenerOptions, ChannelHandler)})
 * and {@code netty} (a plain {@link ServerBootstrap} with the options of {@link ListenerOptions#defaults()}:
 * backlog 1024, {@code SO_REUSEADDR}, {@code TCP_NODELAY} on accepted connections; with
 * {@code SO_REUSEPORT}, as many sockets bound to the one port as ports binds). Both listen on
 * 127.0.0.1 only.
 */
final class BenchServer implements AutoCloseable {
    /** Event loop threads: the reference machine has 2 cores. */
    static final int THREADS = 2;
    static final InetAddress LOOPBACK = InetAddress.getLoopbackAddress();
    static final int TIMEOUT_MILLIS = 10_000;

    private final EventLoops loops;
    private final ListenerManager manager;
    private final Listener listener;
    private final List<Channel> nettyChannels;
    private final int port;
    private final int sockets;

    private BenchServer(EventLoops loops, ListenerManager manager, Listener listener, List<Channel> nettyChannels, int port, int sockets) {
        this.loops = loops;
        this.manager = manager;
        this.listener = listener;
        this.nettyChannels = nettyChannels;
        this.port = port;
        this.sockets = sockets;
    }

    /**
     * Starts {@code server} ("ports" or "netty") on new event loops of {@code transport} with
     * {@link #THREADS} threads. With {@code reusePort}, binds {@link #THREADS} sockets to the port.
     */
    static BenchServer start(String server, String transport, boolean reusePort, ChannelHandler handler) {
        EventLoops.Transport t = EventLoops.Transport.valueOf(transport);
        if (!t.isAvailable()) {
            throw new IllegalStateException("transport " + t + " is not available on this host (" + t.unavailabilityCause()
                    + "); leave it out, for example -p transport=EPOLL,NIO");
        }
        EventLoops loops = EventLoops.builder().transport(t).threads(THREADS).build();
        try {
            BenchServer s;
            switch (server) {
                case "ports": {
                    ListenerOptions options = reusePort
                            ? ListenerOptions.builder().reusePort(true).socketsPerPort(THREADS).build()
                            : ListenerOptions.defaults();
                    ListenerManager manager = new ListenerManager(loops);
                    Listener l = manager.start(LOOPBACK.getHostAddress() + ":0", options, handler);
                    s = new BenchServer(loops, manager, l, List.of(), l.port(), l.socketCount());
                    break;
                }
                case "netty":
                    s = netty(loops, reusePort, handler);
                    break;
                default:
                    throw new IllegalArgumentException("server '" + server + "': expected ports or netty");
            }
            System.out.println("server " + server + ": " + t.name().toLowerCase(Locale.ROOT) + ", " + THREADS + " event loop threads, "
                    + s.sockets + " listening socket(s) on " + LOOPBACK.getHostAddress() + ":" + s.port
                    + (reusePort ? " (SO_REUSEPORT)" : ""));
            return s;
        } catch (RuntimeException e) {
            loops.close();
            throw e;
        }
    }

    private static BenchServer netty(EventLoops loops, boolean reusePort, ChannelHandler handler) {
        ServerBootstrap b = new ServerBootstrap().group(loops.group())
                .channel(loops.serverSocketChannelClass())
                .option(ChannelOption.SO_BACKLOG, 1024)
                .option(ChannelOption.SO_REUSEADDR, true)
                .childOption(ChannelOption.TCP_NODELAY, true)
                .childHandler(handler);
        int count = 1;
        if (reusePort) {
            count = THREADS;
            if (loops.transport() == EventLoops.Transport.NIO) {
                b.option(NioChannelOption.of(StandardSocketOptions.SO_REUSEPORT), true);
            } else {
                b.option(UnixChannelOption.SO_REUSEPORT, true);
            }
        }
        List<Channel> channels = new ArrayList<>();
        try {
            int port = 0;
            for (int i = 0; i < count; i++) {
                Channel ch = b.bind(LOOPBACK, port).syncUninterruptibly().channel();
                channels.add(ch);
                port = ((InetSocketAddress) ch.localAddress()).getPort();
            }
            return new BenchServer(loops, null, null, List.copyOf(channels), port, count);
        } catch (RuntimeException e) {
            channels.forEach(ch -> ch.close().awaitUninterruptibly(TIMEOUT_MILLIS));
            throw e;
        }
    }

    int port() {
        return port;
    }

    InetSocketAddress address() {
        return new InetSocketAddress(LOOPBACK, port);
    }

    /** Stops the listener (open connections are closed at once), then the event loops. */
    @Override
    public void close() {
        try {
            if (listener != null) {
                listener.stop(Duration.ZERO).get(TIMEOUT_MILLIS, TimeUnit.MILLISECONDS);
                manager.close();
            }
            for (Channel ch : nettyChannels) {
                ch.close().awaitUninterruptibly(TIMEOUT_MILLIS);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (ExecutionException | TimeoutException e) {
            System.err.println("listener did not stop: " + e);
        } finally {
            loops.close(); // closes whatever connection is still open
        }
    }

    /** Writes back every buffer it reads: the child handler of {@link TcpListenerBenchmark}. */
    @ChannelHandler.Sharable
    static final class Echo extends ChannelInboundHandlerAdapter {
        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ctx.writeAndFlush(msg);
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            ctx.close(); // a reset by the client: no log line per connection
        }
    }

    /**
     * Sends one byte as soon as a connection is accepted and active, so the client knows the server
     * has it: the child handler of {@link AcceptBenchmark}. Whatever the client sends is dropped.
     */
    @ChannelHandler.Sharable
    static final class Greeter extends ChannelInboundHandlerAdapter {
        static final int GREETING = '+';

        @Override
        public void channelActive(ChannelHandlerContext ctx) {
            ctx.writeAndFlush(ctx.alloc().buffer(1).writeByte(GREETING));
            ctx.fireChannelActive();
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ReferenceCountUtil.release(msg);
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            ctx.close(); // the client closes with a reset (SO_LINGER 0): no log line per connection
        }
    }
}
