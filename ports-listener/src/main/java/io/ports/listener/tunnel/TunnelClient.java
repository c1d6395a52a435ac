package io.ports.listener.tunnel;

import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.handler.codec.DecoderException;
import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpClientCodec;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.websocketx.WebSocketClientHandshaker;
import io.netty.handler.codec.http.websocketx.WebSocketClientHandshakerFactory;
import io.netty.handler.codec.http.websocketx.WebSocketFrameDecoder;
import io.netty.handler.codec.http.websocketx.WebSocketFrameEncoder;
import io.netty.handler.codec.http.websocketx.WebSocketHandshakeException;
import io.netty.handler.codec.http.websocketx.WebSocketVersion;
import io.netty.handler.ssl.SslHandler;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.ScheduledFuture;
import io.ports.core.EventLoops;
import io.ports.core.PortLease;
import io.ports.listener.Listener;
import io.ports.listener.ListenerManager;
import io.ports.listener.ListenerOptions;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLParameters;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The client end of the WebSocket tunnel: a local listener (TCP, or a Unix socket) whose every
 * connection is carried over its own WebSocket to a tunnel server, ours or websockify. Point a
 * database client at its port; the bytes come out at the server's target.
 *
 * <pre>{@code
 * TunnelClientOptions o = TunnelClientOptions.builder("wss://gateway.example:443/tunnel")
 *         .target("127.0.0.1:5432").bearerToken(secret).trust(caPem).build();
 * try (TunnelClient client = TunnelClient.start(listeners, "127.0.0.1:15432", ListenerOptions.defaults(), o)) {
 *     // psql -h 127.0.0.1 -p 15432 ...
 * }
 * }</pre>
 *
 * <h2>Reconnecting</h2>
 * A TCP stream cannot be resumed over a new WebSocket, so a tunnel that breaks ends its local
 * connection (with a reset, so the application sees a broken stream). New local connections open new
 * WebSockets: while the server cannot be reached, each one waits and retries with an exponential
 * backoff shared by all of them (from {@link TunnelClientOptions#backoffInitial()} doubling up to
 * {@link TunnelClientOptions#backoffMax()}, with jitter) for up to
 * {@link TunnelClientOptions#reconnectTimeout()}, then is dropped. A refusal by the server (401, 403,
 * 404, 400) or a TLS failure is not retried: it will not get better by waiting.
 *
 * <h2>Half-close</h2>
 * When the application shuts its output down, the client sends a Close with 1000 and keeps carrying
 * the other direction until the server's side ends too (our server does so; websockify closes both
 * directions at once).
 */
public final class TunnelClient implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(TunnelClient.class);

    private final EventLoops loops;
    private final TunnelClientOptions options;
    private final BridgeConfig bridgeConfig;
    private final URI requestUri;
    private final String serverHost;
    private final Backoff backoff;
    private final Set<Bridge> bridges = ConcurrentHashMap.newKeySet();
    private final Set<Channel> dialing = ConcurrentHashMap.newKeySet();
    private final Set<Channel> waiting = ConcurrentHashMap.newKeySet();
    private final TunnelCounters counters = new TunnelCounters(bridges);
    private final AtomicBoolean stopping = new AtomicBoolean();
    private final CompletableFuture<Void> stopped = new CompletableFuture<>();
    private volatile Listener listener;

    private TunnelClient(EventLoops loops, TunnelClientOptions options) {
        this.loops = loops;
        this.options = options;
        this.bridgeConfig = options.bridgeConfig();
        this.requestUri = options.requestUri();
        this.serverHost = Addresses.bare(options.server().getHost());
        this.backoff = new Backoff(options.backoffInitial(), options.backoffMax());
    }

    /**
     * Starts the local listener on {@code localAddress} ({@code 127.0.0.1:15432}, {@code unix:/run/db.sock},
     * ...). Blocks until bound; the server is not contacted before the first local connection.
     *
     * @throws IllegalArgumentException when the address is malformed
     * @throws io.ports.core.PortInUseException when it is in use, naming the holder
     */
    public static TunnelClient start(ListenerManager listeners, String localAddress, ListenerOptions listenerOptions, TunnelClientOptions options) {
        TunnelClient c = new TunnelClient(listeners.loops(), Objects.requireNonNull(options, "options"));
        c.listener = listeners.start(localAddress, listenerOptions, c.initializer());
        log.info("tunnel client on {} -> {}", c.listener.boundAddresses(), c.requestUri);
        return c;
    }

    /** Starts the local listener on the lease's port, taking the lease over. */
    public static TunnelClient start(ListenerManager listeners, PortLease lease, String host, ListenerOptions listenerOptions,
                                     TunnelClientOptions options) {
        TunnelClient c = new TunnelClient(listeners.loops(), Objects.requireNonNull(options, "options"));
        c.listener = listeners.listen(lease, host, listenerOptions, c.initializer());
        log.info("tunnel client on {} -> {}", c.listener.boundAddresses(), c.requestUri);
        return c;
    }

    private ChannelHandler initializer() {
        return new ChannelInitializer<Channel>() {
            @Override
            protected void initChannel(Channel local) {
                local.config().setAutoRead(false); // nothing is read before the tunnel is there
                local.config().setOption(ChannelOption.ALLOW_HALF_CLOSURE, true);
                EpollHalfClose.apply(local); // before anything is read: the application may half-close at once
                local.pipeline().addLast("tunnel-held", new HeldInput());
                new Dial(local).schedule(backoff.waitNanos(System.nanoTime()));
            }
        };
    }

    /** The local listener. */
    public Listener listener() {
        return listener;
    }

    /** The local port (the real one when 0 was asked), or -1 for a Unix socket. */
    public int port() {
        return listener.port();
    }

    public TunnelClientOptions options() {
        return options;
    }

    /** Byte, connection and dial counters of this client, live. */
    public TunnelCounters counters() {
        return counters;
    }

    /** The open tunnels (for tests). */
    Set<Bridge> bridges() {
        return bridges;
    }

    public boolean isRunning() {
        return !stopping.get();
    }

    /** Graceful stop with the listener's graceful timeout. */
    public CompletableFuture<Void> stop() {
        return stop(listener.gracefulTimeout());
    }

    /**
     * Stops accepting now, drops local connections still waiting for a tunnel, lets open tunnels run
     * for up to {@code timeout}, then ends them with 1001. Runs once; the future never fails.
     */
    public CompletableFuture<Void> stop(Duration timeout) {
        if (!stopping.compareAndSet(false, true)) {
            return stopped;
        }
        Objects.requireNonNull(timeout, "timeout");
        waiting.forEach(TunnelClient::reset); // no tunnel for them any more
        dialing.forEach(Channel::close);
        loops.next().schedule(() -> bridges.forEach(Bridge::goingAway), timeout.toMillis(), TimeUnit.MILLISECONDS);
        listener.stop(timeout.plus(options.closeTimeout()).plusMillis(500)).whenComplete((v, e) -> stopped.complete(null));
        return stopped;
    }

    /**
     * Stops and waits, at most the graceful timeout plus the close timeout plus five seconds. Must not
     * be called on a ports event loop thread (use {@link #stop()} there).
     */
    @Override
    public void close() {
        TunnelServer.checkNotOnEventLoop(loops, "TunnelClient.close()");
        Duration graceful = listener.gracefulTimeout();
        try {
            stop(graceful).get(graceful.plus(options.closeTimeout()).toMillis() + 5000, TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (ExecutionException | TimeoutException e) {
            log.warn("tunnel client on {} did not stop: {}", listener.address(), e.toString());
        }
    }

    @Override
    public String toString() {
        return "TunnelClient[" + (listener == null ? "?" : listener.address()) + " -> " + requestUri + ", " + counters + "]";
    }

    // ---------------------------------------------------------------------------------- dialing

    /** Opening the tunnel of one local connection: attempts with backoff until one succeeds or time is up. */
    private final class Dial {
        private final Channel local;
        private final EventLoop loop;
        private final long deadline;
        private int attempts;
        private String lastError = "";

        Dial(Channel local) {
            this.local = local;
            this.loop = local.eventLoop();
            this.deadline = System.nanoTime() + options.reconnectTimeout().toNanos();
            waiting.add(local);
            local.closeFuture().addListener(f -> waiting.remove(local));
        }

        void schedule(long waitNanos) {
            long wait = attempts == 0 ? Math.min(waitNanos, Math.max(0, deadline - System.nanoTime())) : waitNanos;
            if (wait <= 0) {
                attempt();
            } else {
                loop.schedule(this::attempt, wait, TimeUnit.NANOSECONDS);
            }
        }

        private void attempt() {
            if (!local.isActive() || stopping.get()) {
                return;
            }
            attempts++;
            counters.dialAttempt();
            Addresses.resolve(serverHost, options.serverPort()).whenComplete((address, error) -> loop.execute(() -> {
                if (error != null) {
                    failed(error.getCause() != null ? error.getCause().getMessage() : error.getMessage(), true, false);
                } else {
                    connect(address);
                }
            }));
        }

        private void connect(java.net.InetSocketAddress address) {
            if (!local.isActive() || stopping.get()) {
                return;
            }
            Attempt handler = new Attempt(this);
            Bootstrap b = new Bootstrap().group(loop).channel(loops.socketChannelClass())
                    .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) Math.min(Integer.MAX_VALUE, options.connectTimeout().toMillis()))
                    .option(ChannelOption.TCP_NODELAY, true)
                    .option(ChannelOption.WRITE_BUFFER_WATER_MARK, bridgeConfig.waterMark())
                    .handler(new ChannelInitializer<Channel>() {
                        @Override
                        protected void initChannel(Channel ch) {
                            if (options.ssl() != null) {
                                SslHandler tls = options.ssl().newHandler(ch.alloc(), serverHost, options.serverPort());
                                if (options.verifyHostname()) {
                                    SSLEngine engine = tls.engine();
                                    SSLParameters p = engine.getSSLParameters();
                                    p.setEndpointIdentificationAlgorithm("HTTPS");
                                    engine.setSSLParameters(p);
                                }
                                ch.pipeline().addLast("tls", tls);
                            }
                            ch.pipeline().addLast("http", new HttpClientCodec(4096, 8192, 8192));
                            ch.pipeline().addLast("http-aggregator", new HttpObjectAggregator(8192));
                            ch.pipeline().addLast("tunnel-upgrade", handler);
                        }
                    });
            ChannelFuture f = b.connect(address);
            Channel ws = f.channel();
            dialing.add(ws);
            ws.closeFuture().addListener(x -> dialing.remove(ws));
            handler.timer = loop.schedule(() -> handler.fail("no upgrade within " + options.connectTimeout().toMillis() + " ms", true, false),
                    options.connectTimeout().toMillis(), TimeUnit.MILLISECONDS);
            local.closeFuture().addListener(x -> {
                if (!handler.done) {
                    handler.done = true; // the application gave up waiting
                    handler.timer.cancel(false);
                    ws.close();
                }
            });
            f.addListener(x -> {
                if (!x.isSuccess()) {
                    handler.fail("cannot connect to " + address + ": " + x.cause().getMessage(), true, false);
                }
            });
        }

        /** One attempt ended without a tunnel. */
        void failed(String why, boolean retryable, boolean refused) {
            counters.dialFailure();
            lastError = why;
            if (!local.isActive() || stopping.get()) {
                return;
            }
            long now = System.nanoTime();
            if (refused) {
                counters.rejected();
                log.warn("tunnel {} -> {}: {}; dropping the local connection", local.remoteAddress(), requestUri, why);
                reset(local);
                return;
            }
            if (!retryable) {
                counters.failed();
                log.warn("tunnel {} -> {}: {}; dropping the local connection", local.remoteAddress(), requestUri, why);
                reset(local);
                return;
            }
            long wait = backoff.failed(now);
            if (now + wait > deadline) {
                counters.failed();
                log.warn("tunnel {} -> {}: {}; gave up after {} attempt{} in {} ms: dropping the local connection", local.remoteAddress(),
                        requestUri, why, attempts, attempts == 1 ? "" : "s", options.reconnectTimeout().toMillis());
                reset(local);
                return;
            }
            log.debug("tunnel {} -> {}: attempt {} failed ({}); retrying in {} ms", local.remoteAddress(), requestUri, attempts, why,
                    TimeUnit.NANOSECONDS.toMillis(wait));
            schedule(wait);
        }

        void succeeded(Channel ws) {
            backoff.succeeded();
            dialing.remove(ws);
            waiting.remove(local);
            if (!local.isActive() || stopping.get()) {
                ws.close();
                return;
            }
            String label = "tunnel " + local.remoteAddress() + " -> " + requestUri;
            new Bridge(ws, local, bridgeConfig, counters, bridges, label, "local connection").start();
            if (stopping.get()) {
                bridges.forEach(Bridge::goingAway); // a stop raced with this upgrade
            }
        }
    }

    private static void reset(Channel ch) {
        try {
            ch.config().setOption(ChannelOption.SO_LINGER, 0);
        } catch (RuntimeException ignored) {
            // Unix sockets: a plain close
        }
        ch.close();
    }

    /** The handler of one attempt's channel until the upgrade is answered. */
    private final class Attempt extends ChannelInboundHandlerAdapter {
        private final Dial dial;
        private final WebSocketClientHandshaker handshaker;
        ScheduledFuture<?> timer;
        boolean done;
        private Channel channel;

        Attempt(Dial dial) {
            this.dial = dial;
            HttpHeaders headers = new DefaultHttpHeaders();
            if (options.bearerToken() != null) {
                headers.set(HttpHeaderNames.AUTHORIZATION, "Bearer " + options.bearerToken());
            }
            this.handshaker = WebSocketClientHandshakerFactory.newHandshaker(requestUri, WebSocketVersion.V13, options.subprotocol(), false,
                    headers, options.maxFramePayload(), true, false, -1, false, false);
        }

        @Override
        public void handlerAdded(ChannelHandlerContext ctx) {
            channel = ctx.channel();
        }

        @Override
        public void channelActive(ChannelHandlerContext ctx) {
            handshaker.handshake(ctx.channel()).addListener(f -> {
                if (!f.isSuccess()) {
                    failWith(f.cause());
                }
            });
            ctx.fireChannelActive();
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            if (!(msg instanceof FullHttpResponse) || done) {
                ReferenceCountUtil.release(msg);
                return;
            }
            FullHttpResponse r = (FullHttpResponse) msg;
            try {
                int status = r.status().code();
                if (status != 101) {
                    String body = r.content().toString(StandardCharsets.UTF_8).strip();
                    String why = "the server answered the upgrade with " + r.status() + (body.isEmpty() ? "" : " (" + firstLine(body) + ")");
                    boolean refused = status >= 400 && status < 500 && status != 408 && status != 429;
                    fail(why, status >= 500 || status == 408 || status == 429, refused);
                    return;
                }
                try {
                    handshaker.finishHandshake(ctx.channel(), r);
                } catch (WebSocketHandshakeException e) {
                    fail("the server's upgrade answer is not valid: " + e.getMessage()
                            + (options.subprotocol() != null ? " (for a server that selects no subprotocol, set subprotocol(null))" : ""), false, true);
                    return;
                }
                done = true;
                timer.cancel(false);
                // masks the bridge's data frames in place instead of copying each payload (ClientFrameEncoder)
                ctx.pipeline().replace(WebSocketFrameEncoder.class, "ws-encoder", new ClientFrameEncoder());
                // passes payload slices on instead of copying whole frames (TunnelFrameDecoder); in the same read
                // that decoded the upgrade answer, so nothing after it reaches Netty's decoder
                ctx.pipeline().replace(WebSocketFrameDecoder.class, "ws-decoder",
                        new TunnelFrameDecoder(false, options.maxFramePayload(), options.maxMessageSize()));
                ctx.pipeline().remove(this);
                dial.succeeded(ctx.channel());
            } finally {
                r.release();
            }
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            failWith(cause);
        }

        /** A TLS failure (an untrusted certificate, a wrong host name) is not retried; anything else is. */
        private void failWith(Throwable cause) {
            Throwable c = cause instanceof DecoderException && cause.getCause() != null ? cause.getCause() : cause;
            if (c instanceof SSLException) {
                fail("TLS handshake with " + options.server().getAuthority() + " failed: " + c.getMessage(), false, false);
            } else {
                fail(c.toString(), true, false);
            }
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            fail("the server closed the connection before answering the upgrade", true, false);
            ctx.fireChannelInactive();
        }

        void fail(String why, boolean retryable, boolean refused) {
            if (done) {
                return;
            }
            done = true;
            if (timer != null) {
                timer.cancel(false);
            }
            if (channel != null) {
                channel.close();
            }
            dial.loop.execute(() -> dial.failed(why, retryable, refused));
        }
    }

    private static String firstLine(String s) {
        int nl = s.indexOf('\n');
        String l = nl < 0 ? s : s.substring(0, nl);
        return l.length() > 200 ? l.substring(0, 200) + "..." : l;
    }
}
