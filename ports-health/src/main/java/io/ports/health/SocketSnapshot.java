package io.ports.health;

import io.ports.core.Protocol;
import io.ports.core.internal.ProcFs;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.TreeMap;

/**
 * Every socket of this network namespace at one moment, by port, with the owning processes: one read
 * of {@code /proc/net/{tcp,tcp6,udp,udp6}} and one walk of {@code /proc/PID/fd}. Taking it costs
 * milliseconds (more on hosts with many processes and descriptors), so a health round takes one and
 * answers every port from it; lookups are map reads.
 *
 * <p>What it cannot see: TCP sockets that are bound but neither listen nor connect (the kernel lists
 * only listening and connected TCP sockets; the registry's own holding sockets are such, and only a bind
 * probe finds them), sockets of other network namespaces (containers), and the owners of other users'
 * sockets when this process lacks the privilege to read their descriptors (the socket is listed, its
 * owner is empty). Immutable and thread-safe.
 */
public final class SocketSnapshot {
    private static final Path TCP_TABLE = Path.of("/proc/net/tcp");

    private final Map<Integer, List<SocketInfo>> byPort;
    private final Instant takenAt;
    private final Duration took;
    private final boolean available;

    private SocketSnapshot(Map<Integer, List<SocketInfo>> byPort, Instant takenAt, Duration took, boolean available) {
        this.byPort = byPort;
        this.takenAt = takenAt;
        this.took = took;
        this.available = available;
    }

    /** Reads the kernel's socket tables and the socket owners now. */
    public static SocketSnapshot take() {
        Instant at = Instant.now();
        long t0 = System.nanoTime();
        Map<Integer, List<ProcFs.SocketEntry>> raw = ProcFs.socketsByPort(true);
        Map<Integer, List<SocketInfo>> m = new HashMap<>(raw.size() * 2);
        raw.forEach((port, entries) -> {
            List<SocketInfo> list = new ArrayList<>(entries.size());
            for (ProcFs.SocketEntry e : entries) {
                list.add(new SocketInfo(e.protocol(), e.localAddress(), e.port(), e.state(),
                        e.owner().filter(o -> o.pid() > 0).map(o -> new ProcessInfo(o.pid(), o.command()))));
            }
            m.put(port, List.copyOf(list));
        });
        return new SocketSnapshot(m, at, Duration.ofNanos(System.nanoTime() - t0), Files.isReadable(TCP_TABLE));
    }

    /** A snapshot of the given sockets, for tools and tests that know the sockets some other way. */
    public static SocketSnapshot of(Collection<SocketInfo> sockets, Instant takenAt) {
        Objects.requireNonNull(takenAt, "takenAt");
        Map<Integer, List<SocketInfo>> m = new HashMap<>();
        for (SocketInfo s : sockets) {
            m.computeIfAbsent(s.port(), p -> new ArrayList<>()).add(s);
        }
        m.replaceAll((p, l) -> List.copyOf(l));
        return new SocketSnapshot(m, takenAt, Duration.ZERO, true);
    }

    /** A snapshot of a host whose socket tables cannot be read: {@link #isAvailable()} is false. */
    public static SocketSnapshot unavailable(Instant takenAt) {
        return new SocketSnapshot(Map.of(), Objects.requireNonNull(takenAt, "takenAt"), Duration.ZERO, false);
    }

    /** Every socket on this port and protocol, listening or not. */
    public List<SocketInfo> sockets(int port, Protocol protocol) {
        List<SocketInfo> all = byPort.getOrDefault(port, List.of());
        return all.stream().filter(s -> s.protocol() == protocol).toList();
    }

    /** The sockets that serve this port and protocol (see {@link SocketInfo#isListening()}). */
    public List<SocketInfo> listeners(int port, Protocol protocol) {
        List<SocketInfo> all = byPort.getOrDefault(port, List.of());
        return all.stream().filter(s -> s.protocol() == protocol && s.isListening()).toList();
    }

    /** Every listening socket, by port and protocol, in port order. */
    public Map<PortKey, List<SocketInfo>> listeners() {
        Map<PortKey, List<SocketInfo>> out = new TreeMap<>();
        byPort.forEach((port, list) -> {
            for (SocketInfo s : list) {
                if (s.isListening()) {
                    out.computeIfAbsent(new PortKey(port, s.protocol()), k -> new ArrayList<>()).add(s);
                }
            }
        });
        return out;
    }

    /** The processes listening on this port and protocol, without duplicates; sockets whose owner is not visible are left out. */
    public List<ProcessInfo> listeningProcesses(int port, Protocol protocol) {
        return owners(listeners(port, protocol));
    }

    static List<ProcessInfo> owners(List<SocketInfo> sockets) {
        return sockets.stream().map(SocketInfo::owner).flatMap(Optional::stream).distinct().toList();
    }

    /**
     * Whether the kernel's socket tables could be read at all. Where they cannot (not Linux, {@code /proc}
     * not mounted), an empty snapshot means "unknown", not "nobody listens".
     */
    public boolean isAvailable() {
        return available;
    }

    /** Number of ports with at least one socket. */
    public int portCount() {
        return byPort.size();
    }

    /** When it was taken (wall clock). */
    public Instant takenAt() {
        return takenAt;
    }

    /** How long taking it took. */
    public Duration took() {
        return took;
    }

    @Override
    public String toString() {
        return available ? "SocketSnapshot[" + byPort.size() + " ports at " + takenAt + ", took " + took.toMillis() + " ms]"
                : "SocketSnapshot[socket tables not readable]";
    }
}
