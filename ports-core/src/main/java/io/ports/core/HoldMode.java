package io.ports.core;

/**
 * How a {@link PortLease}'s holding socket (bound, never listening) shares its port. Both keep
 * programs that bind port 0, outgoing connections, and servers that set neither option off the port.
 */
public enum HoldMode {
    /**
     * {@code SO_REUSEADDR}: any server that also sets {@code SO_REUSEADDR} (every Java server does)
     * can bind and listen beside the holder. Use it when the service binds the port number itself.
     * A stranger that sets {@code SO_REUSEADDR} can too: the hold does not stop it.
     */
    SHARED,
    /**
     * {@code SO_REUSEPORT} only: the kernel refuses every other bind, {@code SO_REUSEADDR} or not,
     * except sockets of the same user that set {@code SO_REUSEPORT}. The ports listener binds that way,
     * so a lease handed to it is never free in between; a server binding the number itself must set
     * {@code SO_REUSEPORT} or call {@link PortLease#releaseHold()} first.
     */
    EXCLUSIVE
}
