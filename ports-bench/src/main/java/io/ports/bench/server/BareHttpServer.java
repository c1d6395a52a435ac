package io.ports.bench.server;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.ports.core.EventLoops;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CountDownLatch;

/**
 * The ceiling of the registry daemon's load benchmark ({@code ports-bench/src/main/sh/daemon-load.sh}):
 * a bare Netty HTTP/1.1 server on 127.0.0.1 that answers every request with one fixed JSON body
 * (keep-alive, {@code Content-Length}), on {@link EventLoops} built as the daemon builds its own
 * (same transport, one thread per core), with the pipeline any REST server on Netty needs at least:
 * {@link HttpServerCodec} and {@link HttpObjectAggregator} (64 KiB). No routing, no JSON, no
 * registry, no auth: what is left of the daemon's rate is its own work.
 *
 * <pre>
 * java -cp ports-bench/target/benchmarks.jar io.ports.bench.server.BareHttpServer PORT BODY_FILE
 * </pre>
 * PORT 0 picks a free port. Prints {@code LISTENING <port> <what>} on stdout once bound, then serves until
 * its stdin closes or it is terminated.
 */
public final class BareHttpServer {
    private static final int MAX_CONTENT = 64 * 1024;

    private BareHttpServer() {
    }

    public static void main(String[] args) throws Exception {
        if (args.length != 2) {
            System.err.println("usage: BareHttpServer PORT BODY_FILE (PORT 0 picks a free port; the body is answered to every request)");
            System.exit(2);
        }
        int port;
        try {
            port = Integer.parseInt(args[0]);
            if (port < 0 || port > 65535) {
                throw new NumberFormatException();
            }
        } catch (NumberFormatException e) {
            System.err.println("invalid port '" + args[0] + "': expected 0-65535 (0 picks a free port)");
            System.exit(2);
            return;
        }
        byte[] body;
        try {
            body = Files.readAllBytes(Path.of(args[1]));
        } catch (IOException e) {
            System.err.println("cannot read the body file " + args[1] + ": " + e);
            System.exit(2);
            return;
        }

        try (EventLoops loops = EventLoops.create()) {
            ByteBuf content = Unpooled.unreleasableBuffer(Unpooled.directBuffer(body.length).writeBytes(body).asReadOnly());
            Channel server = new ServerBootstrap().group(loops.group())
                    .channel(loops.serverSocketChannelClass())
                    .option(ChannelOption.SO_BACKLOG, 1024)
                    .option(ChannelOption.SO_REUSEADDR, true)
                    .childOption(ChannelOption.TCP_NODELAY, true)
                    .childHandler(new ChannelInitializer<>() {
                        @Override
                        protected void initChannel(Channel ch) {
                            ch.pipeline().addLast(new HttpServerCodec(), new HttpObjectAggregator(MAX_CONTENT), new FixedBody(content));
                        }
                    })
                    .bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port)).syncUninterruptibly().channel();
            int bound = ((InetSocketAddress) server.localAddress()).getPort();
            System.out.println("LISTENING " + bound + " bare Netty HTTP server, " + loops + ", body " + body.length + " bytes");
            System.out.flush();

            CountDownLatch stdinClosed = new CountDownLatch(1);
            Thread watcher = new Thread(() -> {
                try {
                    while (System.in.read() >= 0) {
                        // discard
                    }
                } catch (IOException e) {
                    // closed
                }
                stdinClosed.countDown();
            }, "stdin-watcher");
            watcher.setDaemon(true);
            watcher.start();
            stdinClosed.await();
            server.close().syncUninterruptibly();
        }
    }

    /** Answers every request with the same body; keeps the connection open unless the client asked to close it. */
    @ChannelHandler.Sharable
    static final class FixedBody extends SimpleChannelInboundHandler<FullHttpRequest> {
        private final ByteBuf content;

        FixedBody(ByteBuf content) {
            this.content = content;
        }

        @Override
        protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest req) {
            FullHttpResponse res = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK, content.duplicate());
            res.headers().set(HttpHeaderNames.CONTENT_TYPE, HttpHeaderValues.APPLICATION_JSON)
                    .setInt(HttpHeaderNames.CONTENT_LENGTH, content.readableBytes());
            boolean keepAlive = HttpUtil.isKeepAlive(req);
            if (keepAlive) {
                ctx.writeAndFlush(res, ctx.voidPromise());
            } else {
                ctx.writeAndFlush(res).addListener(ChannelFutureListener.CLOSE);
            }
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            ctx.close(); // a reset by wrk at the end of a run: no log line per connection
        }
    }
}
