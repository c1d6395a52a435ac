package io.ports.nat;

import io.ports.core.Protocol;
import io.ports.nat.internal.NatUtil;

import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A lease's port opened on the gateway, one {@link MappedPort} per transport protocol of the lease,
 * kept renewed by its {@link NatTraversal} until closed. Close it (once; later calls do nothing) to
 * delete the mappings on the gateway; close it before the lease.
 *
 * <p>Renewals follow the protocol's rules (NAT-PMP and UPnP at half the lifetime, PCP between 1/2 and
 * 5/8); a gateway that lost its state is noticed (NAT-PMP/PCP epoch, UPnP control URL gone) and the
 * mapping made again, possibly with another external port: read {@link #ports()} again, or listen
 * with a {@link MappingListener}.
 */
public final class PortMapping implements AutoCloseable {
    /** One transport's mapping and its renewal state; guarded by the owner's event loop. */
    static final class Entry {
        final PortMapper.Request request;
        volatile PortMapper.Grant grant;
        long expiresAt;
        long lifetimeNanos;
        int failuresSinceExpiry;
        boolean renewing;
        /** Set when the gateway lost its state while a renewal was in flight: that renewal counts as a re-creation. */
        String lostWhileRenewing;
        Scheduler.Cancellable timer;

        Entry(PortMapper.Request request, PortMapper.Grant grant) {
            this.request = request;
            this.grant = grant;
        }
    }

    private final NatTraversal owner;
    private final String service;
    private final int internalPort;
    private final PortMapper mapper;
    final List<Entry> entries;
    private final AtomicBoolean closed = new AtomicBoolean();
    private volatile int renewals;
    private volatile int recreations;
    private volatile NatTraversalException lastError;
    private volatile CompletableFuture<Void> closing;

    PortMapping(NatTraversal owner, String service, int internalPort, PortMapper mapper, List<Entry> entries) {
        this.owner = owner;
        this.service = service;
        this.internalPort = internalPort;
        this.mapper = mapper;
        this.entries = List.copyOf(entries);
    }

    PortMapper mapper() {
        return mapper;
    }

    /** The service of the lease. */
    public String service() {
        return service;
    }

    public int internalPort() {
        return internalPort;
    }

    /** The protocol that serves this mapping. */
    public MappingProtocol protocol() {
        return mapper.protocol();
    }

    /** The current mapping of each transport protocol. */
    public List<MappedPort> ports() {
        List<MappedPort> out = new ArrayList<>();
        for (Entry e : entries) {
            out.add(port(e));
        }
        return out;
    }

    static MappedPort port(Entry e, MappingProtocol protocol) {
        PortMapper.Grant g = e.grant;
        return new MappedPort(e.request.transport(), e.request.internalPort(), new InetSocketAddress(g.externalAddress(), g.externalPort()),
                protocol, Duration.ofSeconds(g.lifetimeSeconds()));
    }

    MappedPort port(Entry e) {
        return port(e, protocol());
    }

    /** The public endpoint of {@code transport}. @throws IllegalArgumentException when the lease has no such transport */
    public InetSocketAddress external(Protocol transport) {
        for (Entry e : entries) {
            if (e.request.transport() == transport) {
                return port(e).external();
            }
        }
        throw new IllegalArgumentException("mapping of " + service + " (port " + internalPort + ") has no " + transport
                + " mapping; it maps " + transports());
    }

    private String transports() {
        List<String> t = new ArrayList<>();
        entries.forEach(e -> t.add(e.request.transport().name()));
        return String.join("+", t);
    }

    /** Successful renewals so far. */
    public int renewals() {
        return renewals;
    }

    /** Times the mapping had to be made again because the gateway lost it. */
    public int recreations() {
        return recreations;
    }

    /** The last renewal failure, cleared by the next success. */
    public Optional<NatTraversalException> lastError() {
        return Optional.ofNullable(lastError);
    }

    void renewed(boolean recreated, NatTraversalException errorCleared) {
        if (recreated) {
            recreations++;
        } else {
            renewals++;
        }
        lastError = errorCleared;
    }

    void failed(NatTraversalException e) {
        lastError = e;
    }

    public boolean isClosed() {
        return closed.get();
    }

    /** Deletes the mappings on the gateway and stops renewing; completes when the gateway confirmed, or with why not. */
    public CompletionStage<Void> closeAsync() {
        if (closed.compareAndSet(false, true)) {
            closing = owner.release(this);
        }
        CompletableFuture<Void> c = closing;
        while (c == null) { // another thread is between the compareAndSet and the assignment
            Thread.onSpinWait();
            c = closing;
        }
        return c;
    }

    /**
     * {@link #closeAsync()}, waiting at most the owner's close timeout (not at all on an event loop
     * thread); a failure to delete is logged, since the mapping expires on its own anyway.
     */
    @Override
    public void close() {
        CompletableFuture<Void> c = closeAsync().toCompletableFuture();
        if (owner.onEventLoop()) {
            return;
        }
        try {
            c.get(owner.closeTimeout().toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (TimeoutException e) {
            NatTraversal.log.warn("deleting the {} mapping of {} (port {}) took longer than {}; it expires on its own", protocol().displayName(),
                    service, internalPort, NatUtil.format(owner.closeTimeout()));
        } catch (java.util.concurrent.ExecutionException e) {
            NatTraversal.log.warn("deleting the {} mapping of {} (port {}) failed: {}; it expires on its own", protocol().displayName(),
                    service, internalPort, NatUtil.describe(e));
        }
    }

    @Override
    public String toString() {
        StringBuilder s = new StringBuilder("PortMapping[").append(service).append(' ').append(internalPort).append(" via ")
                .append(protocol().displayName());
        for (Entry e : entries) {
            PortMapper.Grant g = e.grant;
            s.append(", ").append(e.request.transport()).append(" -> ").append(NatUtil.format(new InetSocketAddress(g.externalAddress(), g.externalPort())));
        }
        return s.append(isClosed() ? ", closed]" : "]").toString();
    }
}
