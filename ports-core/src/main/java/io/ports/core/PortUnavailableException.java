package io.ports.core;

/**
 * A specific port that was required (not merely preferred) cannot be given: another process
 * reserved it, a program has it bound, or policy forbids it. {@link #holder()} names who holds it
 * where the host tells.
 */
public final class PortUnavailableException extends PortsException {
    private static final long serialVersionUID = 1L;

    private final int port;
    private final String holder;

    public PortUnavailableException(int port, String service, String reason, String holder) {
        super("required port " + port + " for service '" + service + "' is unavailable: " + reason
                + (holder == null || holder.isEmpty() ? "" : " (held by " + holder + ")")
                + ". Stop the holder, or drop 'required' to let ports fall back within the range");
        this.port = port;
        this.holder = holder;
    }

    public int port() {
        return port;
    }

    /** Who holds the port, for example {@code "pid 4242 (postgres), TCP 0.0.0.0 LISTEN"}, or null. */
    public String holder() {
        return holder;
    }
}
