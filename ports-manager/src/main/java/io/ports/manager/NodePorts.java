package io.ports.manager;

import java.net.SocketAddress;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * What {@link PortManager#startServices} started: for each service, its port, the addresses it
 * listens on, and its registry record.
 *
 * @param services by service name, in configuration order
 */
public record NodePorts(Map<String, ServicePorts> services) {

    /** One started service. */
    public record ServicePorts(String service, String type, int port, List<SocketAddress> localEndpoints, Optional<String> allocationId) {
    }

    public NodePorts {
        services = java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(services));
    }

    /** The port of a service, or an error naming the services there are. */
    public int port(String service) {
        ServicePorts s = services.get(service);
        if (s == null) {
            throw new IllegalArgumentException("no service '" + service + "' was started: the services are " + services.keySet());
        }
        return s.port();
    }
}
