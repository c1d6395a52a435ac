package io.ports.core;

/** Small validation helpers shared by the value types. */
public final class Ports {
    private Ports() {
    }

    /**
     * @return {@code port} when it lies in 1..65535
     * @throws IllegalArgumentException naming {@code what}, the value, and the valid range
     */
    public static int check(int port, String what) {
        if (port < PortRange.MIN_PORT || port > PortRange.MAX_PORT) {
            throw new IllegalArgumentException(what + " " + port + " is out of range: expected 1-65535");
        }
        return port;
    }

    /** Parses a port written by a user (an argument, an environment variable). */
    public static int parse(String text, String what) {
        int port;
        try {
            port = Integer.parseInt(text.strip());
        } catch (NumberFormatException | NullPointerException e) {
            throw new IllegalArgumentException(what + " '" + text + "' is not a port: expected a number within 1-65535", e);
        }
        return check(port, what);
    }
}
