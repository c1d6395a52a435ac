package io.ports.core.registry;

import io.ports.core.Ports;
import io.ports.core.Protocol;

import java.time.Duration;
import java.util.Map;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * What a service asks of the {@link Registry}.
 *
 * @param serviceName      1-128 characters: letters, digits, {@code . _ - : /}
 * @param serviceType      a type of the registry's catalog
 * @param preferredPort    port to try first, or 0 for the type's default
 * @param required         fail rather than fall back when the preferred port is taken
 * @param protocol         TCP (default) or UDP
 * @param pid              the holder's process id on this host, or 0 when it is not local or not known
 * @param host             the holder's host, or null for this host
 * @param metadata         free-form, at most 64 entries of at most 256 characters each
 * @param heartbeatTimeout how long it may go without a heartbeat, or null for the type's default
 */
public record AllocationRequest(String serviceName, String serviceType, int preferredPort, boolean required, Protocol protocol,
                                long pid, String host, Map<String, String> metadata, Duration heartbeatTimeout) {
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._:/-]{0,127}");

    public AllocationRequest {
        if (serviceName == null || !NAME.matcher(serviceName).matches()) {
            throw new IllegalArgumentException("invalid service_name '" + serviceName
                    + "': expected 1-128 characters of letters, digits, '.', '_', '-', ':' or '/', starting with a letter or digit");
        }
        if (serviceType == null || serviceType.isBlank()) {
            throw new IllegalArgumentException("service_type is missing: name a type of the catalog, for example DATABASE or rest-api");
        }
        if (preferredPort != 0) {
            Ports.check(preferredPort, "preferred_port");
        }
        protocol = protocol == null ? Protocol.TCP : protocol;
        if (pid < 0) {
            throw new IllegalArgumentException("process_id " + pid + " is negative: expected a process id, or 0 when unknown");
        }
        metadata = metadata == null ? Map.of() : Map.copyOf(metadata);
        if (metadata.size() > 64) {
            throw new IllegalArgumentException("metadata has " + metadata.size() + " entries: at most 64 are allowed");
        }
        for (Map.Entry<String, String> e : metadata.entrySet()) {
            if (e.getKey().isEmpty() || e.getKey().length() > 256 || e.getValue().length() > 256) {
                throw new IllegalArgumentException("metadata entry '" + e.getKey() + "': keys must be 1-256 characters and values at most 256");
            }
        }
        if (heartbeatTimeout != null && (heartbeatTimeout.isNegative() || heartbeatTimeout.isZero())) {
            throw new IllegalArgumentException("heartbeat timeout " + heartbeatTimeout + " must be positive");
        }
    }

    public static Builder builder(String serviceName, String serviceType) {
        return new Builder(serviceName, serviceType);
    }

    /** Builder; {@link #build()} validates. */
    public static final class Builder {
        private final String serviceName;
        private final String serviceType;
        private int preferredPort;
        private boolean required;
        private Protocol protocol = Protocol.TCP;
        private long pid;
        private String host;
        private Map<String, String> metadata = Map.of();
        private Duration heartbeatTimeout;

        private Builder(String serviceName, String serviceType) {
            this.serviceName = serviceName;
            this.serviceType = serviceType;
        }

        public Builder preferredPort(int port) {
            this.preferredPort = port;
            return this;
        }

        public Builder required(boolean required) {
            this.required = required;
            return this;
        }

        public Builder protocol(Protocol protocol) {
            this.protocol = Objects.requireNonNull(protocol, "protocol");
            return this;
        }

        public Builder pid(long pid) {
            this.pid = pid;
            return this;
        }

        public Builder host(String host) {
            this.host = host;
            return this;
        }

        public Builder metadata(Map<String, String> metadata) {
            this.metadata = metadata;
            return this;
        }

        public Builder heartbeatTimeout(Duration timeout) {
            this.heartbeatTimeout = timeout;
            return this;
        }

        public AllocationRequest build() {
            return new AllocationRequest(serviceName, serviceType, preferredPort, required, protocol, pid, host, metadata, heartbeatTimeout);
        }
    }
}
