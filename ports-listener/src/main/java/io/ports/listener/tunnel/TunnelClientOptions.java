package io.ports.listener.tunnel;

import io.netty.channel.WriteBufferWaterMark;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.ports.core.PortsException;

import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Locale;
import java.util.Objects;

/**
 * Where a {@link TunnelClient} carries its local connections and how. Build with
 * {@link #builder(String)}; {@link Builder#build()} validates and names the bad value.
 *
 * @param server            the tunnel server, {@code ws://host:port/path} or {@code wss://...}
 * @param target            the target to ask the server for ({@code ?target=host:port}), or null for its default
 * @param subprotocol       the subprotocol offered, {@code binary} (what websockify expects) or null for none
 * @param bearerToken       sent as {@code Authorization: Bearer}, or null
 * @param ssl               client TLS for {@code wss://}
 * @param verifyHostname    whether the server certificate must name the server's host
 * @param maxFramePayload   the largest frame payload accepted from the server, and the largest sent
 * @param maxMessageSize    the largest message accepted from the server
 * @param pingInterval      how often a Ping is sent; {@link Duration#ZERO} turns keepalive off
 * @param pingTimeout       a server silent this long while we read is taken for dead and dropped
 * @param connectTimeout    one attempt: TCP connect, TLS and upgrade together
 * @param reconnectTimeout  how long a new local connection waits for the tunnel, retrying, before it is dropped
 * @param backoffInitial    the wait after the first failed attempt; it doubles per failure in a row
 * @param backoffMax        the longest wait between attempts
 * @param closeTimeout      how long a closing connection waits for the peer's Close, or for a peer that stopped
 *                          reading to take its last frames, before dropping it
 * @param writeBufferLowWaterMark  a paused reader resumes once the other side's pending writes drop below this
 * @param writeBufferHighWaterMark the other side stops reading once a channel has this many bytes pending
 */
