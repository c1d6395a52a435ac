package io.ports.core;

import io.ports.core.internal.SocketBinder;

import java.time.Duration;
import java.util.Set;
import java.util.concurrent.atomic.AtomicIntegerFieldUpdater;

/**
 * A port given to one service by {@link PortAllocator}: the port, how it was found, and the claims
 * that keep anyone else from getting it. Close it (once; later calls do nothing) to give the port back.
 *
 * <p>Until closed, the port is reserved in this process and, when host-wide reservation is on,
 * claimed for every other process using ports on this host. When the lease {@linkplain #isHeld()
 * holds} the port, a TCP socket is bound to it, without listening, with {@code SO_REUSEADDR}: programs
 * that bind port 0 or connect out never get the port meanwhile, while the service's own server
 * (binding with {@code SO_REUSEADDR}, as Java servers do) can bind it. Once the server is bound,
 * call {@link #releaseHold()}; the lease keeps its claims until closed.
 */
public final class PortLease implements AutoCloseable {
    /** Whether the service got the port it preferred or one found by walking its range. */
    public enum Outcome { PREFERRED, FALLBACK }

    private static final AtomicIntegerFieldUpdater<PortLease> STATE =
            AtomicIntegerFieldUpdater.newUpdater(PortLease.class, "state");

    private final PortAllocator owner;
    private final int port;
    private final String service;
    private final ServiceType type;
    private final Set<Protocol> protocols;
    private final Outcome outcome;
    private final int attempts;
    private final long elapsedNanos;
    private final HostClaim claim;
    private volatile SocketBinder.Held held;
    private final HoldMode holdMode;
    private volatile int state; // 0 live, 1 released


    PortLease(PortAllocator owner, int port, String service, ServiceType type, Set<Protocol> protocols, Outcome outcome,
              int attempts, long elapsedNanos, HostClaim claim, SocketBinder.Held held, HoldMode holdMode) {
        this.owner = owner;
        this.port = port;
        this.service = service;
        this.type = type;
        this.protocols = protocols;
        this.outcome = outcome;
        this.attempts = attempts;
        this.elapsedNanos = elapsedNanos;
        this.claim = claim;
        this.held = held;
        this.holdMode = holdMode;
    }

    public int port() {
        return port;
    }

    public String service() {
        return service;
    }

    public ServiceType type() {
        return type;
    }

    public Set<Protocol> protocols() {
        return protocols;
    }

    public Outcome outcome() {
        return outcome;
    }

    /** Ports tried, this one included. */
    public int attempts() {
        return attempts;
    }

    /** Time from the request to the lease. */
    public Duration elapsed() {
        return Duration.ofNanos(elapsedNanos);
    }

    long elapsedNanos() {
        return elapsedNanos;
    }

    /** Whether other processes using ports on this host are kept off the port. */
    public boolean isHostWide() {
        return claim != null;
    }

    /** Whether a socket still holds the port. */
    public boolean isHeld() {
        return held != null;
    }

    public boolean isReleased() {
        return state != 0;
    }

    /**
     * Closes the holding socket, keeping the reservations. Call it once the service's own server is
     * bound, or just before binding when that server cannot set {@code SO_REUSEADDR}.
     */
    public void releaseHold() {
        SocketBinder.Held h = held;
        if (h != null) {
            held = null;
            h.close();
        }
    }

    /** How the holding socket shares the port, or null when the lease holds no socket. */
    public HoldMode holdMode() {
        return held == null ? null : holdMode;
    }


    /** Gives the port back: the holding socket, the host-wide claim, the in-process reservation. */
    @Override
    public void close() {
        if (STATE.compareAndSet(this, 0, 1)) {
            releaseHold();
            if (claim != null) {
                claim.close();
            }
            owner.released(this);
        }
    }

    @Override
    public String toString() {
        return "PortLease[" + service + "=" + port + " " + outcome + ", " + attempts
                + (attempts == 1 ? " attempt" : " attempts") + (isReleased() ? ", released]" : "]");
    }
}
