package io.ports.core;

import java.util.Collection;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * An immutable map from service type name to {@link ServiceType}. Names are case-sensitive: the
 * node types are upper case ({@code DATABASE}) and the category ranges lower case ({@code database}),
 * as in the systems this replaces.
 *
 * <pre>{@code
 * ServiceCatalog catalog = ServiceCatalog.defaults()
 *         .with(ServiceType.tcp("raft", 7000, PortRange.of(7000, 7099), "raft peers"))
 *         .with(ServiceType.DATABASE.withRange(PortRange.of(15432, 15499)));
 * }</pre>
 */
public final class ServiceCatalog {
    private static final ServiceCatalog DEFAULTS = new ServiceCatalog(defaultTypes());

    private final Map<String, ServiceType> types;

    private ServiceCatalog(Map<String, ServiceType> types) {
        this.types = Collections.unmodifiableMap(types);
    }

    /** The node types and category ranges shipped with ports. */
    public static ServiceCatalog defaults() {
        return DEFAULTS;
    }

    /** An empty catalog, to build one without the shipped types. */
    public static ServiceCatalog empty() {
        return new ServiceCatalog(new LinkedHashMap<>());
    }

    private static Map<String, ServiceType> defaultTypes() {
        Map<String, ServiceType> m = new LinkedHashMap<>();
        for (ServiceType t : new ServiceType[] {
                ServiceType.DATABASE, ServiceType.CLUSTER, ServiceType.REPLICATION, ServiceType.ADMIN, ServiceType.API,
                ServiceType.CUSTOM, ServiceType.REST_API, ServiceType.GRPC, ServiceType.WEBSOCKET,
                ServiceType.DATABASE_CATEGORY, ServiceType.CACHE, ServiceType.ANALYTICS, ServiceType.SECURITY,
                ServiceType.FRONTEND, ServiceType.DYNAMIC}) {
            m.put(t.name(), t);
        }
        return m;
    }

    /** A catalog with {@code type} added, or replacing the type of the same name. */
    public ServiceCatalog with(ServiceType type) {
        Map<String, ServiceType> m = new LinkedHashMap<>(types);
        m.put(type.name(), type);
        return new ServiceCatalog(m);
    }

    /** A catalog without the named type; unknown names are an error. */
    public ServiceCatalog without(String name) {
        require(name);
        Map<String, ServiceType> m = new LinkedHashMap<>(types);
        m.remove(name);
        return new ServiceCatalog(m);
    }

    public Optional<ServiceType> find(String name) {
        return Optional.ofNullable(name == null ? null : types.get(name.strip()));
    }

    /**
     * @throws IllegalArgumentException naming the unknown type and listing the known ones
     */
    public ServiceType require(String name) {
        ServiceType t = name == null ? null : types.get(name.strip());
        if (t == null) {
            throw new IllegalArgumentException("unknown service type '" + name + "': known types are "
                    + String.join(", ", types.keySet()) + " (types are case-sensitive; add your own with ServiceCatalog.with)");
        }
        return t;
    }

    public Collection<ServiceType> types() {
        return types.values();
    }

    @Override
    public String toString() {
        return "ServiceCatalog" + types.keySet();
    }
}
