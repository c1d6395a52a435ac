package io.ports.listener.tunnel;

import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelPromise;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.QueryStringDecoder;
import io.netty.handler.codec.http.websocketx.WebSocketFrameDecoder;
import io.netty.handler.codec.http.websocketx.WebSocketServerHandshaker;
import io.netty.handler.codec.http.websocketx.WebSocketServerHandshakerFactory;
import io.netty.handler.ssl.SslHandshakeCompletionEvent;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.ScheduledFuture;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The first handler of an accepted tunnel connection: checks the upgrade request (path, token,
 * subprotocol, target) before anything else, connects the target, and only then answers 101 and
 * hands the channel to a {@link Bridge}. Every refusal is an HTTP answer followed by a close.
 */
final class ServerUpgradeHandler extends ChannelInboundHandlerAdapter {
    private static final Logger log = LoggerFactory.getLogger(ServerUpgradeHandler.class);

    private final TunnelServer server;
    private ScheduledFuture<?> timeout;
    private boolean requested;

    ServerUpgradeHandler(TunnelServer server) {
        this.server = server;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        long ms = server.options().handshakeTimeout().toMillis();
        timeout = ctx.executor().schedule(() -> {
            if (!requested && ctx.channel().isActive()) {
                log.debug("{}: no complete upgrade request within {} ms: closing", ctx.channel().remoteAddress(), ms);
                ctx.close();
            }
        }, ms, TimeUnit.MILLISECONDS);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        timeout.cancel(false);
        ctx.fireChannelInactive();
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        if (evt instanceof SslHandshakeCompletionEvent && !((SslHandshakeCompletionEvent) evt).isSuccess()) {
            log.debug("{}: TLS handshake failed: {}", ctx.channel().remoteAddress(), ((SslHandshakeCompletionEvent) evt).cause().toString());
        }
        ReferenceCountUtil.release(evt);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        log.debug("{}: {}", ctx.channel().remoteAddress(), cause.toString());
        ctx.close();
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (!(msg instanceof FullHttpRequest) || requested) {
            ReferenceCountUtil.release(msg);
            return;
        }
        requested = true;
        timeout.cancel(false);
        FullHttpRequest req = (FullHttpRequest) msg;
        boolean handedOver = false;
        try {
            handedOver = upgrade(ctx, req);
        } finally {
            if (!handedOver) {
                req.release();
            }
        }
    }

    /** @return whether the request was handed to the asynchronous part, which releases it */
    private boolean upgrade(ChannelHandlerContext ctx, FullHttpRequest req) {
        TunnelServerOptions o = server.options();
        Channel ch = ctx.channel();
        if (!req.decoderResult().isSuccess()) {
            return refuse(ctx, HttpResponseStatus.BAD_REQUEST, "malformed request", "a malformed request: " + req.decoderResult().cause());
        }
        QueryStringDecoder q = new QueryStringDecoder(req.uri());
        if (!q.path().equals(o.path())) {
            return refuse(ctx, HttpResponseStatus.NOT_FOUND, "not found", "a request for " + q.path() + " (the tunnel is at " + o.path() + ")");
        }
        if (!"websocket".equalsIgnoreCase(req.headers().get(HttpHeaderNames.UPGRADE, ""))) {
            FullHttpResponse r = response(HttpResponseStatus.UPGRADE_REQUIRED, "WebSocket upgrade required");
            r.headers().set(HttpHeaderNames.UPGRADE, "websocket").set(HttpHeaderNames.SEC_WEBSOCKET_VERSION, "13");
            return refuse(ctx, r, "a request without Upgrade: websocket");
        }
        if (!HttpMethod.GET.equals(req.method())) {
            return refuse(ctx, HttpResponseStatus.METHOD_NOT_ALLOWED, "method not allowed", "an upgrade with method " + req.method());
        }
        if (o.requiresToken() && !server.tokenAccepted(req.headers().get(HttpHeaderNames.AUTHORIZATION))) {
            FullHttpResponse r = response(HttpResponseStatus.UNAUTHORIZED, "bearer token missing or not accepted");
            r.headers().set(HttpHeaderNames.WWW_AUTHENTICATE, "Bearer realm=\"ports-tunnel\"");
            return refuse(ctx, r, req.headers().contains(HttpHeaderNames.AUTHORIZATION) ? "a wrong bearer token" : "no bearer token");
        }
        List<String> offered = subprotocols(req);
        if (!offered.isEmpty() && !offered.contains(TunnelServer.SUBPROTOCOL)) {
            return refuse(ctx, HttpResponseStatus.BAD_REQUEST, "unsupported subprotocol: this tunnel speaks binary",
                    "subprotocols " + offered + " without binary");
        }
        if (!req.headers().contains(HttpHeaderNames.SEC_WEBSOCKET_KEY)) {
            return refuse(ctx, HttpResponseStatus.BAD_REQUEST, "Sec-WebSocket-Key missing", "an upgrade without Sec-WebSocket-Key");
        }
        TunnelTarget target;
        List<String> asked = q.parameters().get("target");
        if (asked != null && !asked.isEmpty()) {
            try {
                target = TunnelTarget.parse(asked.get(0));
            } catch (IllegalArgumentException e) {
                return refuse(ctx, HttpResponseStatus.BAD_REQUEST, "target must be host:port", "target '" + asked.get(0) + "' (" + e.getMessage() + ")");
            }
            if (!o.targets().contains(target)) {
                return refuse(ctx, HttpResponseStatus.FORBIDDEN, "target not allowed", "target " + target + ", which is not in the allow-list " + o.targets());
            }
        } else if (o.defaultTarget() != null) {
            target = o.defaultTarget();
        } else {
            return refuse(ctx, HttpResponseStatus.BAD_REQUEST, "no target: add ?target=host:port", "no target (there is no default target)");
        }
        WebSocketServerHandshaker handshaker = server.handshakerFactory().newHandshaker(req);
        if (handshaker == null) {
            server.counters().rejected();
            log.debug("{}: refused WebSocket version {}", ch.remoteAddress(), req.headers().get(HttpHeaderNames.SEC_WEBSOCKET_VERSION));
            WebSocketServerHandshakerFactory.sendUnsupportedVersionResponse(ch).addListener(ChannelFutureListener.CLOSE);
            return false;
        }

        ch.config().setAutoRead(false); // nothing more is read until the target is there
        server.connect(target, ch.eventLoop()).whenComplete((tcp, error) -> {
            if (!ch.eventLoop().inEventLoop()) {
                ch.eventLoop().execute(() -> connected(ctx, req, handshaker, target, tcp, error));
            } else {
                connected(ctx, req, handshaker, target, tcp, error);
            }
        });
        return true;
    }

