package io.ports.core.registry;

import io.ports.core.PortsException;

/** An allocation id the registry does not know (never issued, or purged after its retention). */
public final class NoSuchAllocationException extends PortsException {
    private static final long serialVersionUID = 1L;

    private final String id;

    public NoSuchAllocationException(String id) {
        super("no allocation with id '" + id + "': it was never issued, or it was released or expired and has since been purged; allocate again");
        this.id = id;
    }

    public String id() {
        return id;
    }
}
