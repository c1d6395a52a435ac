package io.ports.core;

import java.util.EnumSet;
import java.util.Objects;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * A kind of service and where its ports come from: an optional default port tried first, and the
 * range that fallback allocation walks.
 *
 * @param name        unique name in a {@link ServiceCatalog}, for example {@code DATABASE} or {@code rest-api}
 * @param defaultPort port tried first, or 0 when the type has none
 * @param range       range walked when the default (or a requested) port is not available
 * @param protocols   protocols the service binds; the allocator checks exactly these
 * @param description one line for reports and the command line
 */
public record ServiceType(String name, int defaultPort, PortRange range, Set<Protocol> protocols, String description) {
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,63}");

    // Database node types (the seed design's ServiceType enum).
    public static final PortRange DATABASE_RANGE = PortRange.of(5400, 5499);
    public static final PortRange REST_API_RANGE = PortRange.of(8080, 8099);
    public static final PortRange DYNAMIC_RANGE = PortRange.of(40000, 49999);

    public static final ServiceType DATABASE = tcp("DATABASE", 5432, DATABASE_RANGE, "database client port");
    public static final ServiceType CLUSTER = tcp("CLUSTER", 5433, DATABASE_RANGE, "cluster / peer traffic");
    public static final ServiceType REPLICATION = tcp("REPLICATION", 5434, DATABASE_RANGE, "replication stream");
    public static final ServiceType ADMIN = tcp("ADMIN", 8080, REST_API_RANGE, "admin HTTP");
    public static final ServiceType API = tcp("API", 8081, REST_API_RANGE, "public HTTP API");
    public static final ServiceType CUSTOM = tcp("CUSTOM", 0, DYNAMIC_RANGE, "anything else, from the dynamic pool");

    // Category ranges (the platform port registry we replace).
    public static final ServiceType REST_API = tcp("rest-api", 0, REST_API_RANGE, "REST APIs");
    public static final ServiceType GRPC = tcp("grpc", 0, PortRange.of(50050, 50099), "gRPC services");
    public static final ServiceType WEBSOCKET = tcp("websocket", 0, PortRange.of(8100, 8199), "WebSocket endpoints");
    public static final ServiceType DATABASE_CATEGORY = tcp("database", 0, DATABASE_RANGE, "databases");
    public static final ServiceType CACHE = tcp("cache", 0, PortRange.of(6300, 6399), "caches");
    public static final ServiceType ANALYTICS = tcp("analytics", 0, PortRange.of(8200, 8299), "analytics services");
    public static final ServiceType SECURITY = tcp("security", 0, PortRange.of(8300, 8399), "security services");
    public static final ServiceType FRONTEND = tcp("frontend", 0, PortRange.of(3000, 3099), "front-end dev servers");
    public static final ServiceType DYNAMIC = tcp("dynamic", 0, DYNAMIC_RANGE, "the dynamic pool");

    public ServiceType {
        if (name == null || !NAME.matcher(name).matches()) {
            throw new IllegalArgumentException("invalid service type name '" + name
                    + "': expected 1-64 characters of letters, digits, '.', '_' or '-', starting with a letter or digit");
        }
        if (defaultPort != 0) {
            Ports.check(defaultPort, "default port of service type " + name);
        }
        Objects.requireNonNull(range, () -> "range of service type " + name);
        if (protocols == null || protocols.isEmpty()) {
            throw new IllegalArgumentException("service type " + name + " needs at least one protocol (tcp, udp)");
        }
        protocols = Set.copyOf(protocols);
        description = description == null ? "" : description;
    }

    /** A TCP service type. */
    public static ServiceType tcp(String name, int defaultPort, PortRange range, String description) {
        return new ServiceType(name, defaultPort, range, EnumSet.of(Protocol.TCP), description);
    }

    /** The default port, if the type has one. */
    public boolean hasDefaultPort() {
        return defaultPort != 0;
    }

    public ServiceType withRange(PortRange newRange) {
        return new ServiceType(name, defaultPort, newRange, protocols, description);
    }

    public ServiceType withDefaultPort(int port) {
        return new ServiceType(name, port, range, protocols, description);
    }

    public ServiceType withProtocols(Set<Protocol> newProtocols) {
        return new ServiceType(name, defaultPort, range, newProtocols, description);
    }
}
