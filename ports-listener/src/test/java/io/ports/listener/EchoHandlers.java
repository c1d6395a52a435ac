package io.ports.listener;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.socket.DatagramPacket;

/** Pipelines the tests listen with. */
final class EchoHandlers {
    private EchoHandlers() {
    }

    /** Echoes every byte back (TCP and Unix). */
    @ChannelHandler.Sharable
    static final class Echo extends ChannelInboundHandlerAdapter {
        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ctx.writeAndFlush(msg);
        }
    }

    /** Echoes every datagram to its sender. */
    @ChannelHandler.Sharable
    static final class UdpEcho extends SimpleChannelInboundHandler<DatagramPacket> {
        @Override
        protected void channelRead0(ChannelHandlerContext ctx, DatagramPacket p) {
            ctx.writeAndFlush(new DatagramPacket(p.content().retain(), p.sender()));
        }
    }

    /** Answers each read after a delay: a request in flight while the listener stops. */
    @ChannelHandler.Sharable
    static final class SlowEcho extends ChannelInboundHandlerAdapter {
        private final long delayMillis;

        SlowEcho(long delayMillis) {
            this.delayMillis = delayMillis;
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ByteBuf b = (ByteBuf) msg;
            ctx.executor().schedule(() -> ctx.writeAndFlush(b), delayMillis, java.util.concurrent.TimeUnit.MILLISECONDS);
        }
    }
}
