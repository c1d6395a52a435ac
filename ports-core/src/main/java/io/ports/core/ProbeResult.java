package io.ports.core;

/**
 * What a {@link BindProbe} found for one port.
 *
 * @param port     the port probed
 * @param status   the verdict
 * @param protocol the protocol that failed, or null when the port is free
 * @param address  the address whose bind failed ({@code [::]} means dual-stack: IPv4 and IPv6), or null
 * @param detail   the operating system's words when a bind failed, else empty
 */
public record ProbeResult(int port, Status status, Protocol protocol, String address, String detail) {

    /** Distinguishes the reasons a port cannot be had, because the remedies differ. */
    public enum Status {
        /** Every protocol bound on every address probed. */
        FREE,
        /** Someone holds the port (EADDRINUSE). */
        IN_USE,
        /** The port needs privileges we lack (EACCES), or the OS excludes it (Windows excluded ranges). */
        PERMISSION_DENIED,
        /** The address to bind is not on this host (EADDRNOTAVAIL). */
        ADDRESS_NOT_AVAILABLE,
        /** Any other failure; {@link ProbeResult#detail()} says which. */
        ERROR
    }

    public boolean isFree() {
        return status == Status.FREE;
    }

    @Override
    public String toString() {
        return status == Status.FREE ? port + " free"
                : port + " " + status.name().toLowerCase(java.util.Locale.ROOT).replace('_', ' ')
                        + " (" + protocol + " " + address + (detail.isEmpty() ? "" : ": " + detail) + ")";
    }
}
