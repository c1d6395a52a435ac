package io.ports.core.registry;

/** Where a registry record stands. */
public enum AllocationStatus {
    /** Allocated, not yet seen bound by its holder and no heartbeat yet. */
    RESERVED,
    /** Bound by its holder, or heartbeating. */
    ACTIVE,
    /** Missed its heartbeat timeout, or its process is gone: the port is free again. */
    EXPIRED,
    /** Given back by its holder. */
    RELEASED;

    /** RESERVED and ACTIVE records hold their port. */
    public boolean isLive() {
        return this == RESERVED || this == ACTIVE;
    }
}
