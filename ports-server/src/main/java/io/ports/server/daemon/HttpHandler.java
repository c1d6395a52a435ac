package io.ports.server.daemon;

import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.DecoderResult;
import io.netty.handler.codec.TooLongFrameException;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpDecoderConfig;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMessage;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.QueryStringDecoder;
import io.netty.handler.codec.http.TooLongHttpHeaderException;
import io.netty.handler.codec.http.TooLongHttpLineException;
import io.netty.handler.timeout.IdleStateEvent;
import io.netty.handler.timeout.IdleStateHandler;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.ArrayDeque;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * One HTTP/1.1 connection: keep-alive, requests answered strictly in order (a pipelined request waits, and
 * the socket is not read, while the one before it is served), then for each request: decoding errors,
 * rate limit, Host check, CORS, routing, the bearer token, the endpoint, the response with its security
 * headers, the request meter and, for mutations, one audit line.
 */
final class HttpHandler extends SimpleChannelInboundHandler<FullHttpRequest> {
    private static final Logger log = LoggerFactory.getLogger(HttpHandler.class);
    private static final Logger audit = LoggerFactory.getLogger("io.ports.audit");
    private static final int MAX_PIPELINED = 16;

    /** What every connection shares. */
    record Shared(DaemonConfig config, Router router, Tokens tokens, RateLimiter limiter, HttpMetrics metrics, Events events,
                  Set<String> allowedHosts, Set<String> corsOrigins) {
    }

    /** The pipeline of each accepted connection. */
    static ChannelInitializer<Channel> initializer(Shared shared) {
        return new ChannelInitializer<>() {
            @Override
            protected void initChannel(Channel ch) {
                HttpHandler handler = new HttpHandler(shared);
                RequestTimer timer = new RequestTimer(shared.config().requestTimeout().toNanos(), () -> handler.timedOut(ch));
                handler.timer = timer;
                ch.pipeline()
                        .addLast("request-timer", timer)
                        .addLast("idle", new IdleStateHandler(shared.config().idleTimeout().toMillis(), 0, 0, TimeUnit.MILLISECONDS))
                        .addLast("codec", new HttpServerCodec(new HttpDecoderConfig().setMaxInitialLineLength(4096).setMaxHeaderSize(8192)))
                        .addLast("aggregator", new LimitedAggregator(shared.config().maxRequestBytes(), handler))
                        .addLast("handler", handler);
            }
        };
    }

    private final Shared shared;
    private RequestTimer timer;
    private ChannelHandlerContext ctx;
    private boolean busy;
    private boolean paused;
    private boolean streaming;
    private final ArrayDeque<FullHttpRequest> queued = new ArrayDeque<>();

    private HttpHandler(Shared shared) {
        super(false);
        this.shared = shared;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        this.ctx = ctx;
    }

