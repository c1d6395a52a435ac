package io.ports.nat;

import io.ports.core.PortsException;

/**
 * Something about reaching this node from outside failed: a gateway or STUN server answered with an
 * error, answered garbage, or did not answer. The message names the request, the peer, what came back
 * and what to do. Subclasses exist where a caller acts differently:
 * <ul>
 *   <li>{@link NatTimeoutException}: no answer at all; retry later or try another peer;</li>
 *   <li>{@link MappingRefusedException}: the gateway answered and said no, with a result code;</li>
 *   <li>{@link NoPortMapperException}: no gateway, or one that speaks none of PCP, NAT-PMP and UPnP;
 *       fall back to STUN and relaying.</li>
 * </ul>
 */
public class NatTraversalException extends PortsException {
    private static final long serialVersionUID = 1L;

    public NatTraversalException(String message) {
        super(message);
    }

    public NatTraversalException(String message, Throwable cause) {
        super(message, cause);
    }
}
