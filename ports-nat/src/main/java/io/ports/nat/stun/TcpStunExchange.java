package io.ports.nat.stun;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.util.concurrent.ScheduledFuture;
import io.ports.core.EventLoops;
import io.ports.nat.NatTimeoutException;
import io.ports.nat.NatTraversalException;
import io.ports.nat.internal.NatUtil;

import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.Arrays;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * One STUN Binding over TCP (RFC 8489 section 6.2.2): connect (from a chosen local port when asked,
 * with SO_REUSEADDR), send once, frame the response by its header length, give up after the
 * transaction timeout Ti (39.5 s by default). A response that does not decode fails at once: on a
 * stream there is no way to resynchronise.
 */
final class TcpStunExchange {
    private TcpStunExchange() {
    }

    static CompletableFuture<UdpStunSession.Response> run(EventLoops loops, InetSocketAddress server, InetSocketAddress local,
                                                         Duration timeout, boolean fingerprint) {
        CompletableFuture<UdpStunSession.Response> result = new CompletableFuture<>();
        byte[] tid = new byte[12];
        StunClient.RANDOM.nextBytes(tid);
        byte[] request = StunMessage.bindingRequest(tid, 0, fingerprint);
        long started = System.nanoTime();
        String[] what = {"STUN Binding request to " + NatUtil.format(server) + " over TCP"};
        Bootstrap b = new Bootstrap().group(loops.next()).channel(loops.socketChannelClass())
                .option(ChannelOption.SO_REUSEADDR, true)
                .option(ChannelOption.TCP_NODELAY, true)
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) Math.min(Integer.MAX_VALUE, Math.max(1, timeout.toMillis())))
                .handler(new ChannelInboundHandlerAdapter() {
                    private ByteBuf buffer = Unpooled.buffer(64);

                    @Override
                    public void channelRead(ChannelHandlerContext ctx, Object msg) {
                        ByteBuf in = (ByteBuf) msg;
                        try {
                            buffer.writeBytes(in);
                        } finally {
                            in.release();
                        }
                        if (buffer.readableBytes() < 4) {
                            return;
                        }
                        byte[] head = new byte[4];
                        buffer.getBytes(buffer.readerIndex(), head);
                        int frame = StunMessage.frameLength(head);
                        if (frame < 0) {
                            fail(new NatTraversalException(what[0] + ": the server answered something that is not STUN (first bytes "
                                    + io.netty.buffer.ByteBufUtil.hexDump(head) + "); is it a STUN server?"));
                            return;
                        }
                        if (frame > 65_555) {
                            fail(new NatTraversalException(what[0] + ": response of " + frame + " bytes, more than a STUN message can hold"));
                            return;
                        }
                        if (buffer.readableBytes() < frame) {
                            return;
                        }
                        byte[] data = new byte[frame];
                        buffer.readBytes(data);
                        try {
                            StunMessage m = StunMessage.decode(data);
                            if (!Arrays.equals(m.transactionId, tid)) {
                                fail(new NatTraversalException(what[0] + ": the response carries another transaction id"));
                                return;
                            }
                            if (!m.isSuccess() && !m.isError()) {
                                fail(new NatTraversalException(what[0] + ": unexpected " + m.describe()));
                                return;
                            }
                            result.complete(new UdpStunSession.Response(m, server, (InetSocketAddress) ctx.channel().localAddress(), 1,
                                    System.nanoTime() - started));
                            ctx.close();
                        } catch (StunMessage.MalformedException e) {
                            fail(new NatTraversalException(what[0] + ": malformed response: " + e.getMessage()));
                        }
                    }

                    @Override
                    public void channelInactive(ChannelHandlerContext ctx) {
                        buffer.release();
                        buffer = Unpooled.EMPTY_BUFFER;
                        if (!result.isDone()) {
                            result.completeExceptionally(new NatTraversalException(what[0] + ": the server closed the connection without answering"));
                        }
                    }

                    @Override
                    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
                        fail(new NatTraversalException(what[0] + ": " + NatUtil.describe(cause), cause));
                    }

                    private void fail(Throwable t) {
                        result.completeExceptionally(t);
                        // the caller's close below releases the channel
                    }
                });
        ChannelFuture connect = local != null ? b.connect(server, local) : b.connect(server);
        Channel ch = connect.channel();
        connect.addListener(f -> {
            if (!f.isSuccess()) {
                Throwable c = f.cause();
                Duration elapsed = Duration.ofNanos(System.nanoTime() - started);
                String why = c instanceof ConnectException && String.valueOf(c.getMessage()).toLowerCase().contains("refused")
                        ? "connection refused: nothing listens on TCP " + NatUtil.format(server)
                        : NatUtil.describe(c);
                result.completeExceptionally(new NatTimeoutException(what[0] + (local != null ? " from " + NatUtil.format(local) : "")
                        + ": " + why + "; check the server address and port, or configure another server", 1, elapsed, c));
                return;
            }
            what[0] = what[0] + " from " + NatUtil.format((InetSocketAddress) ch.localAddress());
            ch.writeAndFlush(Unpooled.wrappedBuffer(request));
        });
        ScheduledFuture<?> timer = ch.eventLoop().schedule(() -> {
            Duration elapsed = Duration.ofNanos(System.nanoTime() - started);
            result.completeExceptionally(new NatTimeoutException(what[0] + ": no answer within " + NatUtil.format(timeout)
                    + " (the TCP transaction timeout Ti); check that the server speaks STUN over TCP", 1, elapsed));
        }, timeout.toNanos(), TimeUnit.NANOSECONDS);
        result.whenComplete((r, t) -> {
            timer.cancel(false);
            ch.close();
        });
        return result;
    }
}
