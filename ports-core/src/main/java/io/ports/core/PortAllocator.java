package io.ports.core;

import io.ports.core.internal.ProcFs;
import io.ports.core.internal.SocketBinder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.IntUnaryOperator;
import java.util.stream.Collectors;

/**
 * Gives services ports without conflicts: in this process, across every process on the host that
 * uses ports with the same lock directory, and against any program that already has a port bound.
 *
 * <pre>{@code
 * try (PortAllocator ports = PortAllocator.builder().build();
 *      PortLease db = ports.allocate("orders-db", "DATABASE")) {
 *     server.bind(db.port());        // SO_REUSEADDR, as Java servers do
 *     db.releaseHold();              // the server owns the port now
 *     log.info("\n{}", ports.report().format());
 * }
 * }</pre>
 *
 * <h2>How one port is taken</h2>
 * For each candidate, cheapest test first, and never probing a port someone reserved:
 * <ol>
 *   <li>in-process: one compare-and-set on a bitmap of all 65535 ports ({@link PortReservation});</li>
 *   <li>host-wide: one {@code fcntl} byte-range lock in the shared lock file ({@link HostReservations});</li>
 *   <li>the kernel: one dual-stack bind per protocol the service uses. The TCP socket is the check and,
 *       by default, the holder: it stays bound until the lease lets go.</li>
 * </ol>
 * A candidate that fails a step is handed back at once and the walk moves on: first the preferred
 * port (environment variable, then the request's, then the type's default), then the range in the
 * order of the {@link AllocationStrategy}.
 */
