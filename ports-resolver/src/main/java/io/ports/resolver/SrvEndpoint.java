package io.ports.resolver;

import java.net.InetAddress;
import java.util.List;
import java.util.Locale;
import java.util.Objects;

/**
 * One target of an SRV record set with its resolved addresses: what
 * {@link PortsResolver#resolveSrv(String)} returns, and what an {@link EndpointSelector} chooses from.
 *
 * @param priority  0-65535; lower is tried first
 * @param weight    0-65535; relative share within one priority (RFC 2782)
 * @param target    the target host, without the trailing dot
 * @param port      1-65535
 * @param addresses the target's addresses in the resolver's family preference order, never empty
 */
public record SrvEndpoint(int priority, int weight, String target, int port, List<InetAddress> addresses) {

    public SrvEndpoint {
        if (priority < 0 || priority > 65535) {
            throw new IllegalArgumentException("SRV priority " + priority + " out of range (expected: 0-65535)");
        }
        if (weight < 0 || weight > 65535) {
            throw new IllegalArgumentException("SRV weight " + weight + " out of range (expected: 0-65535)");
        }
        Objects.requireNonNull(target, "target");
        if (port < 1 || port > 65535) {
            throw new IllegalArgumentException("SRV port " + port + " of " + target + " out of range (expected: 1-65535)");
        }
        addresses = List.copyOf(Objects.requireNonNull(addresses, "addresses"));
        if (addresses.isEmpty()) {
            throw new IllegalArgumentException("SRV target " + target + ":" + port + " has no addresses (expected: at least one)");
        }
    }

    /** Wraps a plain endpoint, for example a statically configured seed, so a selector can use it. */
    public static SrvEndpoint of(Endpoint endpoint, int priority, int weight) {
        return new SrvEndpoint(priority, weight, endpoint.host(), endpoint.port(), endpoint.addresses());
    }

    /** The target and port with its addresses. */
    public Endpoint endpoint() {
        return new Endpoint(target, port, addresses);
    }

    /** {@code target:port} in lower case: how an {@link EndpointSelector} tells endpoints apart. */
    String key() {
        return target.toLowerCase(Locale.ROOT) + ":" + port;
    }

    @Override
    public String toString() {
        return "SRV " + priority + " " + weight + " " + target + ":" + port + " " + addresses;
    }
}
