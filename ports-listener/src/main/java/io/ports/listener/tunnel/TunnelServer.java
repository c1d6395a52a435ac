package io.ports.listener.tunnel;

import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.websocketx.WebSocketDecoderConfig;
import io.netty.handler.codec.http.websocketx.WebSocketServerHandshakerFactory;
import io.ports.core.EventLoops;
import io.ports.core.PortLease;
import io.ports.core.PortsException;
import io.ports.listener.Listener;
import io.ports.listener.ListenerManager;
import io.ports.listener.ListenerOptions;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The server end of the WebSocket tunnel: a listener whose connections are WebSocket upgrades, each
 * bridged to one TCP target of an allow-list. It starts through a {@link ListenerManager} like any
 * listener (an address, or a {@link PortLease} handed over without a race) and runs on its shared
 * event loops; the target connection of a tunnel shares the event loop of its WebSocket.
 *
 * <pre>{@code
 * TunnelServerOptions o = TunnelServerOptions.builder().path("/tunnel").allow("127.0.0.1:5432")
 *         .tls(certPem, keyPem).bearerToken(secret).build();
 * try (TunnelServer server = TunnelServer.start(listeners, "[::]:443", ListenerOptions.defaults(), o)) {
 *     ... server.counters().bytesReceived() ...
 * }
 * }</pre>
 *
 * <p>Wire format, as websockify's: one WebSocket per TCP connection, raw bytes in binary frames (any
 * framing; message boundaries carry no meaning), subprotocol {@code binary} selected when offered.
 * Text frames are refused with 1003. Close codes: 1000 for a TCP end of stream (a half-close, see
 * {@link TunnelClient}), 1001 when this server stops, 1002 for a protocol error, 1009 for a frame or
 * message over the limits, 1011 when the target fails or resets.
 *
 * <p>{@link #stop(Duration)} stops accepting at once, lets tunnels run for the timeout, then ends the
 * rest with 1001. Stopping the underlying {@link Listener} directly (or closing the manager) skips
 * the 1001 and drops the connections.
 */
public final class TunnelServer implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(TunnelServer.class);
    static final String SUBPROTOCOL = "binary";

    private final EventLoops loops;
    private final TunnelServerOptions options;
    private final BridgeConfig bridgeConfig;
    private final Set<Bridge> bridges = ConcurrentHashMap.newKeySet();
    private final TunnelCounters counters = new TunnelCounters(bridges);
    private final WebSocketServerHandshakerFactory handshakers;
    private final List<byte[]> tokenHashes;
    private final AtomicBoolean stopping = new AtomicBoolean();
    private final CompletableFuture<Void> stopped = new CompletableFuture<>();
    private volatile Listener listener;

    private TunnelServer(EventLoops loops, TunnelServerOptions options) {
        this.loops = loops;
        this.options = options;
        this.bridgeConfig = options.bridgeConfig();
        WebSocketDecoderConfig decoder = WebSocketDecoderConfig.newBuilder()
                .maxFramePayloadLength(options.maxFramePayload())
                .expectMaskedFrames(true)
                .allowMaskMismatch(false)
                .allowExtensions(false)
                .closeOnProtocolViolation(true)
                .build();
        this.handshakers = new WebSocketServerHandshakerFactory((options.ssl() != null ? "wss" : "ws") + "://localhost" + options.path(),
                SUBPROTOCOL, decoder);
        this.tokenHashes = options.bearerTokens().stream().map(TunnelServer::sha256).toList();
    }

    /**
     * Starts a tunnel server on {@code address} ({@code 127.0.0.1:0}, {@code [::]:443}, ...). Blocks
     * until bound, like {@link ListenerManager#start(String, ListenerOptions, ChannelHandler)}.
     *
     * @throws IllegalArgumentException when the address is malformed
     * @throws io.ports.core.PortInUseException when it is in use, naming the holder
     * @throws PortsException for any other bind failure
     */
    public static TunnelServer start(ListenerManager listeners, String address, ListenerOptions listenerOptions, TunnelServerOptions options) {
        TunnelServer s = new TunnelServer(listeners.loops(), Objects.requireNonNull(options, "options"));
        s.listener = listeners.start(address, listenerOptions, s.initializer());
        log.info("tunnel server on {} (port {}) path {} -> {}{}{}", address, s.port(), options.path(), options.targets(),
                options.ssl() != null ? ", TLS" : "", options.requiresToken() ? ", bearer token" : "");
        return s;
    }

    /**
     * Starts a tunnel server on the lease's port, taking the lease over without ever leaving the port
     * free, like {@link ListenerManager#listen(PortLease, String, ListenerOptions, ChannelHandler)}.
     */
    public static TunnelServer start(ListenerManager listeners, PortLease lease, String host, ListenerOptions listenerOptions,
                                     TunnelServerOptions options) {
        TunnelServer s = new TunnelServer(listeners.loops(), Objects.requireNonNull(options, "options"));
        s.listener = listeners.listen(lease, host, listenerOptions, s.initializer());
        log.info("tunnel server on {}:{} path {} -> {}{}{}", host, s.port(), options.path(), options.targets(),
                options.ssl() != null ? ", TLS" : "", options.requiresToken() ? ", bearer token" : "");
        return s;
    }

    private ChannelHandler initializer() {
        return new ChannelInitializer<Channel>() {
            @Override
            protected void initChannel(Channel ch) {
                if (options.ssl() != null) {
                    ch.pipeline().addLast("tls", options.ssl().newHandler(ch.alloc()));
                }
                ch.pipeline().addLast("http", new HttpServerCodec(4096, 8192, 8192));
                ch.pipeline().addLast("http-aggregator", new HttpObjectAggregator(8192));
                ch.pipeline().addLast("tunnel-upgrade", new ServerUpgradeHandler(TunnelServer.this));
            }
        };
    }

    /** The listener that accepts the WebSocket connections. */
    public Listener listener() {
        return listener;
    }

    /** The port bound (the real one when 0 was asked). */
    public int port() {
        return listener.port();
    }

    public TunnelServerOptions options() {
        return options;
    }

    /** Byte and connection counters of this server, live. */
    public TunnelCounters counters() {
        return counters;
    }

    public boolean isRunning() {
        return !stopping.get();
    }

    /** Graceful stop with the listener's graceful timeout. */
    public CompletableFuture<Void> stop() {
        return stop(gracefulTimeout());
    }

    /**
     * Stops accepting now, lets open tunnels run for up to {@code timeout}, then ends them with 1001.
     * Runs once; the future completes when every connection is closed and never fails.
     */
    public CompletableFuture<Void> stop(Duration timeout) {
        if (!stopping.compareAndSet(false, true)) {
            return stopped;
        }
        Objects.requireNonNull(timeout, "timeout");
        EventLoop loop = loops.next();
        loop.schedule(() -> bridges.forEach(Bridge::goingAway), timeout.toMillis(), TimeUnit.MILLISECONDS);
        listener.stop(timeout.plus(options.closeTimeout()).plusMillis(500)).whenComplete((v, e) -> stopped.complete(null));
        return stopped;
    }

    /**
     * Stops and waits, at most the graceful timeout plus the close timeout plus five seconds. Must not
     * be called on a ports event loop thread (use {@link #stop()} there).
     */
    @Override
    public void close() {
        checkNotOnEventLoop(loops, "TunnelServer.close()");
        Duration graceful = gracefulTimeout();
        try {
            stop(graceful).get(graceful.plus(options.closeTimeout()).toMillis() + 5000, TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (ExecutionException | TimeoutException e) {
            log.warn("tunnel server on port {} did not stop: {}", port(), e.toString());
        }
    }

    private Duration gracefulTimeout() {
        return listener.gracefulTimeout();
    }

    // ------------------------------------------------------------------------ for the handlers

    WebSocketServerHandshakerFactory handshakerFactory() {
        return handshakers;
    }

    BridgeConfig bridgeConfig() {
        return bridgeConfig;
    }

    Set<Bridge> bridges() {
        return bridges;
    }

    boolean tokenAccepted(String authorization) {
        if (authorization == null) {
            return false;
        }
        String a = authorization.strip();
        if (a.length() < 7 || !a.substring(0, 7).toLowerCase(Locale.ROOT).equals("bearer ")) {
            return false;
        }
        byte[] h = sha256(a.substring(7).strip());
        boolean ok = false;
        for (byte[] t : tokenHashes) {
            ok |= MessageDigest.isEqual(t, h); // every token compared: no early exit to time
        }
        return ok;
    }

    /** Connects the target on {@code loop}, resolving a host name off the loop. */
    CompletableFuture<Channel> connect(TunnelTarget target, EventLoop loop) {
        return Addresses.resolve(target.host(), target.port()).thenCompose(address -> {
            Bootstrap b = new Bootstrap().group(loop).channel(loops.socketChannelClass())
                    .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) Math.min(Integer.MAX_VALUE, options.connectTimeout().toMillis()))
                    .option(ChannelOption.TCP_NODELAY, true)
                    .option(ChannelOption.AUTO_READ, false)
                    .option(ChannelOption.ALLOW_HALF_CLOSURE, true)
                    .option(ChannelOption.WRITE_BUFFER_WATER_MARK, bridgeConfig.waterMark())
                    .handler(Addresses.HOLD_INPUT);
            CompletableFuture<Channel> c = new CompletableFuture<>();
            ChannelFuture f = b.connect(address);
            f.addListener(x -> {
                if (x.isSuccess()) {
                    c.complete(f.channel());
                } else {
                    c.completeExceptionally(new PortsException("connecting " + target + " (" + address + ") failed: " + x.cause().getMessage(), x.cause()));
                }
            });
            return c;
        });
    }

    static void checkNotOnEventLoop(EventLoops loops, String what) {
        for (io.netty.util.concurrent.EventExecutor e : loops.group()) {
            if (e.inEventLoop()) {
                throw new IllegalStateException(what + " blocks and must not be called on a ports event loop thread; use the asynchronous stop() there");
            }
        }
    }

    private static byte[] sha256(String s) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8));
        } catch (NoSuchAlgorithmException e) {
            throw new AssertionError("every JDK has SHA-256", e);
        }
    }

    @Override
    public String toString() {
        return "TunnelServer[" + (listener == null ? "?" : listener.address()) + options.path() + " -> " + options.targets() + ", " + counters + "]";
    }
}
