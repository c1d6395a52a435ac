package io.ports.core.internal;

import io.ports.core.PortLease;

/**
 * Lets the listener module take over a lease's holding socket without making that a public method
 * of {@link PortLease}. Installed by {@code PortLease} when it is first loaded.
 */
public abstract class LeaseAccess {
    private static volatile LeaseAccess instance;

    protected LeaseAccess() {
    }

    /** Called once, by {@code PortLease}. */
    public static void install(LeaseAccess access) {
        if (instance == null) {
            instance = access;
        }
    }

    /**
     * Transfers ownership of the lease's held socket descriptor to the caller, who must close it;
     * -1 when the lease holds none or the platform cannot hand descriptors over (the lease keeps its
     * socket then).
     */
    public static int detachHeldDescriptor(PortLease lease) {
        lease.isHeld(); // loads PortLease, which installs the accessor
        return instance.detach(lease);
    }

    protected abstract int detach(PortLease lease);
}
