package io.ports.core;

/**
 * Root of every exception {@code ports} throws on purpose. Unchecked, like Netty's and dnsjava's.
 *
 * <p>Every message says what was asked, what was found and what to do next. Subclasses exist only
 * where a caller would act differently: {@link PortExhaustedException} (widen the range or release
 * ports) and {@link PortUnavailableException} (a required port is held by someone else).
 */
public class PortsException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public PortsException(String message) {
        super(message);
    }

    public PortsException(String message, Throwable cause) {
        super(message, cause);
    }
}
