package io.ports.resolver;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * A host and port with the host's addresses, in the resolver's family preference order: what
 * {@link PortsResolver#resolveAddress(String)} returns for {@code "host:port"}.
 *
 * @param host      the host as it was asked, without brackets and without a trailing dot
 * @param port      1-65535
 * @param addresses the host's addresses, never empty, first preferred
 */
public record Endpoint(String host, int port, List<InetAddress> addresses) {

    public Endpoint {
        Objects.requireNonNull(host, "host");
        if (port < 1 || port > 65535) {
            throw new IllegalArgumentException("port " + port + " of " + host + " out of range (expected: 1-65535)");
        }
        addresses = List.copyOf(Objects.requireNonNull(addresses, "addresses"));
        if (addresses.isEmpty()) {
            throw new IllegalArgumentException("endpoint " + host + ":" + port + " has no addresses (expected: at least one)");
        }
    }

    /** The addresses with the port, in preference order: what a connecting caller tries one after another. */
    public List<InetSocketAddress> socketAddresses() {
        List<InetSocketAddress> out = new ArrayList<>(addresses.size());
        for (InetAddress a : addresses) {
            out.add(new InetSocketAddress(a, port));
        }
        return out;
    }

    /** The preferred socket address. */
    public InetSocketAddress firstSocketAddress() {
        return new InetSocketAddress(addresses.get(0), port);
    }

    @Override
    public String toString() {
        return (host.indexOf(':') >= 0 ? "[" + host + "]" : host) + ":" + port + " " + addresses;
    }
}
