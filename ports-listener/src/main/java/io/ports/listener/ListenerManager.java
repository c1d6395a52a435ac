package io.ports.listener;

import io.netty.bootstrap.AbstractBootstrap;
import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.channel.socket.nio.NioChannelOption;
import io.netty.channel.unix.DomainSocketAddress;
import io.netty.channel.unix.Errors;
import io.netty.channel.unix.IntegerUnixChannelOption;
import io.netty.channel.unix.UnixChannelOption;
import io.netty.util.concurrent.EventExecutor;
import io.ports.core.EventLoops;
import io.ports.core.PortInUseException;
import io.ports.core.PortLease;
import io.ports.core.Protocol;
import io.ports.core.PortsException;
import io.ports.core.internal.ProcFs;
import io.ports.core.internal.SocketBinder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.net.ConnectException;
import java.net.Inet6Address;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.StandardProtocolFamily;
import java.net.StandardSocketOptions;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.LongAdder;
import java.util.stream.Collectors;

/**
 * Starts and stops the listeners of a node on the shared {@link EventLoops}: TCP, UDP and Unix-domain,
 * on addresses written as users write them ({@link ListenAddress}). The caller supplies the pipeline.
 *
 * <pre>{@code
 * ListenerManager listeners = new ListenerManager(loops);
 * List<Listener> started = listeners.start(List.of("[::]:5432", "unix:/run/db/db.sock"),
 *         ListenerOptions.defaults(), new ChannelInitializer<Channel>() { ... });
 * Listener cluster = listeners.listen(clusterLease, ListenerOptions.defaults(), clusterInitializer);
 * }</pre>
 *
 * <h2>Dual stack</h2>
 * {@code [::]:P} binds one IPv6 socket with {@code IPV6_V6ONLY} off, which takes IPv4 clients too (they
 * appear as {@code ::ffff:a.b.c.d}). One socket rather than an IPv4 and an IPv6 socket side by side:
 * one accept queue, one bind that either succeeds for both families or fails for both, and no window
 * in which only one family is listening. {@link ListenerOptions#ipv6Only()} makes it IPv6 only; add a
 * {@code 0.0.0.0:P} address beside it to serve IPv4 from a separate socket.
 *
 * <h2>Hand-off from a lease</h2>
 * {@link #listen(PortLease, ListenerOptions, ChannelHandler)} binds beside the lease's holding socket
 * with {@code SO_REUSEPORT} and {@code SO_REUSEADDR}, which both hold modes admit, and only once the
 * listener is bound closes the holder: the port is never free in between. With
 * {@link io.ports.core.HoldMode#EXCLUSIVE} leases, nobody but the same user's {@code SO_REUSEPORT}
 * sockets could bind the port at any moment of it. The listener then owns the lease and releases it
 * when it stops.
 *
 * <p>Starting several addresses is all or nothing: when one fails, those already bound are closed
 * before the failure is thrown.
 */
