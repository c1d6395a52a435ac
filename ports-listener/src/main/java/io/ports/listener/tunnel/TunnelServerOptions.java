package io.ports.listener.tunnel;

import io.netty.channel.WriteBufferWaterMark;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.ports.core.PortsException;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;

/**
 * How a {@link TunnelServer} accepts WebSocket connections and which TCP targets it bridges them to.
 * Build with {@link #builder()}; {@link #build()} validates and names the bad value.
 *
 * <p>A client picks its target with the query parameter {@code ?target=host:port}, which must name an
 * entry of {@link #targets()} exactly; without it the connection goes to {@link #defaultTarget()}
 * (which websockify-style clients, which cannot choose, rely on). Everything that can refuse a client
 * is checked before the upgrade, so a refused client gets an HTTP status and nothing is bridged:
 * wrong path 404, missing or wrong bearer token 401, a target not allowed 403, no {@code binary}
 * among offered subprotocols 400, target unreachable 502.
 *
 * @param path              the request path of the endpoint, for example {@code /tunnel}
 * @param targets           the allow-list: the only endpoints connections may be bridged to
 * @param defaultTarget     where a request without {@code ?target=} goes, or null to require the parameter
 * @param ssl               server TLS, or null for plain {@code ws://}
 * @param bearerTokens      accepted {@code Authorization: Bearer} tokens; empty = no authentication
 * @param maxFramePayload   the largest frame payload accepted (larger frames close with 1009), and the largest sent
 * @param maxMessageSize    the largest message (a frame and its continuations) accepted; larger close with 1009
 * @param pingInterval      how often a Ping is sent; {@link Duration#ZERO} turns keepalive off
 * @param pingTimeout       a peer silent this long while we read is taken for dead and dropped
 * @param handshakeTimeout  how long a connection may take to send a complete upgrade request
 * @param connectTimeout    how long connecting to the target may take (502 after it)
 * @param closeTimeout      how long a closing connection waits for the peer's Close, or for a peer that stopped
 *                          reading to take its last frames, before dropping it
 * @param writeBufferLowWaterMark  a paused reader resumes once the other side's pending writes drop below this
 * @param writeBufferHighWaterMark the other side stops reading once a channel has this many bytes pending
 */
