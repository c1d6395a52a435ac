package io.ports.nat;

import io.ports.core.Protocol;

/**
 * Told what happens to mappings after they were made. Called on an event loop thread: return quickly
 * and never block.
 */
public interface MappingListener {
    /** A renewal succeeded. */
    default void renewed(PortMapping mapping, MappedPort port) {
    }

    /**
     * The mapping was made again because the gateway had lost it: a NAT-PMP/PCP epoch that went back,
     * a UPnP gateway found again after its control URL stopped answering, or a renewal after expiry.
     * The external endpoint may have changed.
     */
    default void recreated(PortMapping mapping, MappedPort port, String reason) {
    }

    /** A renewal failed; it is retried (halfway through the lifetime left, at least 4 s later) until the mapping is closed. */
    default void renewalFailed(PortMapping mapping, Protocol transport, NatTraversalException error) {
    }
}
