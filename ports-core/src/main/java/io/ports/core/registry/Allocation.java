package io.ports.core.registry;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import io.ports.core.Ports;
import io.ports.core.Protocol;

import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;

/**
 * One registry record: who holds which port since when. Immutable; the registry replaces it on
 * every change. Its JSON form (snake_case, ISO-8601 UTC timestamps) is the export format and the
 * REST API's allocation object.
 *
 * @param id               allocation id
 * @param serviceName      the holder's service name
 * @param serviceType      its service type name
 * @param port             the port
 * @param protocol         TCP or UDP
 * @param host             host name of the holder
 * @param pid              holder's process id on {@code host}, or 0 when unknown
 * @param metadata         free-form string map
 * @param allocatedAt      when it was allocated (wall clock, for people)
 * @param lastHeartbeat    last heartbeat (wall clock, for people; expiry uses a monotonic clock)
 * @param status           where it stands
 * @param heartbeatTimeout how long it may go without a heartbeat before it expires
 */
@JsonPropertyOrder({"allocation_id", "service_name", "service_type", "port", "protocol", "host", "process_id", "status",
    "allocated_at", "last_heartbeat", "heartbeat_timeout_ms", "metadata"})
@JsonInclude(JsonInclude.Include.NON_NULL)
public record Allocation(
        @JsonProperty("allocation_id") String id,
        @JsonProperty("service_name") String serviceName,
        @JsonProperty("service_type") String serviceType,
        @JsonProperty("port") int port,
        @JsonProperty("protocol") Protocol protocol,
        @JsonProperty("host") String host,
        @JsonProperty("process_id") long pid,
        @JsonProperty("metadata") Map<String, String> metadata,
        @JsonProperty("allocated_at") Instant allocatedAt,
        @JsonProperty("last_heartbeat") Instant lastHeartbeat,
        @JsonProperty("status") AllocationStatus status,
        @JsonProperty("heartbeat_timeout_ms") long heartbeatTimeoutMillis) {

    public Allocation {
        if (id == null || id.isBlank()) {
            throw new IllegalArgumentException("allocation id must not be blank");
        }
        Objects.requireNonNull(serviceName, "service_name");
        Objects.requireNonNull(serviceType, "service_type");
        Ports.check(port, "port of allocation " + id);
        Objects.requireNonNull(protocol, "protocol");
        host = host == null ? "" : host;
        if (pid < 0) {
            throw new IllegalArgumentException("process id " + pid + " of allocation " + id + " is negative");
        }
        metadata = metadata == null ? Map.of() : java.util.Collections.unmodifiableMap(new TreeMap<>(metadata));
        Objects.requireNonNull(allocatedAt, "allocated_at");
        lastHeartbeat = lastHeartbeat == null ? allocatedAt : lastHeartbeat;
        Objects.requireNonNull(status, "status");
        if (heartbeatTimeoutMillis <= 0) {
            throw new IllegalArgumentException("heartbeat timeout of allocation " + id + " must be positive, got " + heartbeatTimeoutMillis + " ms");
        }
    }

    public Duration heartbeatTimeout() {
        return Duration.ofMillis(heartbeatTimeoutMillis);
    }

    public Allocation withStatus(AllocationStatus s) {
        return new Allocation(id, serviceName, serviceType, port, protocol, host, pid, metadata, allocatedAt, lastHeartbeat, s, heartbeatTimeoutMillis);
    }

    public Allocation withHeartbeat(Instant at, AllocationStatus s) {
        return new Allocation(id, serviceName, serviceType, port, protocol, host, pid, metadata, allocatedAt, at, s, heartbeatTimeoutMillis);
    }
}
