package io.ports.manager;

import io.ports.nat.FirewallProber;

import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.URI;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * What {@link PortManager#startServices} started: for each service, its port, the addresses it
 * listens on, its registry record, and how it is reached from outside when NAT traversal or the
 * firewall-friendly tunnel made it reachable.
 *
 * @param services by service name, in configuration order
 */
public record NodePorts(Map<String, ServicePorts> services) {

    /**
     * One started service.
     *
     * @param external how the outside reaches it: empty when nothing was mapped or tunnelled (NAT
     *                 traversal off, and no reachability check that found it unreachable)
     */
    public record ServicePorts(String service, String type, int port, List<SocketAddress> localEndpoints, Optional<String> allocationId,
                               Optional<External> external) {
        public ServicePorts {
            Objects.requireNonNull(service, "service");
            localEndpoints = List.copyOf(localEndpoints);
            Objects.requireNonNull(allocationId, "allocation id");
            Objects.requireNonNull(external, "external");
        }

        /** A service with no external endpoint. */
        public ServicePorts(String service, String type, int port, List<SocketAddress> localEndpoints, Optional<String> allocationId) {
            this(service, type, port, localEndpoints, allocationId, Optional.empty());
        }
    }

    /** How a service is reached from outside. */
    public enum Route {
        /** Its own port, found open from outside without any mapping (a public address, or a port forwarded by hand). */
        DIRECT,
        /** Its own port, mapped on the NAT gateway: connect to {@link External#endpoint()} directly. */
        NAT,
        /** Through the WebSocket tunnel: open {@link External#tunnelUrl()} and send the service's bytes in binary frames. */
        TUNNEL
    }

    /**
     * A service's endpoint as the outside sees it.
     *
     * @param route     straight to the mapped port, or through the tunnel
     * @param endpoint  the public address and port to connect to (for the tunnel, the tunnel's)
     * @param via       what serves it: the mapping protocol ({@code PCP}, {@code NAT-PMP}, {@code UPnP IGD}),
     *                  or for the tunnel {@code WebSocket tunnel} and the protocol that mapped the tunnel's port
     * @param tunnelUrl for {@link Route#TUNNEL}: {@code ws://HOST:PORT/PATH?target=...}, the service's tunnel
     * @param checked   what the reachability check found at {@code endpoint}; empty when none is configured
     *                  (then a mapping is trusted as the gateway reported it)
     * @param directly  for {@link Route#TUNNEL}: what the check found at the service's own (mapped) port,
     *                  the reason for the tunnel
     */
    public record External(Route route, InetSocketAddress endpoint, String via, Optional<URI> tunnelUrl,
                           Optional<FirewallProber.Reachability> checked, Optional<FirewallProber.Reachability> directly) {
        public External {
            Objects.requireNonNull(route, "route");
            Objects.requireNonNull(endpoint, "endpoint");
            Objects.requireNonNull(via, "via");
            Objects.requireNonNull(tunnelUrl, "tunnel url");
            Objects.requireNonNull(checked, "checked");
            Objects.requireNonNull(directly, "directly");
        }
    }

    public NodePorts {
        services = java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(services));
    }

    /** The port of a service, or an error naming the services there are. */
    public int port(String service) {
        return require(service).port();
    }

    /** How the outside reaches a service, if it was mapped or tunnelled. */
    public Optional<External> external(String service) {
        return require(service).external();
    }

    private ServicePorts require(String service) {
        ServicePorts s = services.get(service);
        if (s == null) {
            throw new IllegalArgumentException("no service '" + service + "' was started: the services are " + services.keySet());
        }
        return s;
    }

    /** One line per service: name, type, port, local endpoints, and the external endpoint with its route. */
    public String format() {
        StringBuilder b = new StringBuilder();
        for (ServicePorts s : services.values()) {
            b.append(s.service()).append(' ').append(s.type()).append(' ').append(s.port()).append(' ').append(s.localEndpoints());
            s.external().ifPresent(e -> {
                b.append(" -> ").append(e.route()).append(' ').append(e.endpoint().getHostString()).append(':').append(e.endpoint().getPort())
                        .append(" via ").append(e.via());
                e.tunnelUrl().ifPresent(u -> b.append(' ').append(u));
                e.checked().ifPresent(c -> b.append(" (checked: ").append(c).append(')'));
                e.directly().ifPresent(c -> b.append(" (own port: ").append(c).append(')'));
            });
            b.append('\n');
        }
        return b.toString();
    }
}
