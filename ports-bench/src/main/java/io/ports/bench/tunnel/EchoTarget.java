package io.ports.bench.tunnel;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.ports.core.EventLoops;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The TCP echo server at the end of all three paths (tunnel, websockify, direct): a plain Netty
 * {@link ServerBootstrap} on its own one-thread {@link EventLoops} (best transport), bound to
 * 127.0.0.1, {@code TCP_NODELAY}. Every buffer read is written back; the writes of one read burst
 * are flushed together. It stops reading while its write buffer is over the high water mark, so a
 * client that does not read cannot make it buffer without bound. An end of stream closes the
 * connection (after what was written). Counts connections and bytes.
 */
final class EchoTarget implements AutoCloseable {
    static final InetAddress LOOPBACK = InetAddress.getLoopbackAddress();

    private final EventLoops loops;
    private final Channel server;
    final AtomicLong accepted = new AtomicLong();
    final AtomicLong bytes = new AtomicLong();

    private EchoTarget(EventLoops loops) {
        this.loops = loops;
        ChannelHandler echo = new Echo();
        try {
            server = new ServerBootstrap().group(loops.group()).channel(loops.serverSocketChannelClass())
                    .option(ChannelOption.SO_BACKLOG, 1024)
                    .option(ChannelOption.SO_REUSEADDR, true)
                    .childOption(ChannelOption.TCP_NODELAY, true)
                    .childHandler(echo)
                    .bind(LOOPBACK, 0).syncUninterruptibly().channel();
        } catch (RuntimeException e) {
            loops.close();
            throw e;
        }
    }

    static EchoTarget start() {
        return new EchoTarget(EventLoops.builder().threads(1).threadNamePrefix("echo").build());
    }

    int port() {
        return ((InetSocketAddress) server.localAddress()).getPort();
    }

    InetSocketAddress address() {
        return new InetSocketAddress(LOOPBACK, port());
    }

    String hostPort() {
        return LOOPBACK.getHostAddress() + ":" + port();
    }

    EventLoops loops() {
        return loops;
    }

    @Override
    public void close() {
        try {
            server.close().awaitUninterruptibly(5_000);
        } finally {
            loops.close(); // and every connection still open
        }
    }

    @ChannelHandler.Sharable
    private final class Echo extends ChannelInboundHandlerAdapter {
        @Override
        public void channelActive(ChannelHandlerContext ctx) {
            accepted.incrementAndGet();
            ctx.fireChannelActive();
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            bytes.addAndGet(((ByteBuf) msg).readableBytes());
            ctx.write(msg, ctx.voidPromise());
            if (!ctx.channel().isWritable()) {
                ctx.channel().config().setAutoRead(false);
            }
        }

        @Override
        public void channelReadComplete(ChannelHandlerContext ctx) {
            ctx.flush();
        }

        @Override
        public void channelWritabilityChanged(ChannelHandlerContext ctx) {
            if (ctx.channel().isWritable()) {
                ctx.channel().config().setAutoRead(true);
            }
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            ctx.close(); // a reset by a client: no log line per connection
        }
    }
}
