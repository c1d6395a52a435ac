package io.ports.listener.tunnel;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.util.ReferenceCountUtil;

import java.util.ArrayList;
import java.util.List;

/**
 * Keeps what a TCP channel reads before its tunnel is up, and hands it on once it is. With autoRead
 * off nothing should be read, but a transport may still read once when the peer shuts its output
 * down (io_uring reads on POLLRDHUP), so a client that sends a request and its end of stream before
 * the upgrade is done would otherwise lose both. At most that one read is held.
 */
final class HeldInput extends ChannelInboundHandlerAdapter {
    private final List<Object> held = new ArrayList<>();
    private ChannelHandlerContext ctx;

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        this.ctx = ctx;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        held.add(msg);
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        // replayed with the messages
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        held.add(new Event(evt));
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        held.add(new Failure(cause));
    }

    /** Passes everything held to the next handlers and leaves the pipeline. On the event loop. */
    void replay() {
        boolean read = false;
        for (Object o : held) {
            if (o instanceof Event) {
                if (read) {
                    ctx.fireChannelReadComplete();
                    read = false;
                }
                ctx.fireUserEventTriggered(((Event) o).event);
            } else if (o instanceof Failure) {
                ctx.fireExceptionCaught(((Failure) o).cause);
            } else {
                ctx.fireChannelRead(o);
                read = true;
            }
        }
        if (read) {
            ctx.fireChannelReadComplete();
        }
        held.clear();
        ctx.pipeline().remove(this);
    }

    /** Drops what is held (the tunnel never came). */
    @Override
    public void handlerRemoved(ChannelHandlerContext ctx) {
        for (Object o : held) {
            ReferenceCountUtil.release(o);
        }
        held.clear();
    }

    private record Event(Object event) {
    }

    private record Failure(Throwable cause) {
    }
}
