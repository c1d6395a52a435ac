package io.ports.nat;

import java.net.InetAddress;
import java.util.Map;

/**
 * No port mapping is possible: there is no default gateway, or the gateway answered none of PCP,
 * NAT-PMP and UPnP IGD within the probe time. {@link #findings()} says what each probe found. Fall
 * back to what needs no gateway: learn the public address with STUN and relay or tunnel the traffic.
 */
public class NoPortMapperException extends NatTraversalException {
    private static final long serialVersionUID = 1L;

    private final transient InetAddress gateway;
    private final Map<MappingProtocol, String> findings;

    public NoPortMapperException(String message, InetAddress gateway, Map<MappingProtocol, String> findings) {
        super(message);
        this.gateway = gateway;
        this.findings = Map.copyOf(findings);
    }

    /** The gateway probed, or null when none was found. */
    public InetAddress gateway() {
        return gateway;
    }

    /** What each protocol's probe found; empty when there was no gateway to probe. */
    public Map<MappingProtocol, String> findings() {
        return findings;
    }
}
