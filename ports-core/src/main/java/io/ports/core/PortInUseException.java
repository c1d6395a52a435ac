package io.ports.core;

/**
 * A listener could not bind because its address is in use. The message names the address and,
 * where Linux tells ({@code /proc/net/*}, {@code /proc/<pid>/fd}), the process holding it.
 */
public final class PortInUseException extends PortsException {
    private static final long serialVersionUID = 1L;

    private final String address;
    private final String holder;

    public PortInUseException(String address, String holder, Throwable cause) {
        super("cannot listen on " + address + ": address already in use"
                + (holder == null || holder.isEmpty() ? " (the holder is not visible to this process)" : " by " + holder)
                + ". Stop the holder, choose another port, or let a PortAllocator lease pick a free one", cause);
        this.address = address;
        this.holder = holder;
    }

    /** The address as the user wrote it, for example {@code 0.0.0.0:5432}. */
    public String address() {
        return address;
    }

    /** Who holds it, for example {@code "pid 42 (postgres): TCP 0.0.0.0:5432 LISTEN"}, or empty when not visible. */
    public String holder() {
        return holder == null ? "" : holder;
    }
}
