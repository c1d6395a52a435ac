package io.ports.resolver;

import io.netty.channel.EventLoop;
import io.netty.channel.socket.SocketChannel;
import io.ports.core.EventLoops;
import io.ports.core.PortsException;
import org.xbill.DNS.Message;
import org.xbill.DNS.Name;

import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Sends one question to the configured servers and returns the first usable answer: UDP with
 * EDNS0 through a {@link UdpSocketPool} socket (long-lived, on a random port, rotated) under a random
 * id, TCP when the answer is truncated, {@code attempts} rounds over the servers with a timeout per attempt, failing over to
 * the next server on a timeout or an error code. The server that answered last is asked first next
 * time, so a dead first server costs one timeout, not one per question.
 *
 * <p>Everything of one question runs on the event loop of its pool slot, borrowed from {@link EventLoops}.
 */
final class DnsTransport {

    /** A usable answer: NOERROR or NXDOMAIN, id and question checked. */
    record Response(Message message, InetSocketAddress server, boolean tcp) {
    }

    final EventLoops loops;
    final List<InetSocketAddress> servers;
    final Duration timeout;
    final int attempts;
    final int ednsPayloadSize;
    final Counters counters;
    final Class<? extends SocketChannel> socketClass;
    final AtomicInteger preferred = new AtomicInteger();
    final UdpSocketPool pool;
    private final Set<DnsQuery> active = ConcurrentHashMap.newKeySet();
    private volatile boolean closed;

    DnsTransport(EventLoops loops, List<InetSocketAddress> servers, Duration timeout, int attempts, int ednsPayloadSize,
                 int udpSockets, int udpSocketMaxQueries, Duration udpSocketMaxAge, Counters counters) {
        this.loops = loops;
        this.servers = List.copyOf(servers);
        this.timeout = timeout;
        this.attempts = attempts;
        this.ednsPayloadSize = ednsPayloadSize;
        this.counters = counters;
        this.socketClass = loops.socketChannelClass();
        this.pool = new UdpSocketPool(loops, udpSockets, udpSocketMaxQueries, udpSocketMaxAge, Math.max(2048, ednsPayloadSize));
    }

    /**
     * Asks {@code name}/{@code type}. Completes with a {@link Response}, or fails with
     * {@link DnsTimeoutException} or {@link ServerFailureException} (or a {@link PortsException}
     * when the resolver is closed or the loops are gone).
     */
    CompletableFuture<Response> query(Name name, int type) {
        if (closed) {
            return CompletableFuture.failedFuture(new PortsException("the resolver is closed: cannot ask " + name + " "
                    + org.xbill.DNS.Type.string(type)));
        }
        DnsQuery q = new DnsQuery(this, pool.pick(), name, type);
        EventLoop loop = q.loop();
        active.add(q);
        q.promise.whenComplete((r, t) -> active.remove(q));
        if (closed) { // closed between the check and add: close() may have missed it
            q.abort(new PortsException("the resolver is closed"));
            return q.promise;
        }
        if (loop.inEventLoop()) { // a CNAME to follow or the next search candidate: no hop
            q.start();
            return q.promise;
        }
        try {
            loop.execute(q::start);
        } catch (RejectedExecutionException e) {
            q.promise.completeExceptionally(new PortsException("cannot ask " + name + " " + org.xbill.DNS.Type.string(type)
                    + ": the event loops are shut down; close the resolver before its EventLoops", e));
        }
        return q.promise;
    }

    int indexOf(InetSocketAddress server) {
        return servers.indexOf(server);
    }

    /**
     * Fails every question in flight, then closes every UDP socket; new questions fail at once.
     * Completes when the sockets are closed.
     */
    CompletableFuture<Void> close() {
        closed = true;
        for (DnsQuery q : active) {
            q.abort(new PortsException("the resolver was closed while asking " + q.describe()));
        }
        return pool.close(); // after the aborts: each slot's loop runs them first
    }
}