public final class PortAllocator implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(PortAllocator.class);

    private final ServiceCatalog catalog;
    private final AllocationStrategy defaultStrategy;
    private final HostReservations host;
    private final boolean ownsHost;
    private final SocketBinder binder;
    private final InetAddress bindAddress;
    private final boolean hold;
    private final HoldMode holdMode;
    private final boolean allowPrivileged;
    private final BitSet neverAllocate;
    private final String nodeId;
    private final Map<String, String> environment;
    private final PortReservation inProcess = PortReservation.of(PortRange.ALL);
    private final Set<PortLease> live = ConcurrentHashMap.newKeySet();
    private volatile boolean closed;

    private PortAllocator(Builder b) {
        this.catalog = b.catalog;
        this.defaultStrategy = b.strategy;
        this.binder = SocketBinder.system();
        this.bindAddress = b.bindAddress != null ? b.bindAddress : binder.wildcard();
        this.hold = b.hold;
        this.holdMode = b.holdMode;
        this.allowPrivileged = b.allowPrivileged;
        this.neverAllocate = (BitSet) b.neverAllocate.clone();
        if (b.kernelReserved) {
            this.neverAllocate.or(ProcFs.reservedPorts());
        }
        this.nodeId = b.nodeId;
        this.environment = b.environment != null ? Map.copyOf(b.environment) : System.getenv();
        if (b.hostReservations != null) {
            this.host = b.hostReservations;
            this.ownsHost = false;
        } else if (b.hostWide) {
            this.host = HostReservations.open(b.lockDirectory != null ? b.lockDirectory : HostReservations.defaultDirectory());
            this.ownsHost = true;
        } else {
            this.host = null;
            this.ownsHost = false;
        }
        log.debug("port allocator ready: strategy={}, host-wide={}, hold={}, bind={}, sockets={}", defaultStrategy,
                host == null ? "off" : host.lockFile(), hold, BindProbe.format(bindAddress), binder.implementation());
    }

    public static Builder builder() {
        return new Builder();
    }

    public ServiceCatalog catalog() {
        return catalog;
    }

    /** The host-wide claims this allocator takes, when host-wide reservation is on. */
    public Optional<HostReservations> hostReservations() {
        return Optional.ofNullable(host);
    }

    /** Allocates a port for {@code service} of the catalog type named {@code typeName}. */
    public PortLease allocate(String service, String typeName) {
        return allocate(PortRequest.of(service, catalog.require(typeName)));
    }

    public PortLease allocate(String service, ServiceType type) {
        return allocate(PortRequest.of(service, type));
    }

    /**
     * Allocates one port.
     *
     * @throws PortUnavailableException when the request is {@code required} and its port cannot be had
     * @throws PortExhaustedException   when no port of the range can be had
     * @throws IllegalArgumentException when the request is invalid (nothing is held then)
     */
    public PortLease allocate(PortRequest request) {
        ensureOpen();
        long t0 = System.nanoTime();
        PortRange range = request.effectiveRange();
        Set<Protocol> protocols = request.effectiveProtocols();
        if (range.includesPrivileged() && !allowPrivileged) {
            throw new IllegalArgumentException("range " + range + " of service '" + request.service()
                    + "' includes privileged ports (below 1024): use a range within 1024-65535, or allow them with PortAllocator.builder().allowPrivileged(true)");
        }
        int preferred = preferredPort(request);
        if (preferred != 0 && preferred < PortRange.FIRST_UNPRIVILEGED && !allowPrivileged) {
            throw new IllegalArgumentException("preferred port " + preferred + " of service '" + request.service()
                    + "' is privileged (below 1024): choose a port within 1024-65535, or allow privileged ports with PortAllocator.builder().allowPrivileged(true)");
        }
        if (request.required() && preferred == 0) {
            throw new IllegalArgumentException("service '" + request.service() + "' is marked required but names no port: set a preferred port"
                    + (request.environmentVariable() != null ? " or the environment variable " + request.environmentVariable() : ""));
        }
        Walk walk = new Walk();
        if (preferred != 0) {
            String blocked = policyBlock(preferred, request);
            if (blocked == null) {
                PortLease lease = tryPort(preferred, request, protocols, walk, PortLease.Outcome.PREFERRED, t0);
                if (lease != null) {
                    return lease;
                }
            }
            if (request.required()) {
                String reason = blocked != null ? blocked : walk.lastReason;
                PortsException e = new PortUnavailableException(preferred, request.service(), reason, holderOf(preferred, walk));
                log.warn("{}", e.getMessage());
                throw e;
            }
            log.debug("preferred port {} of '{}' unavailable ({}); falling back to {}", preferred, request.service(),
                    blocked != null ? blocked : walk.lastReason, range);
        }
        AllocationStrategy strategy = request.strategy() != null ? request.strategy() : defaultStrategy;
        PortLease lease;
        switch (strategy) {
            case SEQUENTIAL:
                lease = walkLinear(range.start(), request, range, protocols, walk, t0);
                break;
            case RANDOM:
                lease = walkLinear(range.start() + ThreadLocalRandom.current().nextInt(range.size()), request, range, protocols, walk, t0);
                break;
            case HASH:
                lease = walkHash(request, range, protocols, walk, t0);
                break;
            default:
                throw new AssertionError(strategy);
        }
        if (lease != null) {
            return lease;
        }
        PortsException e = exhausted(request, range, walk);
        log.warn("{}", e.getMessage());
        throw e;
    }

    /**
     * Claims {@code port} for a service that has already bound it (a registry reloading its records, a
     * service restarted by a supervisor): reserved in this process and host-wide, but neither probed nor
     * held, since its own socket is there.
     *
     * @throws PortUnavailableException when this process or another process using ports holds it
     */
    public PortLease adopt(int port, String service, ServiceType type) {
        ensureOpen();
        Ports.check(port, "port");
        long t0 = System.nanoTime();
        if (!inProcess.reserve(port)) {
            throw new PortUnavailableException(port, service, "reserved by this process", holderOf(port, new Walk()));
        }
        HostClaim claim = null;
        if (host != null) {
            claim = host.tryClaim(port);
            if (claim == null) {
                inProcess.releasePort(port);
                throw new PortUnavailableException(port, service, "reserved by another process using ports", holderOf(port, new Walk()));
            }
        }
        PortLease lease = new PortLease(this, port, service, type, type.protocols(), PortLease.Outcome.PREFERRED, 1,
                System.nanoTime() - t0, claim, null, null);
        live.add(lease);
        log.debug("adopted port {} for '{}'", port, service);
        return lease;
    }

    /**
     * Allocates one port per request, all or nothing: when one fails, the leases already taken for the
     * others are released before the failure is thrown.
     */
    public List<PortLease> allocateAll(List<PortRequest> requests) {
        List<PortLease> got = new ArrayList<>(requests.size());
        try {
            for (PortRequest r : requests) {
                got.add(allocate(r));
            }
            return List.copyOf(got);
        } catch (RuntimeException e) {
            for (PortLease l : got) {
                l.close();
            }
            if (!got.isEmpty()) {
                log.warn("released {} port(s) already allocated in this batch of {}: {}", got.size(), requests.size(),
                        got.stream().map(l -> l.service() + "=" + l.port()).collect(Collectors.joining(", ")));
            }
            throw e;
        }
    }

    /** The live leases of this allocator, in port order, with totals. */
    public AllocationReport report() {
        return new AllocationReport(live.stream()
                .sorted(Comparator.comparingInt(PortLease::port))
                .map(l -> new AllocationReport.Entry(l.service(), l.type().name(), l.port(), l.outcome(), l.attempts(), l.elapsed()))
                .toList());
    }

    /** Whether this allocator (not the host) has the port reserved at this moment. */
    public boolean isReservedHere(int port) {
        return inProcess.isReserved(Ports.check(port, "port"));
    }

    /** Releases every live lease and, when this allocator opened it, the host-wide lock file. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        for (PortLease l : List.copyOf(live)) {
            l.close();
        }
        if (ownsHost) {
            host.close();
        }
    }

    void released(PortLease lease) {
        live.remove(lease);
        inProcess.releasePort(lease.port());
        if (log.isDebugEnabled()) {
            log.debug("released port {} of '{}'", lease.port(), lease.service());
        }
    }

    // ---------------------------------------------------------------- the walk

    /** Counters of one allocation, for its outcome or its exhaustion message. */
    private static final class Walk {
        int probes;
        int reservedElsewhere;
        int bound;
        String lastReason = "";
    }

    private PortLease walkLinear(int from, PortRequest request, PortRange range, Set<Protocol> protocols, Walk walk, long t0) {
        PortLease l = walkSegment(from, range.end(), request, protocols, walk, t0);
        return l != null || from == range.start() ? l : walkSegment(range.start(), from - 1, request, protocols, walk, t0);
    }

    private PortLease walkSegment(int from, int to, PortRequest request, Set<Protocol> protocols, Walk walk, long t0) {
        int p = from;
        while (p <= to) {
            p = inProcess.nextUnreserved(p, to);
            if (p < 0) {
                return null;
            }
            if (policyBlock(p, request) == null) {
                PortLease lease = tryPort(p, request, protocols, walk, PortLease.Outcome.FALLBACK, t0);
                if (lease != null) {
                    return lease;
                }
            }
            p++;
        }
        return null;
    }

    /** Double hashing over the range: a start and a step (coprime with the size) derived from the key. */
    private PortLease walkHash(PortRequest request, PortRange range, Set<Protocol> protocols, Walk walk, long t0) {
        String key = request.hashKey() != null ? request.hashKey() : nodeId + "/" + request.service();
        int size = range.size();
        IntUnaryOperator order = hashOrder(key, size);
        for (int i = 0; i < size; i++) {
            int p = range.start() + order.applyAsInt(i);
            if (inProcess.isReserved(p) || policyBlock(p, request) != null) {
                continue;
            }
            PortLease lease = tryPort(p, request, protocols, walk, PortLease.Outcome.FALLBACK, t0);
            if (lease != null) {
                return lease;
            }
        }
        return null;
    }

    /** The i-th offset (0..size-1) of the deterministic probe sequence of {@code key}; a permutation of the range. */
    static IntUnaryOperator hashOrder(String key, int size) {
        long h1 = mix(fnv1a(key));
        long h2 = mix(h1 ^ 0x9E3779B97F4A7C15L);
        long start = Math.floorMod(h1, (long) size);
        long step = size == 1 ? 1 : 1 + Math.floorMod(h2, (long) (size - 1));
        while (gcd(step, size) != 1) {
            step = step % size + 1;
        }
        long s = step;
        return i -> (int) ((start + i * s) % size);
    }

    private static long fnv1a(String s) {
        long h = 0xcbf29ce484222325L;
        for (byte b : s.getBytes(StandardCharsets.UTF_8)) {
            h ^= b & 0xff;
            h *= 0x100000001b3L;
        }
        return h;
    }

    private static long mix(long z) { // splitmix64 finaliser
        z = (z ^ (z >>> 30)) * 0xbf58476d1ce4e5b9L;
        z = (z ^ (z >>> 27)) * 0x94d049bb133111ebL;
        return z ^ (z >>> 31);
    }

    private static long gcd(long a, long b) {
        while (b != 0) {
            long t = a % b;
            a = b;
            b = t;
        }
        return a;
    }

    /**
     * Takes one candidate through the three steps. Each step undoes the ones before it on failure, so
     * a refused candidate leaves nothing behind.
     */
    private PortLease tryPort(int p, PortRequest request, Set<Protocol> protocols, Walk walk, PortLease.Outcome outcome, long t0) {
        walk.probes++;
        if (!inProcess.reserve(p)) {
            walk.lastReason = "reserved by this process";
            return null;
        }
        HostClaim claim = null;
        if (host != null) {
            claim = host.tryClaim(p);
            if (claim == null) {
                inProcess.releasePort(p);
                walk.reservedElsewhere++;
                walk.lastReason = "reserved by another process using ports (lock file " + host.lockFile() + ")";
                return null;
            }
        }
        SocketBinder.Held held = null;
        for (Protocol protocol : Protocol.values()) {
            if (!protocols.contains(protocol)) {
                continue;
            }
            boolean keep = hold && protocol == Protocol.TCP;
            HoldMode mode = request.holdMode() != null ? request.holdMode() : holdMode;
            boolean exclusive = keep && mode == HoldMode.EXCLUSIVE;
            SocketBinder.Result r = binder.bind(protocol, bindAddress, p, protocol == Protocol.TCP && !exclusive, exclusive, keep);
            if (r.status() != SocketBinder.Status.OK) {
                if (held != null) {
                    held.close();
                }
                if (claim != null) {
                    claim.close();
                }
                inProcess.releasePort(p);
                walk.bound++;
                walk.lastReason = BindProbe.map(r.status()).name().toLowerCase(java.util.Locale.ROOT).replace('_', ' ')
                        + " (" + protocol + " on " + BindProbe.format(bindAddress) + (r.detail().isEmpty() ? "" : ": " + r.detail()) + ")";
                return null;
            }
            if (keep) {
                held = r.held();
            }
        }
        PortLease lease = new PortLease(this, p, request.service(), request.type(), protocols, outcome, walk.probes,
                System.nanoTime() - t0, claim, held, held == null ? null : (request.holdMode() != null ? request.holdMode() : holdMode));
        live.add(lease);
        if (closed) { // closed while we were probing: give it straight back
            lease.close();
            ensureOpen();
        }
        if (log.isInfoEnabled()) {
            log.info("port {} -> '{}' ({}): {} after {} {} in {} µs", p, request.service(), request.type().name(), outcome,
                    walk.probes, walk.probes == 1 ? "attempt" : "attempts", lease.elapsedNanos() / 1000);
        }
        return lease;
    }

    private String policyBlock(int p, PortRequest request) {
        if (neverAllocate.get(p)) {
            return "on the never-allocate list";
        }
        if (request.excludes(p)) {
            return "excluded by the request";
        }
        if (p < PortRange.FIRST_UNPRIVILEGED && !allowPrivileged) {
            return "privileged";
        }
        return null;
    }

    private int preferredPort(PortRequest request) {
        String var = request.environmentVariable();
        if (var != null) {
            String v = environment.get(var);
            if (v != null && !v.isBlank()) {
                return Ports.parse(v, "environment variable " + var + " (preferred port of service '" + request.service() + "')");
            }
        }
        if (request.preferredPort() != 0) {
            return request.preferredPort();
        }
        return request.type().defaultPort();
    }

    private String holderOf(int port, Walk walk) {
        if (inProcess.isReserved(port)) {
            return live.stream().filter(l -> l.port() == port).findFirst()
                    .map(l -> "service '" + l.service() + "' in this process").orElse("this process");
        }
        if (host != null) {
            Optional<ProcFs.ProcessRef> p = host.claimHolder(port);
            if (p.isPresent()) {
                return p.get() + ", through the lock file " + host.lockFile();
            }
        }
        List<ProcFs.SocketEntry> sockets = ProcFs.socketsByPort(true).getOrDefault(port, List.of());
        return sockets.stream().map(ProcFs.SocketEntry::describe).collect(Collectors.joining("; "));
    }

    private PortExhaustedException exhausted(PortRequest request, PortRange range, Walk walk) {
        int reservedHere = 0;
        int excluded = 0;
        for (int p = range.start(); p <= range.end(); p++) {
            if (policyBlock(p, request) != null) {
                excluded++;
            } else if (inProcess.isReserved(p)) {
                reservedHere++;
            }
        }
        return new PortExhaustedException(request.service(), range, walk.probes, reservedHere, walk.reservedElsewhere, walk.bound, excluded);
    }

    private void ensureOpen() {
        if (closed) {
            throw new IllegalStateException("this PortAllocator is closed; build a new one");
        }
    }

    /** Configures a {@link PortAllocator}; every setter validates its argument. */
    public static final class Builder {
        private ServiceCatalog catalog = ServiceCatalog.defaults();
        private AllocationStrategy strategy = AllocationStrategy.SEQUENTIAL;
        private boolean hostWide = true;
        private Path lockDirectory;
        private HostReservations hostReservations;
        private InetAddress bindAddress;
        private boolean hold = true;
        private HoldMode holdMode = HoldMode.SHARED;
        private boolean allowPrivileged;
        private boolean kernelReserved = true;
        private final BitSet neverAllocate = new BitSet();
        private String nodeId = "node";
        private Map<String, String> environment;

        private Builder() {
        }

        public Builder catalog(ServiceCatalog catalog) {
            this.catalog = Objects.requireNonNull(catalog, "catalog");
            return this;
        }

        /** How ranges are walked when a request names no strategy; default {@link AllocationStrategy#SEQUENTIAL}. */
        public Builder strategy(AllocationStrategy strategy) {
            this.strategy = Objects.requireNonNull(strategy, "strategy");
            return this;
        }

        /** Claim ports for every process on the host (default true); false keeps claims in this process only. */
        public Builder hostWide(boolean hostWide) {
            this.hostWide = hostWide;
            return this;
        }

        /** Directory of the host-wide lock file; default {@link HostReservations#defaultDirectory()}. */
        public Builder lockDirectory(Path dir) {
            this.lockDirectory = Objects.requireNonNull(dir, "lock directory");
            return this;
        }

        /** Share host-wide claims the caller opened (and will close). */
        public Builder hostReservations(HostReservations reservations) {
            this.hostReservations = Objects.requireNonNull(reservations, "host reservations");
            return this;
        }

        /** Address the kernel check binds; default the wildcard ({@code [::]} dual-stack where the host has IPv6). */
        public Builder bindAddress(InetAddress address) {
            this.bindAddress = Objects.requireNonNull(address, "bind address");
            return this;
        }

        /** Keep each leased TCP port bound by a holding socket until the lease lets go (default true). */
        public Builder hold(boolean hold) {
            this.hold = hold;
            return this;
        }

        /** How holding sockets share their port when a request does not say; default {@link HoldMode#SHARED}. */
        public Builder holdMode(HoldMode mode) {
            this.holdMode = Objects.requireNonNull(mode, "hold mode");
            return this;
        }

        /** Allow ports below 1024 (default false). */
        public Builder allowPrivileged(boolean allow) {
            this.allowPrivileged = allow;
            return this;
        }

        /** Ports never handed out, whatever a request says. */
        public Builder neverAllocate(int... ports) {
            for (int p : ports) {
                neverAllocate.set(Ports.check(p, "never-allocate port"));
            }
            return this;
        }

        public Builder neverAllocate(PortRange range) {
            neverAllocate.set(range.start(), range.end() + 1);
            return this;
        }

        /** Also never hand out the kernel's {@code ip_local_reserved_ports} (default true). */
        public Builder respectKernelReservedPorts(boolean respect) {
            this.kernelReserved = respect;
            return this;
        }

        /** Identity of this node, part of the {@link AllocationStrategy#HASH} key (default "node"). */
        public Builder nodeId(String nodeId) {
            if (nodeId == null || nodeId.isBlank()) {
                throw new IllegalArgumentException("node id must not be blank: use a stable name such as the host name");
            }
            this.nodeId = nodeId;
            return this;
        }

        /** The environment preferred-port variables are read from; default {@link System#getenv()}. */
        public Builder environment(Map<String, String> environment) {
            this.environment = Objects.requireNonNull(environment, "environment");
            return this;
        }

        public PortAllocator build() {
            return new PortAllocator(this);
        }
    }
}
