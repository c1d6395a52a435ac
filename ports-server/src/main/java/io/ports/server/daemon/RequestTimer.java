package io.ports.server.daemon;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.util.concurrent.ScheduledFuture;

import java.util.concurrent.TimeUnit;

/**
 * First in the pipeline: starts a timer at the first byte of a request; {@link HttpHandler} stops it when
 * the whole request has arrived. A request still incomplete when it fires (a client trickling its
 * headers or body) gets 408 and the connection is closed. Not shared: one per connection.
 */
final class RequestTimer extends ChannelInboundHandlerAdapter {
    private final long timeoutNanos;
    private final Runnable onTimeout;
    private ScheduledFuture<?> timer;
    private boolean waiting = true;

    RequestTimer(long timeoutNanos, Runnable onTimeout) {
        this.timeoutNanos = timeoutNanos;
        this.onTimeout = onTimeout;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (waiting && timer == null) {
            timer = ctx.executor().schedule(() -> {
                timer = null;
                onTimeout.run();
            }, timeoutNanos, TimeUnit.NANOSECONDS);
        }
        ctx.fireChannelRead(msg);
    }

    /** The request arrived in full: stop the clock until the next one starts. */
    void requestComplete() {
        if (timer != null) {
            timer.cancel(false);
            timer = null;
        }
        waiting = false;
    }

    /** The response went out: the next bytes start a new request. */
    void responseSent() {
        waiting = true;
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        requestComplete();
        ctx.fireChannelInactive();
    }
}
