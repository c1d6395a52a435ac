package io.ports.listener;

import io.ports.core.Protocol;

import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.Objects;
import java.util.Set;

/**
 * How listeners bind. Build with {@link #builder()}; {@link #defaults()} is a TCP listener with
 * {@code SO_REUSEADDR}, {@code TCP_NODELAY}, a backlog of 1024, one socket per address and a 10 s
 * graceful stop.
 *
 * @param protocol         TCP or UDP (Unix-domain addresses are stream sockets)
 * @param backlog          pending connections the kernel queues (TCP, Unix)
 * @param reuseAddress     {@code SO_REUSEADDR}
 * @param reusePort        {@code SO_REUSEPORT}: several sockets share the port and the kernel spreads connections over them
 * @param socketsPerPort   sockets bound per address when {@code reusePort} is on; 0 = one per event loop thread
 * @param tcpNoDelay       {@code TCP_NODELAY} on accepted connections
 * @param receiveBufferSize {@code SO_RCVBUF}, 0 = the OS default
 * @param sendBufferSize   {@code SO_SNDBUF}, 0 = the OS default
 * @param ipv6Only         a {@code [::]} listener takes IPv6 clients only (default: IPv4 and IPv6 on one socket)
 * @param unixPermissions  permissions of a Unix socket file (for example {@code rw-rw----}), or null for the umask's
 * @param gracefulTimeout  how long a stop lets open connections finish before closing them
 */
public record ListenerOptions(Protocol protocol, int backlog, boolean reuseAddress, boolean reusePort, int socketsPerPort,
                              boolean tcpNoDelay, int receiveBufferSize, int sendBufferSize, boolean ipv6Only,
                              Set<PosixFilePermission> unixPermissions, Duration gracefulTimeout) {

    private static final ListenerOptions DEFAULTS = builder().build();

    public ListenerOptions {
        Objects.requireNonNull(protocol, "protocol");
        if (backlog < 1 || backlog > 65535) {
            throw new IllegalArgumentException("backlog " + backlog + " out of range: expected 1-65535");
        }
        if (socketsPerPort < 0 || socketsPerPort > 256) {
            throw new IllegalArgumentException("sockets per port " + socketsPerPort + " out of range: expected 0 (one per event loop) to 256");
        }
        if (socketsPerPort > 1 && !reusePort) {
            throw new IllegalArgumentException("sockets per port " + socketsPerPort + " needs reusePort(true): only SO_REUSEPORT lets several sockets bind one port");
        }
        if (receiveBufferSize < 0 || sendBufferSize < 0) {
            throw new IllegalArgumentException("buffer sizes must be 0 (OS default) or positive, got receive=" + receiveBufferSize + " send=" + sendBufferSize);
        }
        Objects.requireNonNull(gracefulTimeout, "graceful timeout");
        if (gracefulTimeout.isNegative()) {
            throw new IllegalArgumentException("graceful timeout " + gracefulTimeout + " is negative: expected 0 or more");
        }
        unixPermissions = unixPermissions == null ? null : Set.copyOf(unixPermissions);
    }

    public static ListenerOptions defaults() {
        return DEFAULTS;
    }

    public static Builder builder() {
        return new Builder();
    }

    public Builder toBuilder() {
        Builder b = new Builder();
        b.protocol = protocol;
        b.backlog = backlog;
        b.reuseAddress = reuseAddress;
        b.reusePort = reusePort;
        b.socketsPerPort = socketsPerPort;
        b.tcpNoDelay = tcpNoDelay;
        b.receiveBufferSize = receiveBufferSize;
        b.sendBufferSize = sendBufferSize;
        b.ipv6Only = ipv6Only;
        b.unixPermissions = unixPermissions;
        b.gracefulTimeout = gracefulTimeout;
        return b;
    }

    /** Builder of {@link ListenerOptions}; {@link #build()} validates. */
    public static final class Builder {
        private Protocol protocol = Protocol.TCP;
        private int backlog = 1024;
        private boolean reuseAddress = true;
        private boolean reusePort;
        private int socketsPerPort = 1;
        private boolean tcpNoDelay = true;
        private int receiveBufferSize;
        private int sendBufferSize;
        private boolean ipv6Only;
        private Set<PosixFilePermission> unixPermissions;
        private Duration gracefulTimeout = Duration.ofSeconds(10);

        private Builder() {
        }

        public Builder protocol(Protocol protocol) {
            this.protocol = protocol;
            return this;
        }

        public Builder backlog(int backlog) {
            this.backlog = backlog;
            return this;
        }

        public Builder reuseAddress(boolean on) {
            this.reuseAddress = on;
            return this;
        }

        /** {@code SO_REUSEPORT} with one socket per event loop thread, unless {@link #socketsPerPort} says otherwise. */
        public Builder reusePort(boolean on) {
            this.reusePort = on;
            if (on && socketsPerPort == 1) {
                socketsPerPort = 0;
            } else if (!on) {
                socketsPerPort = 1;
            }
            return this;
        }

        public Builder socketsPerPort(int n) {
            this.socketsPerPort = n;
            return this;
        }

        public Builder tcpNoDelay(boolean on) {
            this.tcpNoDelay = on;
            return this;
        }

        public Builder receiveBufferSize(int bytes) {
            this.receiveBufferSize = bytes;
            return this;
        }

        public Builder sendBufferSize(int bytes) {
            this.sendBufferSize = bytes;
            return this;
        }

        public Builder ipv6Only(boolean on) {
            this.ipv6Only = on;
            return this;
        }

        /** For example {@code "rw-rw----"}. */
        public Builder unixPermissions(String mode) {
            try {
                this.unixPermissions = PosixFilePermissions.fromString(mode);
            } catch (IllegalArgumentException | NullPointerException e) {
                throw new IllegalArgumentException("invalid Unix socket permissions '" + mode + "': expected 9 characters like rw-rw----", e);
            }
            return this;
        }

        public Builder gracefulTimeout(Duration timeout) {
            this.gracefulTimeout = timeout;
            return this;
        }

        public ListenerOptions build() {
            return new ListenerOptions(protocol, backlog, reuseAddress, reusePort, socketsPerPort, tcpNoDelay, receiveBufferSize,
                    sendBufferSize, ipv6Only, unixPermissions, gracefulTimeout);
        }
    }
}
