package io.ports.core.registry;

import io.ports.core.PortsException;

/** A registry store could not be opened, read or written; the message says which file and where. */
public class RegistryStoreException extends PortsException {
    private static final long serialVersionUID = 1L;

    public RegistryStoreException(String message) {
        super(message);
    }

    public RegistryStoreException(String message, Throwable cause) {
        super(message, cause);
    }
}
