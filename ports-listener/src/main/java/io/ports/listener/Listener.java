package io.ports.listener;

import io.netty.channel.Channel;
import io.netty.channel.group.ChannelGroup;
import io.ports.core.EventLoops;
import io.ports.core.PortLease;
import io.ports.core.Protocol;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.LongAdder;

/**
 * One running listener: the sockets bound for one address (several with {@code SO_REUSEPORT}),
 * the connections they accepted, and the lease it owns when it was started from one.
 *
 * <p>{@link #stop()} stops accepting at once, lets open connections finish up to the graceful timeout,
 * then closes them, removes its Unix socket file and releases its lease. It runs once; later calls
 * return the same future. {@link #close()} is a bounded, blocking stop.
 */
public final class Listener implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(Listener.class);

    private final ListenerManager manager;
    private final ListenAddress address;
    private final ListenerOptions options;
    private final EventLoops.Transport transport;
    private final List<Channel> sockets;
    private final ChannelGroup connections;
    private final LongAdder accepted;
    private final PortLease lease;
    private final AtomicBoolean stopping = new AtomicBoolean();
    private final CompletableFuture<Void> stopped = new CompletableFuture<>();

    Listener(ListenerManager manager, ListenAddress address, ListenerOptions options, EventLoops.Transport transport,
             List<Channel> sockets, ChannelGroup connections, LongAdder accepted, PortLease lease) {
        this.manager = manager;
        this.address = address;
        this.options = options;
        this.transport = transport;
        this.sockets = List.copyOf(sockets);
        this.connections = connections;
        this.accepted = accepted;
        this.lease = lease;
    }

    /** The address as it was asked for, for example {@code 127.0.0.1:0}. */
    public ListenAddress address() {
        return address;
    }

    public Protocol protocol() {
        return address.isUnix() ? Protocol.TCP : options.protocol();
    }

    public EventLoops.Transport transport() {
        return transport;
    }

    /** The addresses the sockets are bound to, the real port included when 0 was asked. */
    public List<SocketAddress> boundAddresses() {
        return sockets.stream().map(Channel::localAddress).distinct().toList();
    }

    /** The port bound, or -1 for a Unix-domain listener. */
    public int port() {
        SocketAddress a = sockets.get(0).localAddress();
        return a instanceof InetSocketAddress ? ((InetSocketAddress) a).getPort() : -1;
    }

    /** Sockets bound for this address: more than one with {@code SO_REUSEPORT}. */
    public int socketCount() {
        return sockets.size();
    }

    /** Connections open now (0 for UDP, which has none). */
    public int openConnections() {
        return connections.size();
    }

    /** Connections accepted since the start. */
    public long acceptedConnections() {
        return accepted.sum();
    }

    /** The lease this listener owns, when it was started from one. */
    public PortLease lease() {
        return lease;
    }

    /** How long a {@link #stop()} lets open connections finish before closing them. */
    public Duration gracefulTimeout() {
        return options.gracefulTimeout();
    }

    public boolean isRunning() {
        return !stopping.get();
    }

    /** Graceful stop with the configured timeout. */
    public CompletableFuture<Void> stop() {
        return stop(options.gracefulTimeout());
    }

    /**
     * Stops accepting now, lets open connections finish for up to {@code timeout}, then closes them.
     * The future completes when every socket and connection is closed; it never fails.
     */
    public CompletableFuture<Void> stop(Duration timeout) {
        if (!stopping.compareAndSet(false, true)) {
            return stopped;
        }
        CompletableFuture<?>[] closing = sockets.stream().map(ch -> ListenerManager.toCompletable(ch.close())).toArray(CompletableFuture[]::new);
        CompletableFuture.allOf(closing).whenComplete((v, e) -> {
            removeSocketFile();
            awaitConnections(System.nanoTime() + timeout.toNanos());
        });
        return stopped;
    }

    private void awaitConnections(long deadline) {
        if (connections.isEmpty()) {
            finish();
            return;
        }
        long left = deadline - System.nanoTime();
        if (left <= 0) {
            log.info("{}: closing {} connection(s) still open after the graceful timeout", address, connections.size());
            connections.close().addListener(f -> finish());
            return;
        }
        io.netty.util.concurrent.ScheduledFuture<?> force = manager.loops().next().schedule(() -> {
            if (!connections.isEmpty()) {
                log.info("{}: closing {} connection(s) still open after the graceful timeout", address, connections.size());
                connections.close();
            }
        }, left, TimeUnit.NANOSECONDS);
        connections.newCloseFuture().addListener(f -> {
            force.cancel(false);
            awaitConnections(deadline); // a connection accepted just before the stop may have joined since
        });
    }

    private void finish() {
        if (stopped.isDone()) {
            return;
        }
        if (lease != null) {
            lease.close();
        }
        manager.removed(this);
        log.debug("{} stopped", address);
        stopped.complete(null);
    }

    private void removeSocketFile() {
        Path p = address.path();
        if (p != null) {
            try {
                Files.deleteIfExists(p);
            } catch (IOException e) {
                log.warn("could not remove Unix socket file {}: {}", p, e.toString());
            }
        }
    }

    /**
     * Stops gracefully and waits for it: at most the graceful timeout plus five seconds. Must not be
     * called on a ports event loop thread (use {@link #stop()} there).
     */
    @Override
    public void close() {
        ListenerManager.checkNotOnEventLoop(manager.loops(), "Listener.close()");
        try {
            stop().get(options.gracefulTimeout().toMillis() + 5000, TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (ExecutionException | TimeoutException e) {
            log.warn("{}: stop did not complete: {}", address, e.toString());
        }
    }

    @Override
    public String toString() {
        return "Listener[" + address + " -> " + boundAddresses() + ", " + protocol() + ", " + transport + ", sockets=" + sockets.size()
                + ", open=" + openConnections() + (isRunning() ? "]" : ", stopped]");
    }
}
