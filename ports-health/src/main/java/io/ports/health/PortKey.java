package io.ports.health;

import io.ports.core.Ports;
import io.ports.core.Protocol;

import java.util.Comparator;
import java.util.Objects;

/**
 * A port and its protocol: what a registry record holds and what a health check looks at.
 *
 * @param port     1..65535
 * @param protocol TCP or UDP
 */
public record PortKey(int port, Protocol protocol) implements Comparable<PortKey> {
    private static final Comparator<PortKey> ORDER = Comparator.comparingInt(PortKey::port).thenComparing(PortKey::protocol);

    public PortKey {
        Ports.check(port, "port");
        Objects.requireNonNull(protocol, "protocol");
    }

    public static PortKey tcp(int port) {
        return new PortKey(port, Protocol.TCP);
    }

    public static PortKey udp(int port) {
        return new PortKey(port, Protocol.UDP);
    }

    @Override
    public int compareTo(PortKey o) {
        return ORDER.compare(this, o);
    }

    /** For example {@code "TCP 5432"}. */
    @Override
    public String toString() {
        return protocol + " " + port;
    }
}
