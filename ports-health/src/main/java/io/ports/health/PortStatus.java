package io.ports.health;

import io.ports.core.ProbeResult;
import io.ports.core.Protocol;

import java.time.Instant;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * What one check found for one port: who listens on it and, when probed, whether it binds.
 *
 * @param key       the port and protocol
 * @param listeners the sockets serving it (see {@link SocketInfo#isListening()}); empty when nobody listens
 * @param probe     the bind probe's verdict, when the check probed (a probe is skipped when the port is
 *                  known to be served, when the mode says so, or when the round ran out of time)
 * @param checkedAt when the socket tables were read
 */
public record PortStatus(PortKey key, List<SocketInfo> listeners, Optional<ProbeResult> probe, Instant checkedAt) {
    public PortStatus {
        Objects.requireNonNull(key, "key");
        listeners = listeners == null ? List.of() : List.copyOf(listeners);
        probe = probe == null ? Optional.empty() : probe;
        Objects.requireNonNull(checkedAt, "checkedAt");
    }

    public int port() {
        return key.port();
    }

    public Protocol protocol() {
        return key.protocol();
    }

    /** Whether any socket serves the port. */
    public boolean isListening() {
        return !listeners.isEmpty();
    }

    /** The processes listening, without duplicates (sockets whose owner is not visible are left out). */
    public List<ProcessInfo> listeningProcesses() {
        return SocketSnapshot.owners(listeners);
    }

    /** Whether the port could be bound, when it was probed. */
    public Optional<Boolean> bindable() {
        return probe.map(ProbeResult::isFree);
    }

    /** Nobody listens and a probe bound it. */
    public boolean isFree() {
        return listeners.isEmpty() && probe.map(ProbeResult::isFree).orElse(false);
    }

    /** For example {@code "TCP 5432: listening by pid 42 (postgres)"} or {@code "TCP 5433: free"}. */
    @Override
    public String toString() {
        String what;
        if (isListening()) {
            List<ProcessInfo> p = listeningProcesses();
            what = "listening" + (p.isEmpty() ? " (owner not visible)" : " by " + p.stream().map(ProcessInfo::toString).reduce((a, b) -> a + ", " + b).orElse(""));
        } else {
            what = probe.map(r -> r.isFree() ? "free" : "not listening, " + r).orElse("not listening (not probed)");
        }
        return key + ": " + what;
    }
}
