package io.ports.nat;

import io.ports.core.Protocol;

import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.Objects;

/**
 * One transport protocol of a {@link PortMapping}: the internal port, the public endpoint the
 * gateway opened for it, which protocol did it, and for how long.
 *
 * @param transport    TCP or UDP
 * @param internalPort the port on this host (the lease's port)
 * @param external     the gateway's external address and the port it opened
 * @param protocol     PCP, NAT-PMP or UPnP
 * @param lifetime     the lifetime the gateway granted at the last renewal; {@link Duration#ZERO} for a
 *                     permanent UPnP lease (still re-asserted periodically)
 */
public record MappedPort(Protocol transport, int internalPort, InetSocketAddress external, MappingProtocol protocol, Duration lifetime) {
    public MappedPort {
        Objects.requireNonNull(transport, "transport");
        Objects.requireNonNull(external, "external endpoint");
        Objects.requireNonNull(protocol, "protocol");
        Objects.requireNonNull(lifetime, "lifetime");
        if (internalPort < 1 || internalPort > 65_535) {
            throw new IllegalArgumentException("internal port : " + internalPort + " (expected: 1-65535)");
        }
        if (external.getPort() < 1) {
            throw new IllegalArgumentException("external port : " + external.getPort() + " (expected: 1-65535)");
        }
        if (lifetime.isNegative()) {
            throw new IllegalArgumentException("lifetime : " + lifetime + " (expected: >= 0)");
        }
    }

    public boolean isPermanent() {
        return lifetime.isZero();
    }
}
