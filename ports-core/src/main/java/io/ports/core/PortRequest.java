package io.ports.core;

import java.util.BitSet;
import java.util.Objects;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * What one service asks of {@link PortAllocator}. Build with {@link #builder(String, ServiceType)}:
 *
 * <pre>{@code
 * PortRequest.builder("orders-db", ServiceType.DATABASE)
 *         .environmentVariable("PORT")   // PORT=6543 wins when set
 *         .preferredPort(5432)           // else this, else the type's default port
 *         .required(false)               // true: fail rather than fall back
 *         .build();
 * }</pre>
 *
 * @param service             the service's name (letters, digits, {@code . _ - : /}, 1-128 characters)
 * @param type                its type: default port, range and protocols
 * @param preferredPort       port to try first, or 0 to use the type's default
 * @param required            fail with {@link PortUnavailableException} instead of falling back
 * @param strategy            how to walk the range, or null for the allocator's default
 * @param hashKey             key of the {@link AllocationStrategy#HASH} strategy, or null for node id + service
 * @param environmentVariable environment variable whose value, when set, is the preferred port; or null
 * @param range               range to fall back in, or null for the type's range
 * @param protocols           protocols to check and hold, or null for the type's
 * @param excluded            ports this request must not get, or null
 * @param holdMode            how the holding socket shares the port, or null for the allocator's default
 */
public record PortRequest(String service, ServiceType type, int preferredPort, boolean required,
                          AllocationStrategy strategy, String hashKey, String environmentVariable,
                          PortRange range, Set<Protocol> protocols, BitSet excluded, HoldMode holdMode) {
    private static final Pattern SERVICE = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._:/-]{0,127}");
    private static final Pattern ENV = Pattern.compile("[A-Za-z_][A-Za-z0-9_]*");

    public PortRequest {
        if (service == null || !SERVICE.matcher(service).matches()) {
            throw new IllegalArgumentException("invalid service name '" + service
                    + "': expected 1-128 characters of letters, digits, '.', '_', '-', ':' or '/', starting with a letter or digit");
        }
        Objects.requireNonNull(type, () -> "type of service " + service);
        if (preferredPort != 0) {
            Ports.check(preferredPort, "preferred port of service " + service);
        }
        if (environmentVariable != null && !ENV.matcher(environmentVariable).matches()) {
            throw new IllegalArgumentException("invalid environment variable name '" + environmentVariable
                    + "' for service " + service + ": expected letters, digits and '_', for example PORT");
        }
        if (protocols != null) {
            if (protocols.isEmpty()) {
                throw new IllegalArgumentException("service " + service + " needs at least one protocol (tcp, udp)");
            }
            protocols = Set.copyOf(protocols);
        }
        excluded = excluded == null || excluded.isEmpty() ? null : (BitSet) excluded.clone();
    }

    public static Builder builder(String service, ServiceType type) {
        return new Builder(service, type);
    }

    /** A request with every choice left to the type and the allocator. */
    public static PortRequest of(String service, ServiceType type) {
        return builder(service, type).build();
    }

    /** The range to fall back in: the request's own, else the type's. */
    public PortRange effectiveRange() {
        return range != null ? range : type.range();
    }

    public Set<Protocol> effectiveProtocols() {
        return protocols != null ? protocols : type.protocols();
    }

    boolean excludes(int port) {
        return excluded != null && excluded.get(port);
    }

    @Override
    public BitSet excluded() {
        return excluded == null ? new BitSet() : (BitSet) excluded.clone();
    }

    /** Builder of {@link PortRequest}; validation happens in {@link #build()}. */
    public static final class Builder {
        private final String service;
        private final ServiceType type;
        private int preferredPort;
        private boolean required;
        private AllocationStrategy strategy;
        private String hashKey;
        private String environmentVariable;
        private PortRange range;
        private Set<Protocol> protocols;
        private final BitSet excluded = new BitSet();
        private HoldMode holdMode;

        private Builder(String service, ServiceType type) {
            this.service = service;
            this.type = type;
        }

        public Builder preferredPort(int port) {
            this.preferredPort = port;
            return this;
        }

        public Builder required(boolean required) {
            this.required = required;
            return this;
        }

        public Builder strategy(AllocationStrategy strategy) {
            this.strategy = strategy;
            return this;
        }

        public Builder hashKey(String key) {
            this.hashKey = key;
            return this;
        }

        public Builder environmentVariable(String name) {
            this.environmentVariable = name;
            return this;
        }

        public Builder range(PortRange range) {
            this.range = range;
            return this;
        }

        public Builder protocols(Set<Protocol> protocols) {
            this.protocols = protocols;
            return this;
        }

        public Builder exclude(int... ports) {
            for (int p : ports) {
                excluded.set(Ports.check(p, "excluded port of service " + service));
            }
            return this;
        }

        public Builder exclude(PortRange r) {
            excluded.set(r.start(), r.end() + 1);
            return this;
        }

        /** How the holding socket shares the port; {@link HoldMode#EXCLUSIVE} for a lease handed to a ports listener. */
        public Builder holdMode(HoldMode mode) {
            this.holdMode = mode;
            return this;
        }

        public PortRequest build() {
            return new PortRequest(service, type, preferredPort, required, strategy, hashKey, environmentVariable,
                    range, protocols, excluded, holdMode);
        }
    }
}
