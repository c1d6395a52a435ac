package io.ports.listener.tunnel;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.AdaptiveRecvByteBufAllocator;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.ChannelOutboundBuffer;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.channel.socket.DuplexChannel;
import io.netty.handler.codec.http.websocketx.BinaryWebSocketFrame;
import io.netty.handler.codec.http.websocketx.CloseWebSocketFrame;
import io.netty.handler.codec.http.websocketx.ContinuationWebSocketFrame;
import io.netty.handler.codec.http.websocketx.CorruptedWebSocketFrameException;
import io.netty.handler.codec.http.websocketx.PingWebSocketFrame;
import io.netty.handler.codec.http.websocketx.PongWebSocketFrame;
import io.netty.handler.codec.http.websocketx.TextWebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocketFrame;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.ScheduledFuture;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * One tunnelled connection: a WebSocket channel and a TCP channel on the same event loop, each
 * writing what the other reads. All state is confined to that loop.
 *
 * <p>Backpressure: a side stops reading (autoRead off) while the other side's channel is not
 * writable, so each direction holds at most the high water mark plus one read (up to
 * {@link #MAX_READ}). Nothing is queued anywhere else.
 *
 * <p>Half-close: a TCP FIN is carried as a Close frame with 1000. The end that receives it shuts its
 * TCP output down after the data before it, and goes on carrying the other direction until its own
 * TCP side ends; then it answers with its Close and both sides close. An error (a reset, a text
 * frame, a too big message, a dead peer) ends both directions at once: the TCP side is reset
 * (SO_LINGER 0) so that the application sees a broken stream, never a clean end of one.
 *
 * <p>Keepalive: each end sends a Ping every interval whatever it reads, so a peer that pauses
 * reading (backpressure) still proves it is alive. A peer is taken for dead when not one byte came
 * from it for the timeout while this end was reading (bytes, not frames: a big frame on a slow link
 * takes longer than the timeout, with the peer's Pings behind it). The clock stops while this end
 * itself does not read (its TCP side is slow), after the peer's Close ({@link TunnelFrameDecoder}
 * discards what follows a Close), and for the time this end's event loop ran late (a GC pause, a starved host: what the peer
 * sent meanwhile is waiting in the socket, unread).
 */
final class Bridge {
    private static final Logger log = LoggerFactory.getLogger(Bridge.class);

    static final int NORMAL = 1000;
    static final int GOING_AWAY = 1001;
    static final int UNSUPPORTED_DATA = 1003;
    static final int NO_STATUS = 1005;
    static final int INTERNAL_ERROR = 1011;
    /**
     * The largest single read on either side (Netty's adaptive default stops at 64 KiB): in bulk, one
     * read of the TCP side becomes one frame of up to this size (several if the max frame payload is
     * smaller), a quarter of the frames, reads and writes per MiB. Small reads stay small (the buffer
     * adapts down to 64 bytes).
     */
    static final int MAX_READ = 256 << 10;

    private final Channel ws;
    private final Channel tcp;
    private final BridgeConfig config;
    private final TunnelCounters counters;
    private final Set<Bridge> registry;
    private final String label;
    private final String tcpSide;

    // event loop only
    private boolean closeSent;
    private boolean closeReceived;
    private boolean tcpEof;
    private boolean tcpOutputShut;
    private boolean failing;
    private boolean finished;
    private int sentCode = -1;
    private int receivedCode = -1;
    private boolean wsPaused;
    private boolean readSinceTick;
    private long lastInbound;
    private long lastTick;
    private Throwable tcpError;
    private ScheduledFuture<?> keepalive;
    private ScheduledFuture<?> linger;
    private ChannelFuture closeWrite; // our Close frame's write, once sent

    /**
     * @param tcpSide what the TCP side is, for messages: "target" on a server, "local connection" on a client
     */
    Bridge(Channel ws, Channel tcp, BridgeConfig config, TunnelCounters counters, Set<Bridge> registry, String label, String tcpSide) {
        if (ws.eventLoop() != tcp.eventLoop()) {
            throw new IllegalStateException("both channels of a tunnel must share one event loop");
        }
        this.ws = ws;
        this.tcp = tcp;
        this.config = config;
        this.counters = counters;
        this.registry = registry;
        this.label = label;
        this.tcpSide = tcpSide;
    }

    Channel webSocket() {
        return ws;
    }

    Channel tcp() {
        return tcp;
    }

    /** Installs the handlers and starts carrying bytes. On the event loop, after the upgrade. */
    void start() {
        registry.add(this);
        counters.opened();
        ws.config().setWriteBufferWaterMark(config.waterMark());
        tcp.config().setWriteBufferWaterMark(config.waterMark());
        tcp.config().setOption(ChannelOption.ALLOW_HALF_CLOSURE, true);
        ws.config().setRecvByteBufAllocator(new AdaptiveRecvByteBufAllocator(64, 2048, MAX_READ));
        tcp.config().setRecvByteBufAllocator(new AdaptiveRecvByteBufAllocator(64, 2048, MAX_READ));
        EpollHalfClose.apply(tcp); // done already when the channel was made; else on epoll a half-closed TCP side can lose its output's end
        ws.pipeline().addFirst("tunnel-alive", new Inbound());
        ws.pipeline().addLast("tunnel-ws", new WsHandler());
        tcp.pipeline().addLast("tunnel-tcp", new TcpHandler());
        lastInbound = System.nanoTime();
        lastTick = lastInbound;
        long interval = config.pingInterval().toNanos();
        if (interval > 0) {
            // fixed delay: a loop that ran late does not catch up with a burst of ticks (and Pings)
            keepalive = ws.eventLoop().scheduleWithFixedDelay(this::tick, interval, interval, TimeUnit.NANOSECONDS);
        }
        ChannelFutureListener closed = f -> channelClosed();
        ws.closeFuture().addListener(closed);
        tcp.closeFuture().addListener(closed);
        log.debug("{}: open", label);
        HeldInput held = tcp.pipeline().get(HeldInput.class);
        if (held != null) {
            held.replay(); // what the TCP side sent before the upgrade, its end of stream included
        }
        if (!ws.isActive()) {
            wsInactive();
        } else if (!tcp.isActive()) {
            tcpInactive();
        } else {
            ws.config().setAutoRead(true);
            if (!tcpEof) { // epoll refuses to watch a socket whose input already ended (the replay may have seen it)
                tcp.config().setAutoRead(true);
            }
        }
    }

    /** Ends the tunnel because this end stops: Close 1001, then the TCP side is closed after what it was sent. */
    void goingAway() {
        if (!ws.eventLoop().inEventLoop()) {
            ws.eventLoop().execute(this::goingAway);
            return;
        }
        if (finished || failing) {
            return;
        }
        failing = true;
        closeWebSocket(GOING_AWAY, "tunnel stopping");
        closeTcpGracefully();
    }

    // ------------------------------------------------------------------------------ WebSocket side

    /**
     * First in the WebSocket pipeline (before TLS and the frame decoder): any bytes read from the peer
     * prove it alive, also when they are the middle of a frame that takes longer than the ping timeout
     * to arrive (a 1 MiB frame over a slow link), with the peer's Pings queued behind it.
     */
    private final class Inbound extends ChannelInboundHandlerAdapter {
        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            readSinceTick = true;
            ctx.fireChannelRead(msg);
        }
    }

    private final class WsHandler extends ChannelInboundHandlerAdapter {
        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            if (msg instanceof BinaryWebSocketFrame || msg instanceof ContinuationWebSocketFrame) {
                data((WebSocketFrame) msg);
            } else if (msg instanceof PingWebSocketFrame) {
                if (closeSent || failing) {
                    ReferenceCountUtil.release(msg);
                } else {
                    ws.writeAndFlush(new PongWebSocketFrame(((PingWebSocketFrame) msg).content()));
                }
            } else if (msg instanceof CloseWebSocketFrame) {
                CloseWebSocketFrame c = (CloseWebSocketFrame) msg;
                int code = c.statusCode();
                String reason = c.reasonText();
                c.release();
                closeReceived(code < 0 ? NO_STATUS : code, reason);
            } else if (msg instanceof TextWebSocketFrame) {
                ReferenceCountUtil.release(msg);
                fail(UNSUPPORTED_DATA, "text frames are not carried: send binary frames");
            } else {
                ReferenceCountUtil.release(msg); // Pong: its arrival was the point
            }
        }

        @Override
        public void channelReadComplete(ChannelHandlerContext ctx) {
            tcp.flush();
        }

        @Override
        public void channelWritabilityChanged(ChannelHandlerContext ctx) {
            if (ws.isWritable()) {
                if (!tcpEof && !failing) {
                    tcp.config().setAutoRead(true);
                }
            } else {
                tcp.config().setAutoRead(false);
            }
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            if (cause instanceof CorruptedWebSocketFrameException) {
                // the decoder has sent a Close with the status (1002, 1009, ...) and closes the channel
                CorruptedWebSocketFrameException c = (CorruptedWebSocketFrameException) cause;
                log.info("{}: closing with {}: {}", label, c.closeStatus().code(), c.getMessage());
                closeSent = true;
                sentCode = c.closeStatus().code();
                failing = true;
                resetTcp();
            } else {
                log.debug("{}: WebSocket connection failed: {}", label, cause.toString());
                failing = true;
                ws.close();
                resetTcp();
            }
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            wsInactive();
        }
    }

    private void data(WebSocketFrame f) {
        if (failing || closeReceived || tcpOutputShut) {
            f.release();
            return;
        }
        // a piece of a message as TunnelFrameDecoder passes it on (it enforces the frame and message limits)
        ByteBuf data = f.content();
        int n = data.readableBytes();
        if (n == 0) {
            f.release();
            return;
        }
        counters.received(n);
        tcp.write(data, tcp.voidPromise());
        if (!tcp.isWritable()) {
            pauseWebSocket();
        }
    }

    private void closeReceived(int code, String reason) {
        closeReceived = true;
        receivedCode = code;
        if (failing) {
            ws.close(); // the answer to our error or going-away Close
            return;
        }
        if (code == NORMAL || code == NO_STATUS) {
            shutdownTcpOutput(); // the peer's direction is complete: FIN after its data
            if (closeSent) {
                closeWhenOurCloseIsWritten(); // the answer to our Close: both directions are done
                closeTcpGracefully();
            }
            // else the peer half-closed: keep carrying TCP -> WebSocket until our TCP side ends
        } else if (code == GOING_AWAY) {
            log.debug("{}: the peer is going away", label);
            closeWebSocket(GOING_AWAY, "");
            closeTcpGracefully();
        } else {
            log.info("{}: the peer closed the tunnel with {}{}", label, code, reason == null || reason.isEmpty() ? "" : " (" + reason + ")");
            failing = true;
            closeWebSocket(code, "");
            resetTcp();
        }
    }

    private void wsInactive() {
        cancelTimers();
        if (!tcp.isActive()) {
            return;
        }
        if (!failing && closeReceived && (receivedCode == NORMAL || receivedCode == NO_STATUS || receivedCode == GOING_AWAY)) {
            closeTcpGracefully(); // everything the peer sent was delivered
        } else {
            if (!failing && !closeReceived) {
                log.debug("{}: the WebSocket connection dropped without a Close", label);
            }
            resetTcp();
        }
    }

    // ------------------------------------------------------------------------------------ TCP side

    private final class TcpHandler extends ChannelInboundHandlerAdapter {
        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ByteBuf buf = (ByteBuf) msg;
            int n = buf.readableBytes();
            if (closeSent || failing || n == 0) {
                buf.release();
                return;
            }
            counters.sent(n);
            int max = config.maxFramePayload();
            while (buf.readableBytes() > max) {
                ws.write(new OwnedFrame(buf.readRetainedSlice(max)));
            }
            ws.write(new OwnedFrame(buf));
            if (!ws.isWritable()) {
                tcp.config().setAutoRead(false);
            }
        }

        @Override
        public void channelReadComplete(ChannelHandlerContext ctx) {
            ws.flush();
        }

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
            if (evt instanceof ChannelInputShutdownEvent) {
                tcpEof();
            }
            ReferenceCountUtil.release(evt);
        }

        @Override
        public void channelWritabilityChanged(ChannelHandlerContext ctx) {
            if (tcp.isWritable()) {
                resumeWebSocket();
            } else {
                pauseWebSocket();
            }
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            if (tcpError == null) {
                tcpError = cause;
            }
            log.debug("{}: {} failed: {}", label, tcpSide, cause.toString());
            tcp.close();
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            tcpInactive();
        }
    }

    private void tcpEof() {
        tcpEof = true;
        if (failing || closeSent) {
            return;
        }
        if (closeReceived) {
            closeWebSocket(NORMAL, ""); // both directions done: answer and close
            closeTcpGracefully();
        } else {
            sendClose(NORMAL, ""); // half-close: the peer shuts its TCP output and may go on sending
        }
    }

    private void tcpInactive() {
        if (!ws.isActive() || failing) {
            return;
        }
        if (closeSent) {
            closeWhenOurCloseIsWritten(); // our direction was complete; what the peer still sends has nowhere to go
            return;
        }
        if (tcpError == null) {
            // closed without an error and without a prior end-of-stream event: a transport that cannot
            // half-close (io_uring Unix sockets) closes on end of stream. That is an end, not a failure.
            tcpEof = true;
            tcpOutputShut = true; // nothing can be written to it any more
            closeWebSocket(NORMAL, "");
            return;
        }
        String why = tcpError instanceof IOException ? tcpSide + " failed: " + tcpError.getMessage() : tcpSide + " failed: " + tcpError;
        fail(INTERNAL_ERROR, why);
    }

    // --------------------------------------------------------------------------------- both sides

    private void fail(int code, String reason) {
        if (failing) {
            return;
        }
        failing = true;
        log.debug("{}: closing with {}: {}", label, code, reason);
        closeWebSocket(code, reason);
        resetTcp();
    }

    /** Sends our Close (unless sent) and closes; waits up to the close timeout for the peer's Close first. */
    private void closeWebSocket(int code, String reason) {
        if (!ws.isActive()) {
            return;
        }
        ws.config().setAutoRead(true); // read on to find the peer's Close
        if (closeSent) {
            closeWhenOurCloseIsWritten();
            return;
        }
        ChannelFuture f = sendClose(code, reason);
        if (closeReceived) {
            f.addListener(ChannelFutureListener.CLOSE);
        } else {
            long ms = config.closeTimeout().toMillis();
            linger = ws.eventLoop().schedule(() -> {
                ws.close();
            }, ms, TimeUnit.MILLISECONDS);
            if (ms == 0) {
                f.addListener(ChannelFutureListener.CLOSE);
            }
        }
    }

    private ChannelFuture sendClose(int code, String reason) {
        closeSent = true;
        sentCode = code;
        // a reason is at most 123 bytes; ours are short ASCII
        String r = reason.length() > 120 ? reason.substring(0, 120) : reason;
        closeWrite = ws.writeAndFlush(new CloseWebSocketFrame(code, r));
        return closeWrite;
    }

    /**
     * Closes the WebSocket once our Close, and so every frame queued before it, has been written. Closing
     * at once would drop what a slow peer has not taken yet: the end of the stream, and the Close that
     * tells it the stream ended there. A peer that stops taking them (nothing written for a close
     * timeout) is dropped.
     */
    private void closeWhenOurCloseIsWritten() {
        ChannelFuture f = closeWrite;
        if (f == null || f.isDone()) {
            ws.close();
            return;
        }
        f.addListener(ChannelFutureListener.CLOSE);
        long ms = config.closeTimeout().toMillis();
        if (ms > 0 && linger == null) {
            lingerWhileDraining(ms, pendingWsBytes());
        }
    }

    private void lingerWhileDraining(long ms, long before) {
        linger = ws.eventLoop().schedule(() -> {
            long now = pendingWsBytes();
            if (ws.isActive() && now > 0 && now < before) {
                lingerWhileDraining(ms, now); // the peer is still taking our last frames
            } else {
                ws.close();
            }
        }, ms, TimeUnit.MILLISECONDS);
    }

    private long pendingWsBytes() {
        ChannelOutboundBuffer b = ws.unsafe().outboundBuffer();
        return b == null ? 0 : b.totalPendingWriteBytes();
    }

    private void shutdownTcpOutput() {
        if (tcpOutputShut) {
            return;
        }
        tcpOutputShut = true;
        tcp.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(f -> {
            if (tcp.isActive()) {
                if (tcp instanceof DuplexChannel) {
                    ((DuplexChannel) tcp).shutdownOutput();
                } else {
                    tcp.close();
                }
            }
        });
    }

    private void closeTcpGracefully() {
        if (tcp.isActive()) {
            tcp.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
        }
    }

    private void resetTcp() {
        if (tcp.isActive()) {
            try {
                tcp.config().setOption(ChannelOption.SO_LINGER, 0); // RST: the stream is broken, not ended
            } catch (RuntimeException ignored) {
                // not every transport has SO_LINGER (Unix sockets); a plain close then
            }
        }
        tcp.close();
    }

    private void pauseWebSocket() {
        if (!wsPaused) {
            wsPaused = true;
            ws.config().setAutoRead(false);
        }
    }

    private void resumeWebSocket() {
        if (wsPaused) {
            wsPaused = false;
            readSinceTick = true; // the silence while we did not read was ours
            if (!failing) {
                ws.config().setAutoRead(true);
            }
        }
    }

    private void tick() {
        if (finished) {
            cancelTimers();
            return;
        }
        if (failing || !ws.isActive()) {
            return;
        }
        long now = System.nanoTime();
        long late = now - lastTick - config.pingInterval().toNanos();
        lastTick = now;
        if (readSinceTick || wsPaused || closeReceived) {
            readSinceTick = false;
            lastInbound = now;
        } else if (late > 0) {
            // This loop ran the tick late: it was not scheduled, or busy. It did not read in that time
            // either, and what the peer sent may be waiting in the socket, unread: a silence of ours,
            // not of the peer's. Without this, a loaded host drops live peers (the tick can run before
            // the read after a wait).
            lastInbound = Math.min(now, lastInbound + late);
        }
        if (now - lastInbound >= config.pingTimeout().toNanos()) {
            counters.pingTimeout();
            log.info("{}: nothing from the peer for {} ms despite pings every {} ms: dropping it as dead", label,
                    TimeUnit.NANOSECONDS.toMillis(now - lastInbound), config.pingInterval().toMillis());
            failing = true;
            ws.close();
            resetTcp();
            return;
        }
        if (!closeSent) {
            ws.writeAndFlush(new PingWebSocketFrame(Unpooled.EMPTY_BUFFER));
        }
    }

    private void cancelTimers() {
        if (keepalive != null) {
            keepalive.cancel(false);
        }
        if (linger != null) {
            linger.cancel(false);
        }
    }

    private void channelClosed() {
        if (finished || ws.isOpen() || tcp.isOpen()) {
            return;
        }
        finished = true;
        cancelTimers();
        registry.remove(this);
        boolean clean = !failing && closeSent && closeReceived && (sentCode == NORMAL) && (receivedCode == NORMAL || receivedCode == NO_STATUS);
        counters.closed(clean);
        log.debug("{}: closed {} (sent {}, received {})", label, clean ? "cleanly" : "abnormally", sentCode, receivedCode);
    }

    @Override
    public String toString() {
        return label;
    }

    /**
     * A binary frame whose payload is a buffer just read from the TCP side and handed over whole:
     * nothing reads it after the encoder, so the client's {@link ClientFrameEncoder} may mask it in
     * place. To any other encoder it is a plain binary frame.
     */
    static final class OwnedFrame extends BinaryWebSocketFrame {
        OwnedFrame(ByteBuf payload) {
            super(payload);
        }
    }
}
