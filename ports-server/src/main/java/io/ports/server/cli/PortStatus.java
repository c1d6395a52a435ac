package io.ports.server.cli;

import io.ports.core.BindProbe;
import io.ports.core.HostReservations;
import io.ports.core.ProbeResult;
import io.ports.core.internal.ProcFs;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Collectors;

/**
 * What {@code check} and {@code scan} found for one port.
 *
 * @param port   the port
 * @param state  the verdict
 * @param probe  the bind probe's result, or null when the port is reserved (reserved ports are never probed)
 * @param holder the process holding the host-wide claim, when reserved and Linux tells
 * @param owners the sockets on the port, when in use and Linux tells ("TCP 0.0.0.0:5432 LISTEN by pid 42 (postgres)")
 */
record PortStatus(int port, State state, ProbeResult probe, Optional<ProcFs.ProcessRef> holder, List<String> owners) {
    /** At most this many sockets are named per port. */
    static final int MAX_OWNERS = 5;

    enum State {
        FREE, IN_USE, RESERVED, PERMISSION_DENIED, ADDRESS_NOT_AVAILABLE, ERROR;

        /** For people: "in use". */
        String label() {
            return name().toLowerCase(Locale.ROOT).replace('_', ' ');
        }

        /** For JSON: "in_use". */
        String key() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    boolean isFree() {
        return state == State.FREE;
    }

    /** One line for people, without the port: "free", "in use: TCP ... by pid 42 (postgres)", "reserved by pid 7 (java)". */
    String describe() {
        switch (state) {
            case FREE:
                return "free";
            case RESERVED:
                return "reserved" + holder.map(h -> " by " + h).orElse("");
            case IN_USE:
                if (!owners.isEmpty()) {
                    return "in use: " + String.join("; ", owners);
                }
                return "in use" + probeDetail();
            default:
                return state.label() + probeDetail();
        }
    }

    private String probeDetail() {
        if (probe == null || probe.protocol() == null) {
            return "";
        }
        return " (" + probe.protocol() + " on " + probe.address() + (probe.detail().isEmpty() ? "" : ": " + probe.detail()) + ")";
    }

    /** The fields of this port for JSON output, in a stable order. */
    Map<String, Object> toJson() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("port", port);
        m.put("status", state.key());
        holder.ifPresent(h -> {
            m.put("pid", h.pid());
            m.put("command", h.command());
        });
        if (state == State.IN_USE) {
            m.put("owners", owners);
        }
        if (probe != null && !probe.isFree()) {
            m.put("protocol", probe.protocol() == null ? null : probe.protocol().name());
            m.put("address", probe.address());
            m.put("detail", probe.detail());
        }
        return m;
    }

    /**
     * Checks ports the safe way: host-wide claims first, then a bind probe of unclaimed ports only. The
     * claims come from one read of {@code /proc/locks} taken when the inspector is made, so looking
     * never claims a port (which could make a concurrent allocation skip it); where the host does not
     * list locks, each port is claimed and released for a moment instead.
     */
    static final class Inspector {
        private final HostReservations host;
        private final BindProbe probe;
        private final Optional<Map<Integer, ProcFs.ProcessRef>> claims;

        Inspector(HostReservations host, BindProbe probe) {
            this.host = host;
            this.probe = probe;
            this.claims = host.claims();
        }

        /** The port's state without socket owners; see {@link #withOwners}. */
        PortStatus inspect(int port) {
            if (claims.isPresent()) {
                ProcFs.ProcessRef holder = claims.get().get(port);
                if (holder != null) { // never probe a reserved port: the probe could break its owner's bind
                    return new PortStatus(port, State.RESERVED, null, Optional.of(holder), List.of());
                }
            } else if (host.isClaimed(port)) {
                return new PortStatus(port, State.RESERVED, null, host.claimHolder(port), List.of());
            }
            ProbeResult r = probe.probe(port);
            return new PortStatus(port, state(r.status()), r, Optional.empty(), List.of());
        }

        /**
         * The same statuses, with the sockets of every port in use named from one snapshot of the
         * kernel's tables (expensive: taken once, and only when some port is in use).
         */
        static List<PortStatus> withOwners(List<PortStatus> statuses) {
            if (statuses.stream().noneMatch(s -> s.state() == State.IN_USE)) {
                return statuses;
            }
            Map<Integer, List<ProcFs.SocketEntry>> sockets = ProcFs.socketsByPort(true);
            List<PortStatus> out = new ArrayList<>(statuses.size());
            for (PortStatus s : statuses) {
                out.add(s.state() == State.IN_USE
                        ? new PortStatus(s.port(), s.state(), s.probe(), s.holder(), owners(sockets.getOrDefault(s.port(), List.of())))
                        : s);
            }
            return out;
        }

        /** Listening and bound sockets first; at most {@link #MAX_OWNERS}, then how many more. */
        private static List<String> owners(List<ProcFs.SocketEntry> entries) {
            List<String> described = entries.stream()
                    .sorted(Comparator.comparingInt(Inspector::rank))
                    .map(ProcFs.SocketEntry::describe)
                    .distinct()
                    .collect(Collectors.toList());
            if (described.size() > MAX_OWNERS) {
                int more = described.size() - MAX_OWNERS;
                described = new ArrayList<>(described.subList(0, MAX_OWNERS));
                described.add("and " + more + " more socket" + (more == 1 ? "" : "s"));
            }
            return List.copyOf(described);
        }

        private static int rank(ProcFs.SocketEntry e) {
            switch (e.state()) {
                case "LISTEN": return 0;
                case "BOUND": return 1;
                default: return 2;
            }
        }

        private static State state(ProbeResult.Status s) {
            switch (s) {
                case FREE: return State.FREE;
                case IN_USE: return State.IN_USE;
                case PERMISSION_DENIED: return State.PERMISSION_DENIED;
                case ADDRESS_NOT_AVAILABLE: return State.ADDRESS_NOT_AVAILABLE;
                default: return State.ERROR;
            }
        }
    }
}