public final class ListenerManager implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(ListenerManager.class);
    private static final Duration BIND_TIMEOUT = Duration.ofSeconds(10);
    private static final ChannelOption<Integer> IPV6_V6ONLY = new IntegerUnixChannelOption("IPV6_V6ONLY", 41, 26);

    private final EventLoops loops;
    private final Set<Listener> listeners = ConcurrentHashMap.newKeySet();

    /** Borrows {@code loops}; closing the manager stops its listeners but never the loops. */
    public ListenerManager(EventLoops loops) {
        this.loops = Objects.requireNonNull(loops, "event loops");
    }

    /** The event loops this manager borrows; components built on its listeners (the tunnel) run on them too. */
    public EventLoops loops() {
        return loops;
    }

    /** Starts one listener. */
    public Listener start(String address, ListenerOptions options, ChannelHandler initializer) {
        return start(List.of(address), options, initializer).get(0);
    }

    /**
     * Starts one listener per address, all or nothing. Blocks until every socket is bound (at most
     * 10 s each); must not be called on a ports event loop.
     *
     * @param initializer the pipeline of each accepted connection (TCP, Unix) or of the socket (UDP)
     * @throws IllegalArgumentException when an address is malformed (nothing is started)
     * @throws PortInUseException       when an address is in use, naming the holder where Linux tells
     * @throws PortsException           for permission denied, an address not on this host, and other failures
     */
    public List<Listener> start(List<String> addresses, ListenerOptions options, ChannelHandler initializer) {
        Objects.requireNonNull(options, "options");
        Objects.requireNonNull(initializer, "initializer");
        List<ListenAddress> parsed = addresses.stream().map(ListenAddress::parse).toList(); // all validated before any bind
        checkNotOnEventLoop(loops, "ListenerManager.start");
        List<Listener> started = new ArrayList<>();
        try {
            for (ListenAddress a : parsed) {
                started.add(startOne(a, options, initializer, null));
            }
            return List.copyOf(started);
        } catch (RuntimeException e) {
            CompletableFuture<?>[] stops = started.stream().map(l -> l.stop(Duration.ZERO)).toArray(CompletableFuture[]::new);
            try {
                CompletableFuture.allOf(stops).get(BIND_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
            } catch (InterruptedException ie) {
                Thread.currentThread().interrupt();
            } catch (ExecutionException | TimeoutException te) {
                e.addSuppressed(te);
            }
            throw e;
        }
    }

    /** Listens on the lease's port on every address ({@code [::]}, or {@code 0.0.0.0} without IPv6). */
    public Listener listen(PortLease lease, ListenerOptions options, ChannelHandler initializer) {
        String host = SocketBinder.system().ipv6Available() ? "[::]" : "0.0.0.0";
        return listen(lease, host, options, initializer);
    }

    /**
     * Listens on the lease's port on {@code host} ({@code 0.0.0.0}, {@code [::]}, {@code 127.0.0.1}, ...)
     * without ever leaving the port free, and takes the lease over: it is released when the listener stops.
     */
    public Listener listen(PortLease lease, String host, ListenerOptions options, ChannelHandler initializer) {
        Objects.requireNonNull(lease, "lease");
        if (lease.isReleased()) {
            throw new IllegalStateException("lease " + lease + " is already released: allocate a new one");
        }
        ListenAddress a = ListenAddress.parse(host + ":" + lease.port());
        checkNotOnEventLoop(loops, "ListenerManager.listen");
        ListenerOptions handOff = options.toBuilder().reuseAddress(true).build();
        return startOne(a, handOff, initializer, lease);
    }

    /** The running listeners. */
    public List<Listener> listeners() {
        return List.copyOf(listeners);
    }

    /** Stops every listener gracefully; the future completes when all are stopped. */
    public CompletableFuture<Void> stopAll() {
        return CompletableFuture.allOf(listeners.stream().map(Listener::stop).toArray(CompletableFuture[]::new));
    }

    public CompletableFuture<Void> stopAll(Duration timeout) {
        return CompletableFuture.allOf(listeners.stream().map(l -> l.stop(timeout)).toArray(CompletableFuture[]::new));
    }

    /** Stops every listener and waits for it, bounded by the longest graceful timeout plus five seconds. */
    @Override
    public void close() {
        checkNotOnEventLoop(loops, "ListenerManager.close()");
        long graceful = listeners.stream().mapToLong(l -> l.gracefulTimeout().toMillis()).max().orElse(0);
        try {
            stopAll().get(graceful + 5000, TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (ExecutionException | TimeoutException e) {
            log.warn("listeners did not all stop: {}", e.toString());
        }
    }

    void removed(Listener l) {
        listeners.remove(l);
    }

    // ------------------------------------------------------------------------------------ binding

    private Listener startOne(ListenAddress a, ListenerOptions o, ChannelHandler initializer, PortLease lease) {
        boolean unix = a.isUnix();
        if (unix && o.protocol() == Protocol.UDP) {
            throw new IllegalArgumentException("listen address '" + a + "': Unix-domain listeners are stream sockets; use protocol TCP");
        }
        if (unix) {
            clearStaleSocketFile(a);
        }
        boolean reusePort = (o.reusePort() || lease != null) && !unix;
        int count = unix || !o.reusePort() ? 1 : (o.socketsPerPort() == 0 ? loops.threads() : o.socketsPerPort());
        ChannelGroup connections = new DefaultChannelGroup(a.text(), loops.next());
        LongAdder accepted = new LongAdder();
        List<Channel> bound = new ArrayList<>(count);
        int port = a.port();
        try {
            for (int i = 0; i < count; i++) {
                SocketAddress target = unix ? unixAddress(a.path()) : new InetSocketAddress(a.host(), port);
                bound.add(bindOne(a, o, reusePort, target, initializer, connections, accepted, port));
                if (!unix && port == 0) {
                    port = ((InetSocketAddress) bound.get(0).localAddress()).getPort(); // siblings share the real port
                }
            }
            if (unix && o.unixPermissions() != null) {
                Files.setPosixFilePermissions(a.path(), o.unixPermissions());
            }
        } catch (IOException e) {
            closeAll(bound);
            throw new PortsException("cannot set permissions " + o.unixPermissions() + " on " + a.path() + ": " + e, e);
        } catch (RuntimeException e) {
            closeAll(bound);
            throw e;
        }
        if (lease != null) {
            lease.releaseHold(); // the listener is bound: the holder can go, the port was never free
        }
        Listener l = new Listener(this, a, o, loops.transport(), bound, connections, accepted, lease);
        listeners.add(l);
        log.info("listening on {} -> {} ({}, {}, {} socket{})", a, l.boundAddresses(), l.protocol(),
                loops.transport().name().toLowerCase(java.util.Locale.ROOT), count, count == 1 ? "" : "s");
        return l;
    }

    private Channel bindOne(ListenAddress a, ListenerOptions o, boolean reusePort, SocketAddress target, ChannelHandler initializer,
                            ChannelGroup connections, LongAdder accepted, int port) {
        boolean unix = a.isUnix();
        AbstractBootstrap<?, ?> b;
        if (unix || o.protocol() == Protocol.TCP) {
            ServerBootstrap sb = new ServerBootstrap().group(loops.group())
                    .channel(unix ? loops.domainServerChannelClass() : loops.serverSocketChannelClass())
                    .option(ChannelOption.SO_BACKLOG, o.backlog())
                    .childHandler(new ChannelInitializer<Channel>() {
                        @Override
                        protected void initChannel(Channel ch) {
                            connections.add(ch);
                            accepted.increment();
                            ch.pipeline().addLast(initializer);
                        }
                    });
            if (!unix) {
                sb.option(ChannelOption.SO_REUSEADDR, o.reuseAddress()).childOption(ChannelOption.TCP_NODELAY, o.tcpNoDelay());
                if (o.receiveBufferSize() > 0) {
                    sb.option(ChannelOption.SO_RCVBUF, o.receiveBufferSize()).childOption(ChannelOption.SO_RCVBUF, o.receiveBufferSize());
                }
                if (o.sendBufferSize() > 0) {
                    sb.childOption(ChannelOption.SO_SNDBUF, o.sendBufferSize());
                }
            }
            b = sb;
        } else {
            Bootstrap db = new Bootstrap().group(loops.group()).channel(loops.datagramChannelClass()).handler(initializer)
                    .option(ChannelOption.SO_REUSEADDR, o.reuseAddress());
            if (o.receiveBufferSize() > 0) {
                db.option(ChannelOption.SO_RCVBUF, o.receiveBufferSize());
            }
            if (o.sendBufferSize() > 0) {
                db.option(ChannelOption.SO_SNDBUF, o.sendBufferSize());
            }
            b = db;
        }
        if (!unix) {
            boolean nativeTransport = loops.transport() != EventLoops.Transport.NIO;
            if (reusePort) {
                if (nativeTransport) {
                    b.option(UnixChannelOption.SO_REUSEPORT, true);
                } else {
                    b.option(NioChannelOption.of(StandardSocketOptions.SO_REUSEPORT), true);
                }
            }
            if (a.host() instanceof Inet6Address && a.isWildcard()) {
                if (nativeTransport) {
                    b.option(IPV6_V6ONLY, o.ipv6Only() ? 1 : 0); // explicit: net.ipv6.bindv6only may default to 1
                } else if (o.ipv6Only()) {
                    throw new IllegalArgumentException("listen address '" + a + "': ipv6Only needs the epoll or io_uring transport (the JDK has no IPV6_V6ONLY option)");
                }
            }
        }
        ChannelFuture f = b.bind(target);
        if (!f.awaitUninterruptibly(BIND_TIMEOUT.toMillis())) {
            f.cancel(false);
            f.channel().close();
            throw new PortsException("binding " + a + " did not complete within " + BIND_TIMEOUT.toSeconds() + " s");
        }
        if (!f.isSuccess()) {
            f.channel().close();
            throw translate(f.cause(), a, unix ? -1 : (port != 0 ? port : a.port()), unix ? Protocol.TCP : o.protocol());
        }
        return f.channel();
    }

    private SocketAddress unixAddress(Path path) {
        return loops.transport() == EventLoops.Transport.NIO ? UnixDomainSocketAddress.of(path) : new DomainSocketAddress(path.toString());
    }

    /**
     * A socket file left by a process that died is removed; a file somebody listens on, or a file that
     * is not a socket, is left alone and reported.
     */
    private static void clearStaleSocketFile(ListenAddress a) {
        Path p = a.path();
        if (!Files.exists(p, LinkOption.NOFOLLOW_LINKS)) {
            if (!Files.isDirectory(p.getParent())) {
                throw new PortsException("cannot listen on " + a + ": the directory " + p.getParent() + " does not exist; create it first");
            }
            return;
        }
        int mode;
        try {
            mode = (Integer) Files.getAttribute(p, "unix:mode", LinkOption.NOFOLLOW_LINKS);
        } catch (IOException | UnsupportedOperationException e) {
            throw new PortsException("cannot listen on " + a + ": the path exists and its type cannot be read (" + e + ")", e);
        }
        if ((mode & 0170000) != 0140000) {
            throw new PortsException("cannot listen on " + a + ": " + p + " exists and is not a socket; it was left untouched. Remove it or choose another path");
        }
        try (SocketChannel probe = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            probe.connect(UnixDomainSocketAddress.of(p));
            throw new PortInUseException(a.text(), "a process that accepts connections on " + p, null);
        } catch (ConnectException refused) {
            try {
                Files.delete(p);
                log.info("removed stale Unix socket file {} (nobody listens on it)", p);
            } catch (IOException e) {
                throw new PortsException("cannot listen on " + a + ": the stale socket file could not be removed (" + e + ")", e);
            }
        } catch (IOException e) {
            throw new PortsException("cannot listen on " + a + ": checking the existing socket file failed (" + e + ")", e);
        }
    }

    private static PortsException translate(Throwable cause, ListenAddress a, int port, Protocol protocol) {
        SocketBinder.Status status = cause instanceof Errors.NativeIoException
                ? SocketBinder.statusOfErrno(((Errors.NativeIoException) cause).expectedErr())
                : cause instanceof IOException ? SocketBinder.statusOfMessage((IOException) cause) : SocketBinder.Status.ERROR;
        String where = a.isUnix() ? a.text() : a.text() + (port != a.port() ? " (port " + port + ")" : "") + " (" + protocol + ")";
        switch (status) {
            case IN_USE:
                return new PortInUseException(where, a.isUnix() ? "" : holders(port, protocol), cause);
            case PERMISSION_DENIED:
                return new PortsException("cannot listen on " + where + ": permission denied. "
                        + (a.isUnix() ? "The process needs write access to " + a.path().getParent()
                                : "Ports below 1024 need root or CAP_NET_BIND_SERVICE (or a lower net.ipv4.ip_unprivileged_port_start); use a port of 1024 or above"),
                        cause);
            case ADDRESS_NOT_AVAILABLE:
                return new PortsException("cannot listen on " + where + ": " + a.hostString()
                        + " is not an address of this host. Use an address of one of its interfaces, or 0.0.0.0 / [::] for all of them", cause);
            default:
                return new PortsException("cannot listen on " + where + ": " + cause, cause);
        }
    }

    private static String holders(int port, Protocol protocol) {
        List<ProcFs.SocketEntry> entries = ProcFs.socketsByPort(true).getOrDefault(port, List.of());
        return entries.stream()
                .filter(e -> e.protocol() == protocol && (protocol == Protocol.UDP || e.state().equals("LISTEN") || e.state().equals("CLOSE")))
                .map(e -> e.owner().map(Object::toString).orElse("a process not visible to us") + ": " + e.protocol() + " " + e.localAddress() + ":" + e.port()
                        + (e.state().isEmpty() ? "" : " " + e.state()))
                .distinct()
                .collect(Collectors.joining("; "));
    }

    private static void closeAll(List<Channel> channels) {
        for (Channel ch : channels) {
            ch.close().awaitUninterruptibly(BIND_TIMEOUT.toMillis());
        }
    }

    static CompletableFuture<Void> toCompletable(io.netty.util.concurrent.Future<?> f) {
        CompletableFuture<Void> c = new CompletableFuture<>();
        f.addListener(x -> c.complete(null));
        return c;
    }

    static void checkNotOnEventLoop(EventLoops loops, String what) {
        for (EventExecutor e : loops.group()) {
            if (e.inEventLoop()) {
                throw new IllegalStateException(what + " blocks and must not be called on a ports event loop thread; use the asynchronous stop() there");
            }
        }
    }

    @Override
    public String toString() {
        return "ListenerManager" + listeners;
    }
}
