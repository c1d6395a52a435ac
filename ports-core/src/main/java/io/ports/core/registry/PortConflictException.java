package io.ports.core.registry;

import io.ports.core.PortsException;

/** Two live records would hold one port and protocol; the message names both. */
public final class PortConflictException extends PortsException {
    private static final long serialVersionUID = 1L;

    private final int port;

    public PortConflictException(int port, String message) {
        super(message);
        this.port = port;
    }

    public int port() {
        return port;
    }
}