public record TunnelServerOptions(String path, List<TunnelTarget> targets, TunnelTarget defaultTarget, SslContext ssl,
                                  Set<String> bearerTokens, int maxFramePayload, int maxMessageSize, Duration pingInterval,
                                  Duration pingTimeout, Duration handshakeTimeout, Duration connectTimeout, Duration closeTimeout,
                                  int writeBufferLowWaterMark, int writeBufferHighWaterMark) {

    public TunnelServerOptions {
        Objects.requireNonNull(path, "path");
        if (!path.startsWith("/") || path.contains("?") || path.contains("#") || path.chars().anyMatch(c -> c <= ' ')) {
            throw new IllegalArgumentException("tunnel path '" + path + "' must start with / and hold no query, fragment or spaces, for example /tunnel");
        }
        targets = List.copyOf(Objects.requireNonNull(targets, "targets"));
        if (targets.isEmpty()) {
            throw new IllegalArgumentException("a tunnel server needs at least one allowed target (host:port): it never bridges to anything else");
        }
        if (defaultTarget != null && !targets.contains(defaultTarget)) {
            throw new IllegalArgumentException("default target " + defaultTarget + " is not among the allowed targets " + targets);
        }
        if (ssl != null && ssl.isClient()) {
            throw new IllegalArgumentException("the tunnel server needs a server SslContext (SslContextBuilder.forServer), got a client one");
        }
        bearerTokens = Set.copyOf(Objects.requireNonNull(bearerTokens, "bearer tokens"));
        bearerTokens.forEach(Checks::token);
        Checks.limits(maxFramePayload, maxMessageSize);
        Checks.keepalive(pingInterval, pingTimeout);
        Checks.positive(handshakeTimeout, "handshake timeout");
        Checks.positive(connectTimeout, "connect timeout");
        Checks.notNegative(closeTimeout, "close timeout");
        Checks.waterMarks(writeBufferLowWaterMark, writeBufferHighWaterMark);
    }

    public static Builder builder() {
        return new Builder();
    }

    /** Whether clients must present a bearer token. */
    public boolean requiresToken() {
        return !bearerTokens.isEmpty();
    }

    BridgeConfig bridgeConfig() {
        return new BridgeConfig(maxFramePayload, maxMessageSize, pingInterval, pingTimeout == null ? Duration.ZERO : pingTimeout, closeTimeout,
                new WriteBufferWaterMark(writeBufferLowWaterMark, writeBufferHighWaterMark));
    }

    /** Tokens are never printed. */
    @Override
    public String toString() {
        return "TunnelServerOptions[path=" + path + ", targets=" + targets + ", defaultTarget=" + defaultTarget + ", tls=" + (ssl != null)
                + ", bearerTokens=" + bearerTokens.size() + ", maxFramePayload=" + maxFramePayload + ", maxMessageSize=" + maxMessageSize
                + ", pingInterval=" + pingInterval + ", pingTimeout=" + pingTimeout + ", handshakeTimeout=" + handshakeTimeout
                + ", connectTimeout=" + connectTimeout + ", closeTimeout=" + closeTimeout + ", writeBufferWaterMarks="
                + writeBufferLowWaterMark + "/" + writeBufferHighWaterMark + "]";
    }

    /**
     * Builder of {@link TunnelServerOptions}. Defaults: path {@code /}, no TLS, no token, frames up to
     * 1 MiB and messages up to 16 MiB, a Ping every 20 s and a 60 s dead-peer timeout, 10 s for the
     * upgrade request and for the target connection, 2 s close timeout, water marks 64/256 KiB.
     */
    public static final class Builder {
        private String path = "/";
        private final List<TunnelTarget> targets = new ArrayList<>();
        private TunnelTarget defaultTarget;
        private boolean defaultTargetSet;
        private SslContext ssl;
        private final Set<String> tokens = new LinkedHashSet<>();
        private int maxFramePayload = 1 << 20;
        private int maxMessageSize = 16 << 20;
        private Duration pingInterval = Duration.ofSeconds(20);
        private Duration pingTimeout = Duration.ofSeconds(60);
        private Duration handshakeTimeout = Duration.ofSeconds(10);
        private Duration connectTimeout = Duration.ofSeconds(10);
        private Duration closeTimeout = Duration.ofSeconds(2);
        private int lowWaterMark = 64 << 10;
        private int highWaterMark = 256 << 10;

        private Builder() {
        }

        /**
         * The request path, for example {@code /tunnel}; default {@code /}.
         *
         * @return {@code this}
         */
        public Builder path(String path) {
            this.path = path;
            return this;
        }

        /**
         * Allows bridging to {@code host:port}; the first target allowed is the default one unless
         * {@link #defaultTarget} says otherwise.
         *
         * @return {@code this}
         * @throws IllegalArgumentException when the text is not {@code host:port}
         */
        public Builder allow(String hostPort) {
            return allow(TunnelTarget.parse(hostPort));
        }

        /** @return {@code this} */
        public Builder allow(TunnelTarget target) {
            Objects.requireNonNull(target, "target");
            if (!targets.contains(target)) {
                targets.add(target);
            }
            return this;
        }

        /**
         * Where requests without {@code ?target=} go; null makes the parameter mandatory.
         *
         * @return {@code this}
         */
        public Builder defaultTarget(String hostPort) {
            this.defaultTarget = hostPort == null ? null : TunnelTarget.parse(hostPort);
            this.defaultTargetSet = true;
            return this;
        }

        /**
         * Serves {@code wss://} with this server context.
         *
         * @return {@code this}
         */
        public Builder tls(SslContext serverContext) {
            this.ssl = serverContext;
            return this;
        }

        /**
         * Serves {@code wss://} with a PEM certificate chain and a PEM PKCS#8 private key.
         *
         * @return {@code this}
         * @throws PortsException naming the files when they cannot be read or do not match
         */
        public Builder tls(Path certificateChainPem, Path privateKeyPem) {
            for (Path p : List.of(certificateChainPem, privateKeyPem)) {
                if (!Files.isReadable(p)) {
                    throw new PortsException("cannot read TLS file " + p.toAbsolutePath() + ": it does not exist or is not readable");
                }
            }
            try {
                this.ssl = SslContextBuilder.forServer(certificateChainPem.toFile(), privateKeyPem.toFile()).build();
            } catch (Exception e) {
                throw new PortsException("cannot load the TLS certificate " + certificateChainPem.toAbsolutePath() + " with the key "
                        + privateKeyPem.toAbsolutePath() + ": " + e.getMessage() + ". Expected PEM files, the key in unencrypted PKCS#8", e);
            }
            return this;
        }

        /**
         * Requires {@code Authorization: Bearer TOKEN} with this token (or any other one added).
         *
         * @return {@code this}
         */
        public Builder bearerToken(String token) {
            tokens.add(Checks.token(token));
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
         * Keepalive: a Ping every {@code interval}; a peer from which nothing arrives for
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
        public Builder handshakeTimeout(Duration timeout) {
            this.handshakeTimeout = timeout;
            return this;
        }

        /** @return {@code this} */
        public Builder connectTimeout(Duration timeout) {
            this.connectTimeout = timeout;
            return this;
        }

        /** @return {@code this} */
        public Builder closeTimeout(Duration timeout) {
            this.closeTimeout = timeout;
            return this;
        }

        /**
         * Bounds the bytes a tunnel holds per channel before it stops reading the other side.
         *
         * @return {@code this}
         */
        public Builder writeBufferWaterMarks(int low, int high) {
            this.lowWaterMark = low;
            this.highWaterMark = high;
            return this;
        }

        public TunnelServerOptions build() {
            TunnelTarget def = defaultTargetSet ? defaultTarget : (targets.isEmpty() ? null : targets.get(0));
            return new TunnelServerOptions(path, targets, def, ssl, tokens, maxFramePayload, maxMessageSize, pingInterval, pingTimeout,
                    handshakeTimeout, connectTimeout, closeTimeout, lowWaterMark, highWaterMark);
        }
    }
}
