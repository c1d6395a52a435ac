package io.ports.core;

import io.ports.core.internal.SocketBinder;
import io.netty.util.NetUtil;

import java.net.Inet6Address;
import java.net.InetAddress;
import java.util.EnumSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;

/**
 * Tells whether a port can be bound, by binding it. By default a port is free only when TCP and UDP
 * both bind on the wildcard address for IPv4 and, where the host has IPv6, for IPv6.
 *
 * <p>Where the host has IPv6 the wildcard probe binds one dual-stack {@code [::]} socket per
 * protocol, which the kernel refuses when the port is taken on either family: one bind instead of
 * two. A host without IPv6 is probed on IPv4 only: a missing family is absent, not busy.
 *
 * <p>TCP is probed with {@code SO_REUSEADDR}, as servers bind: a port whose old connections linger
 * in {@code TIME_WAIT} is free for a server, while a port anybody listens on is not. Probes bind and
 * close at once and never listen, so they cannot accept anybody's connection.
 *
 * <p>Never probe a port recorded as reserved: the probe itself holds the port for a moment and can
 * make its owner's bind fail. {@link PortAllocator} checks its reservations before it probes.
 */
public final class BindProbe {
    private static final Set<Protocol> BOTH = Set.copyOf(EnumSet.allOf(Protocol.class));

    private final SocketBinder binder;
    private final List<InetAddress> addresses;

    private BindProbe(SocketBinder binder, List<InetAddress> addresses) {
        this.binder = binder;
        this.addresses = addresses;
    }

    /** Probes the wildcard address: {@code [::]} dual-stack where the host has IPv6, else {@code 0.0.0.0}. */
    public static BindProbe wildcard() {
        SocketBinder b = SocketBinder.system();
        return new BindProbe(b, List.of(b.wildcard()));
    }

    /**
     * Probes specific addresses (for example loopback only, or one interface's address); a port is free
     * only when it binds on each of them.
     */
    public static BindProbe on(InetAddress... addresses) {
        if (addresses.length == 0) {
            throw new IllegalArgumentException("BindProbe.on needs at least one address, for example 127.0.0.1 or ::");
        }
        for (InetAddress a : addresses) {
            Objects.requireNonNull(a, "address");
        }
        return new BindProbe(SocketBinder.system(), List.of(addresses));
    }

    public boolean ipv6Available() {
        return binder.ipv6Available();
    }

    public List<InetAddress> addresses() {
        return addresses;
    }

    /** Probes TCP and UDP. */
    public ProbeResult probe(int port) {
        return probe(port, BOTH);
    }

    public boolean isFree(int port) {
        return probe(port).isFree();
    }

    /** Probes the given protocols on every address of this probe. */
    public ProbeResult probe(int port, Set<Protocol> protocols) {
        Ports.check(port, "port");
        if (protocols.isEmpty()) {
            throw new IllegalArgumentException("probe of port " + port + " needs at least one protocol (tcp, udp)");
        }
        for (InetAddress address : addresses) {
            for (Protocol p : Protocol.values()) {
                if (!protocols.contains(p)) {
                    continue;
                }
                SocketBinder.Result r = binder.bind(p, address, port, p == Protocol.TCP, false);
                if (r.status() == SocketBinder.Status.FAMILY_UNSUPPORTED && address instanceof Inet6Address) {
                    continue; // this host has no IPv6: the family is absent, not busy
                }
                if (r.status() != SocketBinder.Status.OK) {
                    return new ProbeResult(port, map(r.status()), p, format(address), r.detail());
                }
            }
        }
        return new ProbeResult(port, ProbeResult.Status.FREE, null, null, "");
    }

    static ProbeResult.Status map(SocketBinder.Status s) {
        switch (s) {
            case OK: return ProbeResult.Status.FREE;
            case IN_USE: return ProbeResult.Status.IN_USE;
            case PERMISSION_DENIED: return ProbeResult.Status.PERMISSION_DENIED;
            case ADDRESS_NOT_AVAILABLE: return ProbeResult.Status.ADDRESS_NOT_AVAILABLE;
            default: return ProbeResult.Status.ERROR;
        }
    }

    SocketBinder binder() {
        return binder;
    }

    static String format(InetAddress a) {
        String s = NetUtil.toAddressString(a);
        return a instanceof Inet6Address ? "[" + s + "]" : s;
    }

    @Override
    public String toString() {
        return "BindProbe" + addresses.stream().map(BindProbe::format).toList() + " via " + binder.implementation();
    }
}