    @Override
    protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest req) {
        timer.requestComplete();
        if (streaming) {
            req.release(); // an event stream's connection carries nothing else
            return;
        }
        if (busy) {
            if (queued.size() >= MAX_PIPELINED) {
                req.release();
                ctx.close();
                return;
            }
            queued.add(req);
            return;
        }
        serve(req);
    }

    /** What the response needs to know of its request. */
    private record Exchange(HttpMethod method, String path, String route, boolean mutating, boolean keepAlive, HttpVersion version,
                            String origin, String client, Tokens.Kind token, long startNanos) {
    }

    private void serve(FullHttpRequest req) {
        busy = true;
        long t0 = System.nanoTime();
        String client = clientAddress();
        String path = "/";
        String route = HttpMetrics.UNMATCHED;
        boolean mutating = false;
        Tokens.Kind kind = Tokens.Kind.NONE;
        String origin = req.headers().get(HttpHeaderNames.ORIGIN);
        boolean keepAlive = HttpUtil.isKeepAlive(req);
        HttpMethod method = req.method();
        try {
            DecoderResult dr = req.decoderResult();
            if (dr.isFailure()) {
                keepAlive = false;
                throw decodeError(dr.cause());
            }
            long wait = shared.limiter() == null ? 0 : shared.limiter().acquire(clientInet());
            if (wait > 0) {
                long s = RateLimiter.retryAfterSeconds(wait);
                throw new ApiException(HttpResponseStatus.TOO_MANY_REQUESTS, "rate_limited", "more than " + shared.config().rateLimit()
                        + " requests per second (burst " + shared.limiter().burst() + ") from " + client + ": retry after " + s
                        + " s, or start the daemon with a higher --rate-limit", null, Map.of("Retry-After", Long.toString(s)));
            }
            QueryStringDecoder qs = new QueryStringDecoder(req.uri());
            path = qs.path();
            checkHost(req.headers());
            if (method.equals(HttpMethod.OPTIONS) && origin != null && req.headers().contains(HttpHeaderNames.ACCESS_CONTROL_REQUEST_METHOD)) {
                respond(new Exchange(method, path, "preflight", false, keepAlive, req.protocolVersion(), origin, client, kind, t0), preflight(origin, path));
                return;
            }
            // routed on the raw path: a name with '/' (team/web, sent as team%2Fweb) stays one segment; Router decodes each
            Router.Match m = shared.router().match(method, qs.rawPath());
            route = m.route().template();
            mutating = m.route().mutating();
            kind = shared.tokens().classify(req.headers().get(HttpHeaderNames.AUTHORIZATION));
            authorize(mutating, kind);
            byte[] body = new byte[req.content().readableBytes()];
            req.content().readBytes(body);
            Router.Request request = new Router.Request(method, path, m.params(), qs.parameters(), body, client, kind);
            Exchange ex = new Exchange(method, path, route, mutating, keepAlive, req.protocolVersion(), origin, client, kind, t0);
            var pending = m.route().endpoint().handle(request);
            if (!pending.isDone()) {
                // answered later, on a worker: read nothing more from this client until then (in-order pipelining, backpressure)
                paused = true;
                ctx.channel().config().setAutoRead(false);
            }
            pending.whenComplete((resp, err) -> {
                Response r = err == null ? resp : failure(Api.unwrap(err));
                if (ctx.executor().inEventLoop()) {
                    respond(ex, r);
                } else {
                    ctx.executor().execute(() -> respond(ex, r));
                }
            });
        } catch (ApiException e) {
            respond(new Exchange(method, path, route, mutating, keepAlive, req.protocolVersion(), origin, client, kind, t0), Response.error(e));
        } catch (RuntimeException e) {
            respond(new Exchange(method, path, route, mutating, keepAlive, req.protocolVersion(), origin, client, kind, t0), failure(e));
        } finally {
            req.release();
        }
    }

    private static Response failure(Throwable t) {
        if (t instanceof ApiException e) {
            return Response.error(e);
        }
        log.error("unexpected failure serving a request", t);
        return Response.error(new ApiException(HttpResponseStatus.INTERNAL_SERVER_ERROR, "internal_error",
                "the daemon failed unexpectedly (" + t.getClass().getSimpleName() + "); its log has the details", null));
    }

    private static ApiException decodeError(Throwable cause) {
        if (cause instanceof TooLongHttpLineException) {
            return new ApiException(HttpResponseStatus.REQUEST_URI_TOO_LONG, "uri_too_long", "the request line is longer than 4096 bytes", null);
        }
        if (cause instanceof TooLongHttpHeaderException) {
            return new ApiException(HttpResponseStatus.REQUEST_HEADER_FIELDS_TOO_LARGE, "headers_too_large", "the request headers are larger than 8192 bytes", null);
        }
        return new ApiException(HttpResponseStatus.BAD_REQUEST, "malformed_request", "the request is not valid HTTP/1.1"
                + (cause instanceof TooLongFrameException || cause == null || cause.getMessage() == null ? "" : ": " + Api.clip(cause.getMessage())), null);
    }

    private void checkHost(HttpHeaders headers) {
        if (shared.allowedHosts().isEmpty()) {
            return;
        }
        String host = headers.get(HttpHeaderNames.HOST);
        if (host == null) {
            return; // HTTP/1.0
        }
        String h = host.strip().toLowerCase(Locale.ROOT);
        if (h.startsWith("[")) {
            int end = h.indexOf(']');
            h = end < 0 ? h : h.substring(0, end + 1);
        } else if (h.indexOf(':') >= 0) {
            h = h.substring(0, h.indexOf(':'));
        }
        if (!shared.allowedHosts().contains(h)) {
            throw new ApiException(HttpResponseStatus.FORBIDDEN, "host_not_allowed", "Host '" + Api.clip(host) + "' is not this daemon: a daemon on "
                    + "loopback answers only to " + String.join(", ", shared.allowedHosts()) + " (this guards against DNS rebinding)", null);
        }
    }

    private void authorize(boolean mutating, Tokens.Kind kind) {
        if (!mutating && shared.config().openReads()) {
            return; // reads on loopback are open: the header, whatever it holds, is not looked at
        }
        if (kind == Tokens.Kind.INVALID) {
            throw new ApiException(HttpResponseStatus.UNAUTHORIZED, "invalid_token", "the bearer token is not one of this daemon's: send "
                    + "'Authorization: Bearer <token>' with the token from admin.token (or read.token for reads) in its data dir", null,
                    Map.of("WWW-Authenticate", "Bearer realm=\"ports\", error=\"invalid_token\""));
        }
        if (mutating) {
            if (kind == Tokens.Kind.NONE) {
                throw new ApiException(HttpResponseStatus.UNAUTHORIZED, "token_required", "this call changes the registry and needs the admin "
                        + "token: send 'Authorization: Bearer <token>' with the token from admin.token in the daemon's data dir", null,
                        Map.of("WWW-Authenticate", "Bearer realm=\"ports\""));
            }
            if (kind == Tokens.Kind.READ) {
                throw new ApiException(HttpResponseStatus.FORBIDDEN, "admin_token_required", "the read-only token may only read: this call "
                        + "changes the registry and needs the admin token (admin.token in the daemon's data dir)", null);
            }
        } else if (!shared.config().openReads() && kind == Tokens.Kind.NONE) {
            throw new ApiException(HttpResponseStatus.UNAUTHORIZED, "token_required", "this daemon listens beyond loopback, so reads need a "
                    + "token too: send 'Authorization: Bearer <token>' with read.token or admin.token from its data dir", null,
                    Map.of("WWW-Authenticate", "Bearer realm=\"ports\""));
        }
    }

    private Response preflight(String origin, String path) {
        String o = origin.toLowerCase(Locale.ROOT);
        if (shared.corsOrigins().isEmpty()) {
            throw new ApiException(HttpResponseStatus.FORBIDDEN, "cors_disabled", "cross-origin requests are off: start the daemon with "
                    + "--cors-origin " + Api.clip(origin) + " to allow this origin", null);
        }
        if (!shared.corsOrigins().contains(o)) {
            throw new ApiException(HttpResponseStatus.FORBIDDEN, "cors_origin_not_allowed", "origin '" + Api.clip(origin)
                    + "' is not allowed: expected one of " + String.join(", ", shared.corsOrigins()), null);
        }
        return new Response(HttpResponseStatus.NO_CONTENT, null, new byte[0], Map.of(
                "Access-Control-Allow-Methods", "GET, POST",
                "Access-Control-Allow-Headers", "Authorization, Content-Type",
                "Access-Control-Max-Age", "600"), null);
    }

    /** Writes the response on the loop, then serves the next queued request. */
    private void respond(Exchange ex, Response r) {
        if (!ctx.channel().isActive()) {
            finished(ex, r);
            return;
        }
        int code = r.status().code();
        boolean keepAlive = ex.keepAlive() && code != 408 && code != 413 && code != 500;
        if (Response.EVENT_STREAM.equals(r.contentType())) {
            if (startStream(ex, r)) {
                finished(ex, r);
            }
            return;
        }
        boolean head = ex.method().equals(HttpMethod.HEAD);
        FullHttpResponse resp = new DefaultFullHttpResponse(ex.version(), r.status(),
                head || r.body().length == 0 ? Unpooled.EMPTY_BUFFER : Unpooled.wrappedBuffer(r.body()));
        HttpHeaders h = resp.headers();
        headers(h, ex, r);
        h.setInt(HttpHeaderNames.CONTENT_LENGTH, r.body().length);
        HttpUtil.setKeepAlive(resp, keepAlive);
        var f = ctx.writeAndFlush(resp);
        if (!keepAlive) {
            f.addListener(ChannelFutureListener.CLOSE);
        }
        finished(ex, r);
    }

    private void headers(HttpHeaders h, Exchange ex, Response r) {
        if (r.contentType() != null) {
            h.set(HttpHeaderNames.CONTENT_TYPE, r.contentType());
        }
        h.set("X-Content-Type-Options", "nosniff");
        h.set("X-Frame-Options", "DENY");
        h.set("Referrer-Policy", "no-referrer");
        h.set(HttpHeaderNames.CACHE_CONTROL, "no-store");
        if (!r.headers().containsKey("Content-Security-Policy")) {
            h.set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'");
        }
        r.headers().forEach(h::set);
        if (ex.origin() != null && shared.corsOrigins().contains(ex.origin().toLowerCase(Locale.ROOT))) {
            h.set(HttpHeaderNames.ACCESS_CONTROL_ALLOW_ORIGIN, ex.origin());
            h.set(HttpHeaderNames.VARY, "Origin");
            h.set(HttpHeaderNames.ACCESS_CONTROL_EXPOSE_HEADERS, "Retry-After, WWW-Authenticate");
        }
    }

    /** @return false when the stream was refused (the refusal is answered and finished already) */
    private boolean startStream(Exchange ex, Response r) {
        HttpResponse head = new DefaultHttpResponse(ex.version(), HttpResponseStatus.OK);
        headers(head.headers(), ex, r);
        HttpUtil.setTransferEncodingChunked(head, true);
        if (!shared.events().add(ctx.channel())) {
            respond(ex, Response.error(new ApiException(HttpResponseStatus.SERVICE_UNAVAILABLE, "too_many_streams",
                    "at most " + Events.MAX_STREAMS + " event streams may be open at once: close one, or poll instead", null)));
            return false;
        }
        streaming = true;
        ctx.pipeline().remove("idle");
        ctx.pipeline().remove("request-timer");
        ctx.writeAndFlush(head);
        ctx.writeAndFlush(new io.netty.handler.codec.http.DefaultHttpContent(Unpooled.copiedBuffer(": connected\nretry: 2000\n\n",
                java.nio.charset.StandardCharsets.UTF_8)));
        ctx.channel().config().setAutoRead(true);
        return true;
    }

    private void finished(Exchange ex, Response r) {
        shared.metrics().record(ex.method().name(), ex.route(), r.status().code(), System.nanoTime() - ex.startNanos());
        if (ex.mutating()) {
            audit.info("client={} token={} {} {} status={} {}", ex.client(), ex.token().label(), ex.method(), ex.path(), r.status().code(),
                    r.audit().isEmpty() ? "" : r.audit());
        }
        if (streaming) {
            return;
        }
        timer.responseSent();
        busy = false;
        FullHttpRequest next = queued.poll();
        if (next != null) {
            serve(next);
        } else if (paused) {
            paused = false;
            ctx.channel().config().setAutoRead(true);
        }
    }

    /** The request timer fired: 408 and close. */
    void timedOut(Channel ch) {
        if (busy || streaming || !ch.isActive()) {
            return;
        }
        busy = true;
        respond(new Exchange(HttpMethod.GET, "/", HttpMetrics.UNMATCHED, false, false, HttpVersion.HTTP_1_1, null, clientAddress(),
                Tokens.Kind.NONE, System.nanoTime()), Response.error(new ApiException(HttpResponseStatus.REQUEST_TIMEOUT, "request_timeout",
                "the request did not arrive completely within " + shared.config().requestTimeout().toMillis() + " ms", null)));
    }

    /** The body is over the limit: 413 and close (the rest of the body is not read). */
    void tooLarge(HttpMessage m) {
        timer.requestComplete();
        busy = true;
        HttpMethod method = m instanceof io.netty.handler.codec.http.HttpRequest r ? r.method() : HttpMethod.POST;
        String path = m instanceof io.netty.handler.codec.http.HttpRequest r ? new QueryStringDecoder(r.uri()).path() : "/";
        respond(new Exchange(method, path, HttpMetrics.UNMATCHED, false, false, m.protocolVersion(), m.headers().get(HttpHeaderNames.ORIGIN),
                clientAddress(), Tokens.Kind.NONE, System.nanoTime()), Response.error(new ApiException(HttpResponseStatus.REQUEST_ENTITY_TOO_LARGE,
                "request_too_large", "the request body is larger than " + shared.config().maxRequestBytes() + " bytes, the daemon's limit", null)));
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) throws Exception {
        if (evt instanceof IdleStateEvent) {
            if (!busy) {
                ctx.close();
            }
            return;
        }
        super.userEventTriggered(ctx, evt);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) throws Exception {
        queued.forEach(FullHttpRequest::release);
        queued.clear();
        super.channelInactive(ctx);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        log.debug("connection from {} failed: {}", clientAddress(), cause.toString());
        ctx.close();
    }

    private InetAddress clientInet() {
        return ctx.channel().remoteAddress() instanceof InetSocketAddress a ? a.getAddress() : InetAddress.getLoopbackAddress();
    }

    private String clientAddress() {
        return ctx == null ? "?" : ctx.channel().remoteAddress() instanceof InetSocketAddress a ? a.getAddress().getHostAddress() : "local";
    }

    /** HttpObjectAggregator that answers an oversized body with the daemon's JSON 413. */
    private static final class LimitedAggregator extends HttpObjectAggregator {
        private final HttpHandler handler;

        LimitedAggregator(int max, HttpHandler handler) {
            super(max, true);
            this.handler = handler;
        }

        @Override
        protected void handleOversizedMessage(ChannelHandlerContext ctx, HttpMessage oversized) {
            handler.tooLarge(oversized);
        }
    }

    static Set<String> loopbackHosts(InetAddress bind) {
        if (!bind.isLoopbackAddress()) {
            return Set.of();
        }
        String b = bind.getHostAddress().toLowerCase(Locale.ROOT);
        return Set.copyOf(new java.util.LinkedHashSet<>(List.of("localhost", "127.0.0.1", "[::1]",
                b.contains(":") ? "[" + b.replaceAll("%.*", "") + "]" : b)));
    }
}
