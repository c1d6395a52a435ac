package io.ports.core;

import io.netty.channel.EventLoop;
import io.netty.channel.IoEventLoop;
import io.netty.channel.IoEventLoopGroup;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.ServerChannel;
import io.netty.channel.SingleThreadIoEventLoop;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollDatagramChannel;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerDomainSocketChannel;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.DatagramChannel;
import io.netty.channel.socket.ServerSocketChannel;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioDatagramChannel;
import io.netty.channel.socket.nio.NioServerDomainSocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.channel.uring.IoUring;
import io.netty.channel.uring.IoUringDatagramChannel;
import io.netty.channel.uring.IoUringIoHandler;
import io.netty.channel.uring.IoUringServerDomainSocketChannel;
import io.netty.channel.uring.IoUringServerSocketChannel;
import io.netty.channel.uring.IoUringSocketChannel;
import io.netty.util.concurrent.BlockingOperationException;
import io.netty.util.concurrent.DefaultPromise;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.ImmediateEventExecutor;
import io.netty.util.concurrent.Promise;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.Arrays;
import java.util.Locale;
import java.util.Objects;
import java.util.concurrent.Executor;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;

/**
 * The one Netty event loop group of a node, shared by every ports component: listeners, the
 * resolver, NAT traversal, the tunnel and the registry daemon borrow loops from it and never create
 * their own. It picks the best transport the host has (io_uring, then epoll, then NIO), which
 * configuration can override, and logs its choice once.
 *
 * <p>Whoever creates it closes it: once, gracefully, waiting at most the shutdown timeout.
 * Borrowers never close it.
 *
 * <pre>{@code
 * try (EventLoops loops = EventLoops.builder().threads(4).build()) {
 *     new ServerBootstrap().group(loops.group()).channel(loops.serverSocketChannelClass())...
 * }
 * }</pre>
 */