public record TunnelClientOptions(URI server, TunnelTarget target, String subprotocol, String bearerToken, SslContext ssl,
                                  boolean verifyHostname, int maxFramePayload, int maxMessageSize, Duration pingInterval,
                                  Duration pingTimeout, Duration connectTimeout, Duration reconnectTimeout, Duration backoffInitial,
                                  Duration backoffMax, Duration closeTimeout, int writeBufferLowWaterMark, int writeBufferHighWaterMark) {

    public TunnelClientOptions {
        Objects.requireNonNull(server, "server");
        String scheme = server.getScheme() == null ? "" : server.getScheme().toLowerCase(Locale.ROOT);
        if (!scheme.equals("ws") && !scheme.equals("wss")) {
            throw new IllegalArgumentException("tunnel server URI '" + server + "' must start with ws:// or wss://");
        }
        if (server.getHost() == null || server.getHost().isEmpty()) {
            throw new IllegalArgumentException("tunnel server URI '" + server + "' has no host: expected ws://HOST:PORT/PATH");
        }
        if (server.getRawFragment() != null) {
            throw new IllegalArgumentException("tunnel server URI '" + server + "' must not have a fragment (#...)");
        }
        if (scheme.equals("ws") && ssl != null) {
            throw new IllegalArgumentException("TLS is configured but the tunnel server URI '" + server + "' is ws://: use wss://");
        }
        if (ssl != null && !ssl.isClient()) {
            throw new IllegalArgumentException("the tunnel client needs a client SslContext (SslContextBuilder.forClient), got a server one");
        }
        if (subprotocol != null && (subprotocol.isBlank() || subprotocol.contains(",") || subprotocol.chars().anyMatch(c -> c <= ' '))) {
            throw new IllegalArgumentException("subprotocol '" + subprotocol + "' must be one token such as binary, or null for none");
        }
        if (bearerToken != null) {
            Checks.token(bearerToken);
        }
        Checks.limits(maxFramePayload, maxMessageSize);
        Checks.keepalive(pingInterval, pingTimeout);
        Checks.positive(connectTimeout, "connect timeout");
        Checks.notNegative(reconnectTimeout, "reconnect timeout");
        Checks.positive(backoffInitial, "initial backoff");
        Checks.positive(backoffMax, "maximum backoff");
        if (backoffMax.compareTo(backoffInitial) < 0) {
            throw new IllegalArgumentException("maximum backoff " + backoffMax + " is below the initial backoff " + backoffInitial);
        }
        Checks.notNegative(closeTimeout, "close timeout");
        Checks.waterMarks(writeBufferLowWaterMark, writeBufferHighWaterMark);
    }

    /**
     * @param server {@code ws://host:port/path} or {@code wss://host:port/path}
     * @throws IllegalArgumentException when it is not such a URI
     */
    public static Builder builder(String server) {
        try {
            return builder(new URI(server));
        } catch (URISyntaxException | NullPointerException e) {
            throw new IllegalArgumentException("tunnel server URI '" + server + "' is not a URI: expected ws://HOST:PORT/PATH or wss://HOST:PORT/PATH", e);
        }
    }

    public static Builder builder(URI server) {
        return new Builder(server);
    }

    /** Whether the server is reached over TLS ({@code wss://}). */
    public boolean isTls() {
        return "wss".equalsIgnoreCase(server.getScheme());
    }

    /** The server's port, 80 or 443 when the URI has none. */
    public int serverPort() {
        return server.getPort() > 0 ? server.getPort() : (isTls() ? 443 : 80);
    }

    /** The URI of the upgrade request: the server URI with {@code target=} added to its query. */
    public URI requestUri() {
        if (target == null) {
            return server;
        }
        String q = server.getRawQuery();
        String add = "target=" + target;
        try {
            return new URI(server.getScheme(), server.getRawAuthority(), server.getRawPath() == null || server.getRawPath().isEmpty() ? "/" : server.getRawPath(),
                    q == null || q.isEmpty() ? add : q + "&" + add, null);
        } catch (URISyntaxException e) {
            throw new IllegalArgumentException("cannot add target " + target + " to " + server, e);
        }
    }

    BridgeConfig bridgeConfig() {
        return new BridgeConfig(maxFramePayload, maxMessageSize, pingInterval, pingTimeout == null ? Duration.ZERO : pingTimeout, closeTimeout,
                new WriteBufferWaterMark(writeBufferLowWaterMark, writeBufferHighWaterMark));
    }

    /** The token is never printed. */
    @Override
    public String toString() {
        return "TunnelClientOptions[server=" + server + ", target=" + target + ", subprotocol=" + subprotocol + ", bearerToken="
                + (bearerToken == null ? "none" : "set") + ", tls=" + isTls() + ", verifyHostname=" + verifyHostname + ", maxFramePayload="
                + maxFramePayload + ", maxMessageSize=" + maxMessageSize + ", pingInterval=" + pingInterval + ", pingTimeout=" + pingTimeout
                + ", connectTimeout=" + connectTimeout + ", reconnectTimeout=" + reconnectTimeout + ", backoff=" + backoffInitial + ".."
                + backoffMax + ", closeTimeout=" + closeTimeout + ", writeBufferWaterMarks=" + writeBufferLowWaterMark + "/"
                + writeBufferHighWaterMark + "]";
    }

    /**
     * Builder of {@link TunnelClientOptions}. Defaults: subprotocol {@code binary}, the server's default
     * target, hostname verification on (JDK trust store for {@code wss://} unless told otherwise), frames
     * up to 1 MiB and messages up to 16 MiB, a Ping every 20 s and a 60 s dead-peer timeout, 10 s per
     * attempt, 30 s of retries with backoff from 100 ms doubling up to 5 s, 2 s close timeout, water
     * marks 64/256 KiB.
     */
    public static final class Builder {
        private final URI server;
        private TunnelTarget target;
        private String subprotocol = "binary";
        private String bearerToken;
        private SslContext ssl;
        private Path trust;
        private boolean verifyHostname = true;
        private int maxFramePayload = 1 << 20;
        private int maxMessageSize = 16 << 20;
        private Duration pingInterval = Duration.ofSeconds(20);
        private Duration pingTimeout = Duration.ofSeconds(60);
        private Duration connectTimeout = Duration.ofSeconds(10);
        private Duration reconnectTimeout = Duration.ofSeconds(30);
        private Duration backoffInitial = Duration.ofMillis(100);
        private Duration backoffMax = Duration.ofSeconds(5);
        private Duration closeTimeout = Duration.ofSeconds(2);
        private int lowWaterMark = 64 << 10;
        private int highWaterMark = 256 << 10;

        private Builder(URI server) {
            this.server = Objects.requireNonNull(server, "server");
        }

        /**
         * Asks the server for this target ({@code ?target=host:port}); it must be on the server's allow-list.
         *
         * @return {@code this}
         */
        public Builder target(String hostPort) {
            this.target = hostPort == null ? null : TunnelTarget.parse(hostPort);
            return this;
        }

        /**
         * The subprotocol offered; default {@code binary}, null for none.
         *
         * @return {@code this}
         */
        public Builder subprotocol(String subprotocol) {
            this.subprotocol = subprotocol;
            return this;
        }

        /** @return {@code this} */
        public Builder bearerToken(String token) {
            this.bearerToken = token;
            return this;
        }

        /**
         * TLS with this client context (for example one trusting a private CA).
         *
         * @return {@code this}
         */
        public Builder tls(SslContext clientContext) {
            this.ssl = clientContext;
            return this;
        }

        /**
         * Trusts the PEM certificates in this file (a private CA or the server's self-signed certificate)
         * instead of the JDK's trust store.
         *
         * @return {@code this}
         */
        public Builder trust(Path certificatesPem) {
            this.trust = certificatesPem;
            return this;
        }

        /** @return {@code this} */
        public Builder verifyHostname(boolean on) {
            this.verifyHostname = on;
            return this;
        }

        /** @return {@code this} */
        public Builder maxFramePayload(int bytes) {
            this.maxFramePayload = bytes;
            return this;
        }

        /** @return {@code this} */
        public Builder maxMessageSize(int bytes) {
            this.maxMessageSize = bytes;
            return this;
        }

        /**
         * Keepalive: a Ping every {@code interval}; a server from which nothing arrives for
         * {@code timeout} (longer than the interval) is dropped. {@code interval} 0 turns it off.
         *
         * @return {@code this}
         */
        public Builder keepalive(Duration interval, Duration timeout) {
            this.pingInterval = interval;
            this.pingTimeout = timeout;
            return this;
        }

        /** @return {@code this} */
        public Builder connectTimeout(Duration timeout) {
            this.connectTimeout = timeout;
            return this;
        }

        /**
         * How long a new local connection waits for the tunnel while the server cannot be reached;
         * 0 tries once.
         *
         * @return {@code this}
         */
        public Builder reconnectTimeout(Duration timeout) {
            this.reconnectTimeout = timeout;
            return this;
        }

        /** @return {@code this} */
        public Builder backoff(Duration initial, Duration max) {
            this.backoffInitial = initial;
            this.backoffMax = max;
            return this;
        }

        /** @return {@code this} */
        public Builder closeTimeout(Duration timeout) {
            this.closeTimeout = timeout;
            return this;
        }

        /** @return {@code this} */
        public Builder writeBufferWaterMarks(int low, int high) {
            this.lowWaterMark = low;
            this.highWaterMark = high;
            return this;
        }

        /**
         * @throws IllegalArgumentException for an invalid value, named
         * @throws PortsException when the trusted certificates cannot be loaded
         */
        public TunnelClientOptions build() {
            SslContext context = ssl;
            boolean tls = server.getScheme() != null && server.getScheme().equalsIgnoreCase("wss");
            if (context == null && tls) {
                context = clientContext(trust);
            } else if (trust != null && context != null) {
                throw new IllegalArgumentException("give either tls(SslContext) or trust(Path), not both");
            } else if (trust != null) {
                throw new IllegalArgumentException("trust(" + trust + ") is set but the tunnel server URI '" + server + "' is ws://: use wss://");
            }
            return new TunnelClientOptions(server, target, subprotocol, bearerToken, context, verifyHostname, maxFramePayload, maxMessageSize,
                    pingInterval, pingTimeout, connectTimeout, reconnectTimeout, backoffInitial, backoffMax, closeTimeout, lowWaterMark,
                    highWaterMark);
        }

        private static SslContext clientContext(Path trust) {
            try {
                SslContextBuilder b = SslContextBuilder.forClient();
                if (trust != null) {
                    if (!Files.isReadable(trust)) {
                        throw new PortsException("cannot read the trusted certificates " + trust.toAbsolutePath() + ": the file does not exist or is not readable");
                    }
                    b.trustManager(trust.toFile());
                }
                return b.build();
            } catch (PortsException e) {
                throw e;
            } catch (Exception e) {
                throw new PortsException("cannot build the TLS client context" + (trust == null ? "" : " trusting " + trust.toAbsolutePath()) + ": "
                        + e.getMessage() + ". Expected PEM certificates", e);
            }
        }
    }
}
