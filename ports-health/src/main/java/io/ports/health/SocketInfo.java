package io.ports.health;

import io.ports.core.Protocol;

import java.util.Objects;
import java.util.Optional;

/**
 * One socket bound to a port, as the kernel's tables list it.
 *
 * @param protocol     TCP or UDP
 * @param localAddress the address it is bound to, for example {@code 0.0.0.0}, {@code 127.0.0.1} or {@code [::]}
 * @param port         the local port
 * @param state        the TCP state ({@code LISTEN}, {@code ESTABLISHED}, ...), or for UDP {@code BOUND} or {@code CONNECTED}
 * @param owner        the process holding it, when visible (other users' processes need privileges to see)
 */
public record SocketInfo(Protocol protocol, String localAddress, int port, String state, Optional<ProcessInfo> owner) {
    public SocketInfo {
        Objects.requireNonNull(protocol, "protocol");
        localAddress = localAddress == null ? "" : localAddress;
        state = state == null ? "" : state;
        owner = owner == null ? Optional.empty() : owner;
    }

    /**
     * Whether this socket serves the port: a TCP socket in {@code LISTEN}, or a UDP socket that is bound
     * and not connected to one peer. A bound TCP socket that does not listen (for example the registry's
     * own holding socket) does not.
     */
    public boolean isListening() {
        return protocol == Protocol.TCP ? "LISTEN".equals(state) : !"CONNECTED".equals(state);
    }

    /** For example {@code "TCP 0.0.0.0:5432 LISTEN by pid 42 (postgres)"}. */
    @Override
    public String toString() {
        return protocol + " " + localAddress + ":" + port + (state.isEmpty() ? "" : " " + state)
                + owner.map(o -> " by " + o).orElse(" (owner not visible)");
    }
}