    private void connected(ChannelHandlerContext ctx, FullHttpRequest req, WebSocketServerHandshaker handshaker, TunnelTarget target,
                           Channel tcp, Throwable error) {
        Channel ch = ctx.channel();
        try {
            if (error != null) {
                server.counters().failed();
                log.info("tunnel {} -> {}: cannot reach the target: {}", ch.remoteAddress(), target, message(error));
                if (ch.isActive()) {
                    ctx.writeAndFlush(response(HttpResponseStatus.BAD_GATEWAY, "target unreachable")).addListener(ChannelFutureListener.CLOSE);
                }
                return;
            }
            if (!ch.isActive()) {
                tcp.close();
                return;
            }
            ChannelPromise done = ch.newPromise();
            try {
                handshaker.handshake(ch, req, null, done);
                // before anything more is read (autoRead is off, and this is the event loop): the tunnel's decoder
                // forwards payload slices instead of copying whole frames
                if (ch.pipeline().get(WebSocketFrameDecoder.class) != null) {
                    TunnelServerOptions o = server.options();
                    ch.pipeline().replace(WebSocketFrameDecoder.class, "wsdecoder",
                            new TunnelFrameDecoder(true, o.maxFramePayload(), o.maxMessageSize()));
                }
            } catch (RuntimeException e) {
                tcp.close();
                refuse(ctx, HttpResponseStatus.BAD_REQUEST, "invalid WebSocket upgrade", "an invalid upgrade: " + e.getMessage());
                return;
            }
            done.addListener(f -> {
                if (!f.isSuccess()) {
                    tcp.close();
                    ch.close();
                    return;
                }
                ctx.pipeline().remove(this);
                String label = "tunnel " + ch.remoteAddress() + " -> " + target;
                new Bridge(ch, tcp, server.bridgeConfig(), server.counters(), server.bridges(), label, "target").start();
            });
        } finally {
            req.release();
        }
    }

    private static String message(Throwable t) {
        Throwable c = t instanceof java.util.concurrent.CompletionException && t.getCause() != null ? t.getCause() : t;
        return c.getMessage() != null ? c.getMessage() : c.toString();
    }

    private static List<String> subprotocols(FullHttpRequest req) {
        List<String> out = new ArrayList<>();
        for (String h : req.headers().getAll(HttpHeaderNames.SEC_WEBSOCKET_PROTOCOL)) {
            for (String p : h.split(",")) {
                if (!p.isBlank()) {
                    out.add(p.strip());
                }
            }
        }
        return out;
    }

    private boolean refuse(ChannelHandlerContext ctx, HttpResponseStatus status, String body, String why) {
        return refuse(ctx, response(status, body), why);
    }

    private boolean refuse(ChannelHandlerContext ctx, FullHttpResponse r, String why) {
        server.counters().rejected();
        log.debug("{}: refused with {}: {}", ctx.channel().remoteAddress(), r.status().code(), why);
        ctx.writeAndFlush(r).addListener(ChannelFutureListener.CLOSE);
        return false;
    }

    private static FullHttpResponse response(HttpResponseStatus status, String body) {
        FullHttpResponse r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status,
                Unpooled.copiedBuffer(body + "\n", StandardCharsets.UTF_8));
        r.headers().set(HttpHeaderNames.CONTENT_TYPE, "text/plain; charset=utf-8")
                .setInt(HttpHeaderNames.CONTENT_LENGTH, r.content().readableBytes())
                .set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
        return r;
    }
}