public final class EventLoops implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(EventLoops.class);

    /** System property naming the transport ({@code io_uring}, {@code epoll}, {@code nio}, {@code auto}). */
    public static final String TRANSPORT_PROPERTY = "ports.transport";
    /** Environment variable naming the transport, read when the property is not set. */
    public static final String TRANSPORT_ENV = "PORTS_TRANSPORT";

    /** Netty transports, best first. */
    public enum Transport {
        IO_URING, EPOLL, NIO;

        /** Whether this host can use it. */
        public boolean isAvailable() {
            try {
                switch (this) {
                    case IO_URING: return IoUring.isAvailable();
                    case EPOLL: return Epoll.isAvailable();
                    default: return true;
                }
            } catch (Throwable t) { // a platform without the native classes
                return false;
            }
        }

        /** Why it is not available, or "available". */
        public String unavailabilityCause() {
            try {
                switch (this) {
                    case IO_URING: return IoUring.isAvailable() ? "available" : String.valueOf(IoUring.unavailabilityCause());
                    case EPOLL: return Epoll.isAvailable() ? "available" : String.valueOf(Epoll.unavailabilityCause());
                    default: return "available";
                }
            } catch (Throwable t) {
                return t.toString();
            }
        }

        /** Whether sockets of this transport can share a port with {@code SO_REUSEPORT}. */
        public boolean supportsReusePort() {
            return this != NIO;
        }

        /** Parses {@code io_uring}/{@code iouring}, {@code epoll}, {@code nio}; null for {@code auto}. */
        public static Transport parse(String text) {
            String t = text == null ? "" : text.strip().toLowerCase(Locale.ROOT).replace("-", "_");
            switch (t) {
                case "auto": return null;
                case "io_uring": case "iouring": case "uring": return IO_URING;
                case "epoll": return EPOLL;
                case "nio": return NIO;
                default:
                    throw new IllegalArgumentException("unknown transport '" + text + "': expected auto, "
                            + Arrays.stream(values()).map(v -> v.name().toLowerCase(Locale.ROOT)).collect(Collectors.joining(", ")));
            }
        }
    }

    private final Transport transport;
    private final MultiThreadIoEventLoopGroup group;
    private final int threads;
    private final Duration shutdownTimeout;
    private final AtomicBoolean closed = new AtomicBoolean();

    private EventLoops(Builder b) {
        Transport requested = b.transport;
        if (requested == null && !b.transportSetExplicitly) {
            String configured = System.getProperty(TRANSPORT_PROPERTY, System.getenv(TRANSPORT_ENV));
            if (configured != null && !configured.isBlank()) {
                requested = Transport.parse(configured);
            }
        }
        if (requested != null && !requested.isAvailable()) {
            throw new PortsException("transport " + requested.name().toLowerCase(Locale.ROOT) + " was requested but is not available on this host ("
                    + requested.unavailabilityCause() + "); choose another with " + TRANSPORT_PROPERTY + "/" + TRANSPORT_ENV
                    + " (auto, io_uring, epoll, nio) or leave it to auto");
        }
        this.transport = requested != null ? requested : best();
        this.threads = b.threads;
        this.shutdownTimeout = b.shutdownTimeout;
        this.group = new Group(threads, threadFactory(b.threadNamePrefix), handlerFactory(transport));
        log.info("ports event loops: {} threads on {}{}", threads, transport.name().toLowerCase(Locale.ROOT),
                requested != null ? " (configured)" : " (best available)");
    }

    /**
     * The group, with loops whose termination future does not notify through Netty's
     * {@code GlobalEventExecutor}. Netty's own loops complete their termination future on that
     * executor, and {@code MultithreadEventExecutorGroup} adds a listener to each of them, so every
     * shutdown of a plain group starts the non-daemon thread {@code globalEventExecutor-1-1}, which
     * lingers about a second and keeps the JVM from exiting after {@link #close()}. Here each loop's
     * termination future completes, with its listeners run at once, on the loop's own thread as the
     * thread finishes: the same moment and the same listeners, and no thread left behind.
     */
    private static final class Group extends MultiThreadIoEventLoopGroup {
        Group(int threads, ThreadFactory factory, IoHandlerFactory handlers) {
            super(threads, factory, handlers);
        }

        @Override
        protected IoEventLoop newChild(Executor executor, IoHandlerFactory handlers, Object... args) {
            return Loop.create(this, executor, handlers);
        }
    }

    private static final class Loop extends SingleThreadIoEventLoop {
        private final Promise<Void> terminated;

        private Loop(IoEventLoopGroup parent, Executor executor, IoHandlerFactory handlers, Promise<Void> terminated, Loop[] self) {
            super(parent, (Runnable run) -> executor.execute(() -> {
                try {
                    run.run();
                } finally {
                    // after Netty's own termination the loop's thread ends here; a thread that ends because
                    // the loop was suspended (Netty 4.2 can move a loop to a new thread) is not a termination
                    if (self[0].isTerminated()) {
                        terminated.trySuccess(null);
                    }
                }
            }), handlers);
            this.terminated = terminated;
        }

        static Loop create(IoEventLoopGroup parent, Executor executor, IoHandlerFactory handlers) {
            Loop[] self = new Loop[1];
            Promise<Void> terminated = new DefaultPromise<>(ImmediateEventExecutor.INSTANCE) {
                @Override
                protected void checkDeadLock() {
                    if (self[0] != null && self[0].inEventLoop()) { // waiting for the loop on the loop itself
                        throw new BlockingOperationException(toString());
                    }
                }
            };
            self[0] = new Loop(parent, executor, handlers, terminated, self);
            return self[0];
        }

        @Override
        public Future<?> terminationFuture() {
            return terminated;
        }
    }

    /** Default settings: the best transport, one thread per available processor. */
    public static EventLoops create() {
        return builder().build();
    }

    public static Builder builder() {
        return new Builder();
    }

    private static Transport best() {
        for (Transport t : Transport.values()) {
            if (t.isAvailable()) {
                return t;
            }
            log.debug("transport {} unavailable: {}", t, t.unavailabilityCause());
        }
        return Transport.NIO;
    }

    private static IoHandlerFactory handlerFactory(Transport t) {
        switch (t) {
            case IO_URING: return IoUringIoHandler.newFactory();
            case EPOLL: return EpollIoHandler.newFactory();
            default: return NioIoHandler.newFactory();
        }
    }

    private static ThreadFactory threadFactory(String prefix) {
        AtomicInteger n = new AtomicInteger();
        return r -> {
            Thread t = new io.netty.util.concurrent.FastThreadLocalThread(r, prefix + "-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        };
    }

    public Transport transport() {
        return transport;
    }

    public int threads() {
        return threads;
    }

    /** The group, to hand to a bootstrap. Do not shut it down: close this object instead. */
    public MultiThreadIoEventLoopGroup group() {
        return group;
    }

    public EventLoop next() {
        return (EventLoop) group.next();
    }

    public boolean isClosed() {
        return closed.get();
    }

    public Class<? extends ServerSocketChannel> serverSocketChannelClass() {
        switch (transport) {
            case IO_URING: return IoUringServerSocketChannel.class;
            case EPOLL: return EpollServerSocketChannel.class;
            default: return NioServerSocketChannel.class;
        }
    }

    public Class<? extends SocketChannel> socketChannelClass() {
        switch (transport) {
            case IO_URING: return IoUringSocketChannel.class;
            case EPOLL: return EpollSocketChannel.class;
            default: return NioSocketChannel.class;
        }
    }

    public Class<? extends DatagramChannel> datagramChannelClass() {
        switch (transport) {
            case IO_URING: return IoUringDatagramChannel.class;
            case EPOLL: return EpollDatagramChannel.class;
            default: return NioDatagramChannel.class;
        }
    }

    /** Unix-domain server channels. */
    public Class<? extends ServerChannel> domainServerChannelClass() {
        switch (transport) {
            case IO_URING: return IoUringServerDomainSocketChannel.class;
            case EPOLL: return EpollServerDomainSocketChannel.class;
            default: return NioServerDomainSocketChannel.class;
        }
    }

    /**
     * Shuts the group down gracefully, once: no quiet period, at most the shutdown timeout. Restores
     * the interrupt flag when interrupted while waiting.
     */
    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        long ms = shutdownTimeout.toMillis();
        try {
            if (!group.shutdownGracefully(0, ms, TimeUnit.MILLISECONDS).await(ms + 1000, TimeUnit.MILLISECONDS)) {
                log.warn("ports event loops did not stop within {} ms", ms);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            log.warn("interrupted while stopping the ports event loops");
        }
    }

    @Override
    public String toString() {
        return "EventLoops[" + transport.name().toLowerCase(Locale.ROOT) + ", " + threads + " threads" + (closed.get() ? ", closed]" : "]");
    }

    /** Configures {@link EventLoops}. */
    public static final class Builder {
        private Transport transport;
        private boolean transportSetExplicitly;
        private int threads = Runtime.getRuntime().availableProcessors();
        private String threadNamePrefix = "ports-io";
        private Duration shutdownTimeout = Duration.ofSeconds(5);

        private Builder() {
        }

        /** Forces a transport; null means the best available. Overrides the property and the environment. */
        public Builder transport(Transport transport) {
            this.transport = transport;
            this.transportSetExplicitly = true;
            return this;
        }

        public Builder threads(int threads) {
            if (threads < 1 || threads > 1024) {
                throw new IllegalArgumentException("event loop threads " + threads + " out of range: expected 1-1024");
            }
            this.threads = threads;
            return this;
        }

        /** Threads are named {@code PREFIX-1}, {@code PREFIX-2}, ...; default {@code ports-io}. */
        public Builder threadNamePrefix(String prefix) {
            if (prefix == null || prefix.isBlank()) {
                throw new IllegalArgumentException("thread name prefix must not be blank, for example ports-io");
            }
            this.threadNamePrefix = prefix;
            return this;
        }

        public Builder shutdownTimeout(Duration timeout) {
            Objects.requireNonNull(timeout, "shutdown timeout");
            if (timeout.isNegative()) {
                throw new IllegalArgumentException("shutdown timeout " + timeout + " is negative: expected 0 or more");
            }
            this.shutdownTimeout = timeout;
            return this;
        }

        public EventLoops build() {
            return new EventLoops(this);
        }
    }
}
