package io.ports.core.registry;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.JsonNode;
import io.ports.core.EventLoops;
import io.ports.core.HoldMode;
import io.ports.core.PortAllocator;
import io.ports.core.PortLease;
import io.ports.core.PortRange;
import io.ports.core.PortRequest;
import io.ports.core.Protocol;
import io.ports.core.ServiceCatalog;
import io.ports.core.ServiceType;
import io.ports.core.internal.ProcFs;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;
import java.util.stream.Collectors;

/**
 * The source of truth of who holds which port on this host: allocation records with heartbeats and
 * expiry, kept in a {@link RegistryStore}, with every port claimed through a {@link PortAllocator}
 * (so processes that use ports directly never collide with registry allocations).
 *
 * <h2>Life of a record</h2>
 * {@link #allocate} gives a port and a RESERVED record; the allocator's lease holds the port with a
 * {@link HoldMode#SHARED} socket so nobody else takes it before the service binds. The first
 * {@link #heartbeat} (or health monitoring seeing the port bound by the holder, {@link #markActive})
 * makes it ACTIVE and drops the holding socket; the host-wide claim stays. A record that goes longer
 * than its heartbeat timeout without a heartbeat, or whose process is gone, is EXPIRED by
 * {@link #cleanup()}; {@link #release} makes it RELEASED. Either way its port is free again at once;
 * the record itself stays visible for the retention period, then is purged. At most
 * {@link Builder#maxEndedRecords(int) a bounded number} of ended records are kept: beyond it the
 * oldest ended go first, whatever their age, so that a registry under churn (a release every few
 * hundred microseconds) neither grows for the whole retention nor keeps every released record alive
 * long enough for the garbage collector to copy it again and again.
 *
 * <h2>Time</h2>
 * Expiry is measured with a monotonic clock (the ticker): a wall-clock jump neither expires a live
 * holder nor revives a dead one. Wall-clock timestamps ({@code allocated_at}, {@code last_heartbeat})
 * are for people. After a restart every live record gets a full timeout from the moment it was
 * loaded, since the monotonic time of its last heartbeat is gone with the old process.
 *
 * <h2>Durability</h2>
 * Every allocation, release, expiry and status change is durable before the call returns. Heartbeats
 * that do not change the status are kept in memory only: they are frequent, and the timeout restarts
 * at load anyway.
 */
public final class Registry implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(Registry.class);

    /** Ports whose meaning every operator knows, and which allocations of another kind should not take. */
    public static final Map<Integer, String> WELL_KNOWN_PORTS = Collections.unmodifiableMap(new TreeMap<>(Map.of(
            80, "HTTP",
            443, "HTTPS",
            5432, "database client (PostgreSQL protocol)",
            5433, "database cluster traffic",
            5434, "database replication",
            8080, "admin HTTP",
            8081, "public HTTP API")));

    /** How many ended records a registry keeps at most unless told otherwise. */
    public static final int DEFAULT_MAX_ENDED_RECORDS = 1_000;

    private final RegistryStore store;
    private final PortAllocator allocator;
    private final boolean ownsAllocator;
    private final ServiceCatalog catalog;
    private final Duration defaultTimeout;
    private final Map<String, Duration> typeTimeouts;
    private final Duration retention;
    private final int maxEnded;
    private final int trimBatch;
    private final LongSupplier ticker;
    private final Clock clock;
    private final String localHost;

    private final Map<String, Entry> byId = new ConcurrentHashMap<>();
    private final Map<Integer, String> livePorts = new ConcurrentHashMap<>(); // port << 1 | protocol -> id
    private final Map<String, Set<String>> byService = new ConcurrentHashMap<>();
    private final RegistryStatistics statistics = new RegistryStatistics();
    /** Ended records, oldest ended first; an item is stale once its entry is gone, live again or ended again. */
    private final ArrayDeque<Ended> ended = new ArrayDeque<>();
    private volatile boolean closed;

    /** A record and what only this process knows of it. */
    private static final class Entry {
        volatile Allocation record;
        volatile long lastBeatNanos;
        volatile long endedNanos;
        volatile int endedSeq; // which of the entry's ends its item in the ended queue stands for
        PortLease lease;

        Entry(Allocation record, long now, PortLease lease) {
            this.record = record;
            this.lastBeatNanos = now;
            this.lease = lease;
        }
    }

    private record Ended(Entry entry, int seq) {
    }

    private Registry(Builder b) {
        this.store = b.store != null ? b.store : new InMemoryStore();
        if (b.allocator != null) {
            this.allocator = b.allocator;
            this.ownsAllocator = false;
        } else {
            PortAllocator.Builder ab = PortAllocator.builder().catalog(b.catalog).holdMode(HoldMode.SHARED);
            if (b.lockDirectory != null) {
                ab.lockDirectory(b.lockDirectory);
            }
            this.allocator = ab.build();
            this.ownsAllocator = true;
        }
        this.catalog = allocator.catalog();
        this.defaultTimeout = b.defaultTimeout;
        this.typeTimeouts = Map.copyOf(b.typeTimeouts);
        this.retention = b.retention;
        this.maxEnded = b.maxEnded;
        this.trimBatch = Math.max(1, Math.min(64, b.maxEnded / 32));
        this.ticker = b.ticker;
        this.clock = b.clock;
        this.localHost = b.host != null ? b.host : localHostName();
        load();
        if (store.shared()) {
            store.subscribe(this::applyStoreChange);
        }
    }

    public static Builder builder() {
        return new Builder();
    }

    private static String localHostName() {
        try {
            String h = Files.readString(Path.of("/proc/sys/kernel/hostname")).strip();
            if (!h.isEmpty()) {
                return h;
            }
        } catch (IOException | SecurityException ignored) {
            // not Linux
        }
        String env = System.getenv("HOSTNAME");
        return env != null && !env.isBlank() ? env : "localhost";
    }

    /** Loads the store and claims again the ports of its live records. */
    private void load() {
        long now = ticker.getAsLong();
        int live = 0;
        int lost = 0;
        for (Allocation a : store.load()) {
            PortLease lease = null;
            if (a.status().isLive() && tracksPort(a)) {
                try {
                    lease = allocator.adopt(a.port(), a.serviceName(), typeOrCustom(a.serviceType()));
                } catch (RuntimeException e) {
                    lost++;
                    log.warn("record {} ({} on port {}) could not claim its port again: {}", a.id(), a.serviceName(), a.port(), e.getMessage());
                }
                String clash = livePorts.putIfAbsent(key(a.port(), a.protocol()), a.id());
                if (clash != null) {
                    throw new RegistryStoreException("the store " + store.describe() + " has two live records on " + a.protocol() + " port " + a.port()
                            + ": " + clash + " and " + a.id() + ". Fix or remove one of them (export, edit, import) before opening it");
                }
                live++;
            }
            Entry e = new Entry(a, now, lease);
            byId.put(a.id(), e);
            if (!a.status().isLive()) {
                markEnded(e, now);
            }
            indexService(a.serviceName(), a.id());
        }
        if (!byId.isEmpty()) {
            log.info("registry loaded {} records from {} ({} live{})", byId.size(), store.describe(), live,
                    lost == 0 ? "" : ", " + lost + " could not claim their port again");
        }
    }

    private ServiceType typeOrCustom(String name) {
        return catalog.find(name).orElse(ServiceType.CUSTOM);
    }

    private static int key(int port, Protocol protocol) {
        return port << 1 | protocol.ordinal();
    }

    /**
     * Whether a live record's port is one this registry claims and checks: every record of a store only
     * this registry uses, and only this host's records of a shared store (other hosts' ports are theirs).
     */
    private boolean tracksPort(Allocation a) {
        return !store.shared() || a.host().equals(localHost);
    }

    // --------------------------------------------------------------------------------- operations

    /**
     * Allocates a port and records it, durably, as RESERVED.
     *
     * @throws IllegalArgumentException when the request names an unknown type (nothing changes)
     * @throws io.ports.core.PortUnavailableException when a required port is taken
     * @throws io.ports.core.PortExhaustedException   when the type's range is full
     */
    public Allocation allocate(AllocationRequest req) {
        ensureOpen();
        long t0 = System.nanoTime();
        ServiceType type;
        try {
            type = catalog.require(req.serviceType());
        } catch (IllegalArgumentException e) {
            statistics.failed(e);
            throw e;
        }
        Duration timeout = req.heartbeatTimeout() != null ? req.heartbeatTimeout() : typeTimeouts.getOrDefault(type.name(), defaultTimeout);
        PortRequest.Builder pr = PortRequest.builder(req.serviceName(), type)
                .preferredPort(req.preferredPort())
                .required(req.required())
                .protocols(EnumSet.of(req.protocol()))
                .holdMode(HoldMode.SHARED);
        if (store.shared()) {
            // ports other registries hold on this host (known from the shared store): not this allocator's to know
            for (Map.Entry<Integer, String> live : livePorts.entrySet()) {
                int port = live.getKey() >>> 1;
                if ((live.getKey() & 1) == req.protocol().ordinal() && port != req.preferredPort() && byId.get(live.getValue()) != null
                        && byId.get(live.getValue()).lease == null) {
                    pr.exclude(port);
                }
            }
        }
        PortLease lease;
        String id = UUID.randomUUID().toString();
        String host = req.host() != null && !req.host().isBlank() ? req.host() : localHost;
        Allocation a;
        for (int attempt = 0; ; attempt++) {
            try {
                lease = allocator.allocate(pr.build());
            } catch (RuntimeException e) {
                statistics.failed(e);
                throw e;
            }
            int k = key(lease.port(), req.protocol());
            String clash = livePorts.putIfAbsent(k, id);
            PortConflictException conflict = null;
            if (clash == null) {
                Instant now = clock.instant();
                a = new Allocation(id, req.serviceName(), type.name(), lease.port(), req.protocol(), host, req.pid(), req.metadata(),
                        now, now, AllocationStatus.RESERVED, timeout.toMillis());
                try {
                    store.write(List.of(RegistryStore.Change.put(a)));
                    break;
                } catch (PortConflictException e) {
                    conflict = e; // a shared store: another registry took this host's port first
                } catch (RuntimeException e) {
                    livePorts.remove(k, id);
                    lease.close();
                    statistics.failed(e);
                    throw e;
                }
                livePorts.remove(k, id);
            }
            // a record the allocator does not know of (loaded, but its port could not be claimed again; or another registry's)
            lease.close();
            if (req.required() || attempt >= 16) {
                PortConflictException e = conflict != null ? conflict : new PortConflictException(lease.port(), "port " + lease.port() + "/"
                        + req.protocol() + " is held by the live record " + clash + " (" + describe(clash) + "); service '" + req.serviceName()
                        + "' cannot have it. Release or expire that record first");
                statistics.failed(e);
                throw e;
            }
            pr.exclude(lease.port());
        }
        byId.put(id, new Entry(a, ticker.getAsLong(), lease));
        if (store.shared()) {
            livePorts.put(key(a.port(), a.protocol()), id); // acknowledged: this record holds the port, whatever notice came meanwhile
        }
        indexService(a.serviceName(), id);
        String meaning = WELL_KNOWN_PORTS.get(a.port());
        if (meaning != null && type.defaultPort() != a.port()) {
            log.warn("service '{}' of type {} got port {}, which is well known as {}", a.serviceName(), type.name(), a.port(), meaning);
        }
        statistics.allocated(type.name(), System.nanoTime() - t0);
        return a;
    }

    /**
     * Records a port the caller already holds through a lease of this registry's allocator (a node that
     * allocated and bound the port itself). The record starts ACTIVE when {@code bound}, else RESERVED.
     * The lease stays the caller's: ending the record does not close it.
     *
     * @throws PortConflictException when a live record holds that port and protocol already
     */
    public Allocation register(PortLease lease, Protocol protocol, long pid, Map<String, String> metadata, boolean bound) {
        ensureOpen();
        Objects.requireNonNull(lease, "lease");
        if (lease.isReleased()) {
            throw new IllegalStateException("lease " + lease + " is released: allocate again before registering");
        }
        String id = UUID.randomUUID().toString();
        int k = key(lease.port(), protocol);
        String clash = livePorts.putIfAbsent(k, id);
        if (clash != null) {
            throw new PortConflictException(lease.port(), "port " + lease.port() + "/" + protocol + " is held by the live record " + clash
                    + " (" + describe(clash) + "); service '" + lease.service() + "' cannot register it");
        }
        Duration timeout = typeTimeouts.getOrDefault(lease.type().name(), defaultTimeout);
        Instant now = clock.instant();
        Allocation a = new Allocation(id, lease.service(), lease.type().name(), lease.port(), protocol, localHost, pid, metadata, now, now,
                bound ? AllocationStatus.ACTIVE : AllocationStatus.RESERVED, timeout.toMillis());
        try {
            store.write(List.of(RegistryStore.Change.put(a)));
        } catch (RuntimeException e) {
            livePorts.remove(k, id);
            throw e;
        }
        byId.put(id, new Entry(a, ticker.getAsLong(), null));
        if (store.shared()) {
            livePorts.put(k, id); // acknowledged: this record holds the port, whatever notice came meanwhile
        }
        indexService(a.serviceName(), id);
        statistics.allocated(a.serviceType(), 0);
        return a;
    }

    /**
     * Releases a live record: RELEASED, port free. Releasing an ended record changes nothing.
     *
     * @return the record as it now stands
     * @throws NoSuchAllocationException for an unknown id
     */
    public Allocation release(String id) {
        ensureOpen();
        Entry e = entry(id);
        synchronized (e) {
            if (!e.record.status().isLive()) {
                return e.record;
            }
            end(e, AllocationStatus.RELEASED, "released by its holder");
            statistics.released();
            return e.record;
        }
    }

    /**
     * Records a heartbeat: the record is ACTIVE and its timeout starts again.
     *
     * @throws NoSuchAllocationException for an unknown id
     * @throws IllegalStateException     when the record already ended (allocate again then)
     */
    public Allocation heartbeat(String id) {
        ensureOpen();
        Entry e = entry(id);
        synchronized (e) {
            Allocation a = e.record;
            if (!a.status().isLive()) {
                throw new IllegalStateException("allocation " + id + " (" + a.serviceName() + " on port " + a.port() + ") is " + a.status()
                        + ": its port may belong to someone else by now. Allocate again");
            }
            if (!store.heartbeat(a)) {
                end(e, AllocationStatus.EXPIRED, "the store " + store.describe() + " had already ended it (its lease ran out)");
                statistics.expired();
                throw new IllegalStateException("allocation " + id + " (" + a.serviceName() + " on port " + a.port() + ") expired in the store "
                        + store.describe() + " before this heartbeat: its port may belong to someone else by now. Allocate again");
            }
            Allocation next = a.withHeartbeat(clock.instant(), AllocationStatus.ACTIVE);
            if (a.status() == AllocationStatus.RESERVED) {
                store.write(List.of(RegistryStore.Change.put(next))); // a status change: durable
                if (e.lease != null) {
                    e.lease.releaseHold();
                }
            }
            e.record = next;
            e.lastBeatNanos = ticker.getAsLong();
            statistics.heartbeat();
            return next;
        }
    }

    /**
     * Expires a live record now, for a reason found outside the registry (health monitoring saw its
     * holder crash and the port free). Expiring an ended record changes nothing.
     *
     * @throws NoSuchAllocationException for an unknown id
     */
    public Allocation expire(String id, String reason) {
        ensureOpen();
        Entry e = entry(id);
        synchronized (e) {
            if (!e.record.status().isLive()) {
                return e.record;
            }
            end(e, AllocationStatus.EXPIRED, reason == null || reason.isBlank() ? "expired" : reason);
            statistics.expired();
            return e.record;
        }
    }

    /** This host's name, as live records of local holders carry it. */
    public String host() {
        return localHost;
    }

    /** Marks a RESERVED record ACTIVE because its port was seen bound by its holder (health monitoring). */
    public Allocation markActive(String id) {
        ensureOpen();
        Entry e = entry(id);
        synchronized (e) {
            Allocation a = e.record;
            if (a.status() != AllocationStatus.RESERVED) {
                return a;
            }
            Allocation next = a.withStatus(AllocationStatus.ACTIVE);
            store.write(List.of(RegistryStore.Change.put(next)));
            if (e.lease != null) {
                e.lease.releaseHold();
            }
            e.record = next;
            return next;
        }
    }

    /**
     * Expires live records that missed their heartbeat timeout or whose process on this host is gone,
     * and purges ended records older than the retention, and the oldest ended beyond the
     * {@linkplain Builder#maxEndedRecords(int) bound}.
     *
     * @return the records expired by this call
     */
    public List<Allocation> cleanup() {
        ensureOpen();
        long now = ticker.getAsLong();
        List<Allocation> expired = new ArrayList<>();
        for (Entry e : byId.values()) {
            synchronized (e) {
                Allocation a = e.record;
                if (a.status().isLive()) {
                    String why = null;
                    if (a.pid() > 0 && a.host().equals(localHost) && !ProcFs.isAlive(a.pid())) {
                        why = "its process " + a.pid() + " is gone";
                    } else if (!store.expiresRecords() && now - e.lastBeatNanos > TimeUnit.MILLISECONDS.toNanos(a.heartbeatTimeoutMillis())) {
                        why = "no heartbeat for " + TimeUnit.NANOSECONDS.toMillis(now - e.lastBeatNanos) + " ms (timeout " + a.heartbeatTimeoutMillis() + " ms)";
                    }
                    if (why != null) {
                        end(e, AllocationStatus.EXPIRED, why);
                        statistics.expired();
                        expired.add(e.record);
                    }
                }
            }
        }
        List<Entry> purge = new ArrayList<>();
        long retentionNanos = retention.toNanos();
        synchronized (ended) {
            for (Ended x; (x = ended.peekFirst()) != null; ) {
                if (isCurrent(x) && ended.size() <= maxEnded && now - x.entry().endedNanos <= retentionNanos) {
                    break; // the oldest current item is young enough, and the bound is kept
                }
                ended.pollFirst();
                if (isCurrent(x)) {
                    purge.add(x.entry());
                }
            }
        }
        if (!purge.isEmpty()) {
            writePurging(null, purge);
        }
        return expired;
    }

    /** Whether an item of the ended queue still stands for its entry: in the registry, ended, and not ended again since. */
    private boolean isCurrent(Ended x) {
        Entry e = x.entry();
        return e.endedSeq == x.seq() && !e.record.status().isLive() && byId.get(e.record.id()) == e;
    }

    /** Notes that an entry ended now (the caller holds its lock, or the entry is not yet visible to others). */
    private void markEnded(Entry e, long now) {
        e.endedNanos = now;
        int seq = ++e.endedSeq;
        synchronized (ended) {
            ended.addLast(new Ended(e, seq));
        }
    }

    /**
     * Takes the oldest ended records over the bound out of the queue, a batch at a time so that one write in
     * {@code trimBatch} ends carries their removal. Empty while the bound is kept.
     */
    private List<Entry> takeOverflow() {
        synchronized (ended) {
            if (ended.size() < maxEnded + trimBatch) {
                return List.of();
            }
            List<Entry> out = new ArrayList<>(trimBatch);
            while (ended.size() > maxEnded) {
                Ended x = ended.pollFirst();
                if (isCurrent(x)) {
                    out.add(x.entry());
                }
            }
            return out;
        }
    }

    /**
     * Writes {@code first} (if any) and the removal of {@code purge} in one store write, then forgets the purged
     * records; when the write fails they go back to the head of the ended queue and the failure propagates.
     */
    private void writePurging(RegistryStore.Change first, List<Entry> purge) {
        List<RegistryStore.Change> changes = new ArrayList<>(purge.size() + 1);
        if (first != null) {
            changes.add(first);
        }
        for (Entry old : purge) {
            changes.add(RegistryStore.Change.remove(old.record.id()));
        }
        try {
            store.write(changes);
        } catch (RuntimeException ex) {
            requeue(purge);
            throw ex;
        }
        forgetPurged(purge);
    }

    /** Puts back, oldest first, ended records whose removal could not be written. */
    private void requeue(List<Entry> entries) {
        synchronized (ended) {
            for (int i = entries.size() - 1; i >= 0; i--) {
                Entry e = entries.get(i);
                ended.addFirst(new Ended(e, e.endedSeq));
            }
        }
    }

    /** Adds a record to its service's index (atomically with {@link #unindexService}, which drops emptied services). */
    private void indexService(String service, String id) {
        byService.compute(service, (k, ids) -> {
            Set<String> out = ids != null ? ids : ConcurrentHashMap.newKeySet();
            out.add(id);
            return out;
        });
    }

    /**
     * Takes a purged record out of its service's index, and the service with its last record: under churn
     * with a new service name per allocation the index would otherwise keep one empty set per name forever.
     */
    private void unindexService(String service, String id) {
        byService.computeIfPresent(service, (k, ids) -> {
            ids.remove(id);
            return ids.isEmpty() ? null : ids;
        });
    }

    /** How many service names the per-service index holds (for tests: it must not grow with names no record has). */
    int indexedServices() {
        return byService.size();
    }

    /** Drops purged records from the in-memory view (their removal is durable). */
    private void forgetPurged(List<Entry> purged) {
        for (Entry e : purged) {
            String id = e.record.id();
            if (byId.remove(id, e)) {
                unindexService(e.record.serviceName(), id);
            }
        }
    }

    /**
     * Ends a live record (the caller holds the entry's lock): durable first, then the port is freed. The same
     * write removes the oldest ended records when there are more than the bound.
     */
    private void end(Entry e, AllocationStatus status, String why) {
        Allocation a = e.record;
        Allocation next = a.withStatus(status);
        List<Entry> overflow = takeOverflow();
        if (overflow.isEmpty()) {
            store.write(List.of(RegistryStore.Change.put(next)));
        } else {
            writePurging(RegistryStore.Change.put(next), overflow);
        }
        e.record = next;
        markEnded(e, ticker.getAsLong());
        livePorts.remove(key(a.port(), a.protocol()), a.id());
        if (e.lease != null) {
            e.lease.close();
            e.lease = null;
        }
        log.info("allocation {} ({} on port {}) {}: {}", a.id(), a.serviceName(), a.port(), status, why);
    }

    /**
     * A change another registry made in the shared store, or a record the store ended itself: the
     * in-memory view follows it (no store write). Called on the store's one notification thread.
     */
    private void applyStoreChange(RegistryStore.Change c) {
        if (closed) {
            return;
        }
        long now = ticker.getAsLong();
        if (c.isRemove()) {
            Entry e = byId.get(c.removedId());
            if (e == null) {
                return;
            }
            synchronized (e) {
                Allocation a = e.record;
                if (a.status().isLive()) {
                    // a live record gone from the store: the store ended it (its lease ran out)
                    forget(e, AllocationStatus.EXPIRED, now);
                    statistics.expired();
                    log.info("allocation {} ({} on {} port {}) EXPIRED: the store {} ended it (no heartbeat within {} ms)",
                            a.id(), a.serviceName(), a.host(), a.port(), store.describe(), a.heartbeatTimeoutMillis());
                    return;
                }
            }
            if (byId.remove(c.removedId(), e)) {
                unindexService(e.record.serviceName(), c.removedId());
            }
            return;
        }
        Allocation a = c.put();
        Entry e = byId.computeIfAbsent(a.id(), id -> new Entry(a, now, null));
        synchronized (e) {
            Allocation old = e.record;
            if (old == a) { // new to this registry
                indexService(a.serviceName(), a.id());
                if (a.status().isLive()) {
                    if (tracksPort(a)) {
                        holdPort(a);
                    }
                } else {
                    markEnded(e, now);
                }
                return;
            }
            if (old.status().isLive() && !a.status().isLive()) {
                forget(e, a.status(), now);
                e.record = a;
                log.info("allocation {} ({} on {} port {}) {} by another registry", a.id(), a.serviceName(), a.host(), a.port(), a.status());
                return;
            }
            if (!old.status().isLive() && a.status().isLive() && tracksPort(a)) {
                holdPort(a);
            }
            e.record = a;
            e.lastBeatNanos = now;
        }
    }

    /**
     * Records a shared store's live record as its port's holder, unless a live record this registry knows
     * holds it: the store lets one live record hold a port at a time, so that one is newer than this notice
     * (one of this registry's own writes overtook it). An allocation of this registry still in flight (its
     * id not yet in the directory) gives way; it asserts its hold again once its write is acknowledged.
     */
    private void holdPort(Allocation a) {
        livePorts.compute(key(a.port(), a.protocol()), (k, current) -> {
            if (current == null || current.equals(a.id())) {
                return a.id();
            }
            Entry holder = byId.get(current);
            return holder != null && holder.record.status().isLive() ? current : a.id();
        });
    }

    /** Ends a live record in memory only (the store has ended it already); the caller holds the entry's lock. */
    private void forget(Entry e, AllocationStatus status, long now) {
        Allocation a = e.record;
        e.record = a.withStatus(status);
        markEnded(e, now);
        livePorts.remove(key(a.port(), a.protocol()), a.id());
        if (e.lease != null) {
            e.lease.close();
            e.lease = null;
        }
    }

    // --------------------------------------------------------------------------------- lookups

    public Optional<Allocation> find(String id) {
        Entry e = id == null ? null : byId.get(id);
        return e == null ? Optional.empty() : Optional.of(e.record);
    }

    private Entry entry(String id) {
        Entry e = id == null ? null : byId.get(id);
        if (e == null) {
            throw new NoSuchAllocationException(id);
        }
        return e;
    }

    /** Every record of the service, live or not, newest first. */
    public List<Allocation> byService(String serviceName) {
        Set<String> ids = byService.get(serviceName);
        if (ids == null) {
            return List.of();
        }
        return ids.stream().map(byId::get).filter(Objects::nonNull).map(e -> e.record)
                .sorted(Comparator.comparing(Allocation::allocatedAt).reversed()).toList();
    }

    /** The live record on this port and protocol. */
    public Optional<Allocation> byPort(int port, Protocol protocol) {
        String id = livePorts.get(key(port, protocol));
        Entry e = id == null ? null : byId.get(id);
        return e == null ? Optional.empty() : Optional.of(e.record);
    }

    /** The live records on this port, TCP first. */
    public List<Allocation> byPort(int port) {
        List<Allocation> out = new ArrayList<>(2);
        for (Protocol p : Protocol.values()) {
            byPort(port, p).ifPresent(out::add);
        }
        return out;
    }

    /** Every record of a service type. */
    public List<Allocation> byType(String serviceType) {
        return byId.values().stream().map(e -> e.record).filter(a -> a.serviceType().equals(serviceType))
                .sorted(Comparator.comparingInt(Allocation::port)).toList();
    }

    /**
     * Every live record (RESERVED or ACTIVE), in no particular order. For the periodic scans that skip
     * ended records (reconciliation, range use, the dashboard's samples): {@link #directory()} sorts
     * every record kept, and under churn most are released records kept for the retention (one per
     * allocate+release), which made each of those scans sort tens of thousands of records.
     */
    public List<Allocation> live() {
        List<Allocation> out = new ArrayList<>();
        for (Entry e : byId.values()) {
            Allocation a = e.record;
            if (a.status().isLive()) {
                out.add(a);
            }
        }
        return out;
    }

    /** Every record, live and recently ended, by port. */
    public List<Allocation> directory() {
        return byId.values().stream().map(e -> e.record).sorted(Comparator.comparingInt(Allocation::port).thenComparing(Allocation::id)).toList();
    }

    /** Counts by status and per type. */
    public Stats stats() {
        int reserved = 0;
        int active = 0;
        int expired = 0;
        int released = 0;
        Map<String, Integer> perType = new TreeMap<>();
        for (Entry e : byId.values()) {
            Allocation a = e.record;
            switch (a.status()) {
                case RESERVED: reserved++; break;
                case ACTIVE: active++; break;
                case EXPIRED: expired++; break;
                default: released++;
            }
            if (a.status().isLive()) {
                perType.merge(a.serviceType(), 1, Integer::sum);
            }
        }
        return new Stats(byId.size(), active, reserved, expired, released, perType);
    }

    /** The directory with port → service and type → services maps and the stats. */
    public Overview overview() {
        List<Allocation> all = directory();
        Map<Integer, String> ports = new TreeMap<>();
        Map<String, List<String>> types = new TreeMap<>();
        for (Allocation a : all) {
            if (a.status().isLive()) {
                ports.put(a.port(), a.serviceName());
                types.computeIfAbsent(a.serviceType(), t -> new ArrayList<>()).add(a.serviceName());
            }
        }
        return new Overview(all, ports, types, stats());
    }

    /** Each catalog type's range and how much of it live records use. */
    public List<RangeUsage> ranges() {
        // each live record counts once per distinct range, however many types share that range
        List<PortRange> distinct = catalog.types().stream().map(ServiceType::range).distinct().toList();
        Map<PortRange, Integer> used = new HashMap<>();
        for (Entry e : byId.values()) {
            Allocation a = e.record;
            if (a.status().isLive()) {
                for (PortRange r : distinct) {
                    if (r.contains(a.port())) {
                        used.merge(r, 1, Integer::sum);
                    }
                }
            }
        }
        return catalog.types().stream().map(t -> new RangeUsage(t.name(), t.range().toString(), t.range().size(),
                used.getOrDefault(t.range(), 0), t.hasDefaultPort() ? t.defaultPort() : null)).toList();
    }

    public ServiceCatalog catalog() {
        return catalog;
    }

    /** Counters since this registry opened; ports-health binds them to Micrometer. */
    public RegistryStatistics statistics() {
        return statistics;
    }

    public RegistryStore store() {
        return store;
    }

    private String describe(String id) {
        return find(id).map(a -> a.serviceName() + ", " + a.status()).orElse("unknown");
    }

    // --------------------------------------------------------------------------------- export / import

    /** The export document; its layout is documented in {@code docs/REGISTRY.md}. */
    public record Export(@JsonProperty("format") String format, @JsonProperty("version") int version,
                         @JsonProperty("exported_at") Instant exportedAt, @JsonProperty("host") String host,
                         @JsonProperty("allocations") List<Allocation> allocations) {
    }

    /** The whole registry as JSON (stable, documented, pretty-printed). */
    public String exportJson() {
        try {
            return Json.MAPPER.writerWithDefaultPrettyPrinter().writeValueAsString(
                    new Export("ports-registry", 1, clock.instant(), localHost, directory()));
        } catch (IOException e) {
            throw new RegistryStoreException("exporting the registry failed: " + e, e);
        }
    }

    /**
     * Adds every record of an export. All or nothing: malformed JSON, an unknown format, a duplicate
     * id, or a live record whose port another live record (or another process) holds, is an error that
     * names the record, and nothing changes.
     *
     * @return how many records were imported
     */
    public int importJson(String json) {
        ensureOpen();
        Export doc;
        try {
            JsonNode node = Json.MAPPER.readTree(json);
            if (node == null || !"ports-registry".equals(node.path("format").asText()) || node.path("version").asInt() != 1) {
                throw new IllegalArgumentException("not a ports registry export: expected {\"format\":\"ports-registry\",\"version\":1,...}");
            }
            doc = Json.MAPPER.treeToValue(node, Export.class);
        } catch (com.fasterxml.jackson.core.JacksonException e) {
            throw new IllegalArgumentException("the registry import is not valid JSON of the export format: " + e.getOriginalMessage(), e);
        }
        List<Allocation> records = doc.allocations() == null ? List.of() : doc.allocations();
        Set<String> ids = new HashSet<>();
        Set<Integer> ports = new HashSet<>();
        for (Allocation a : records) {
            if (!ids.add(a.id()) || byId.containsKey(a.id())) {
                throw new IllegalArgumentException("the import has allocation id " + a.id() + " twice, or the registry has it already; nothing was imported");
            }
            if (a.status().isLive() && tracksPort(a) && (!ports.add(key(a.port(), a.protocol())) || livePorts.containsKey(key(a.port(), a.protocol())))) {
                throw new PortConflictException(a.port(), "the import's live record " + a.id() + " (" + a.serviceName() + ") is on " + a.protocol()
                        + " port " + a.port() + ", which another live record holds; nothing was imported");
            }
        }
        Map<String, PortLease> leases = new LinkedHashMap<>();
        try {
            for (Allocation a : records) {
                if (a.status().isLive() && tracksPort(a)) {
                    leases.put(a.id(), allocator.adopt(a.port(), a.serviceName(), typeOrCustom(a.serviceType())));
                }
            }
            store.write(records.stream().map(RegistryStore.Change::put).toList());
        } catch (RuntimeException e) {
            leases.values().forEach(PortLease::close);
            throw e;
        }
        long now = ticker.getAsLong();
        for (Allocation a : records) {
            Entry e = new Entry(a, now, leases.get(a.id()));
            byId.put(a.id(), e);
            if (!a.status().isLive()) {
                markEnded(e, now);
            } else if (tracksPort(a)) {
                livePorts.put(key(a.port(), a.protocol()), a.id());
            }
            indexService(a.serviceName(), a.id());
        }
        log.info("imported {} records", records.size());
        return records.size();
    }

    // --------------------------------------------------------------------------------- lifecycle

    /**
     * Runs {@link #cleanup()} every {@code interval} on one of the shared event loops (it may block
     * briefly on a durable write). Close the returned handle to stop it.
     */
    public AutoCloseable scheduleCleanup(EventLoops loops, Duration interval) {
        var f = loops.next().scheduleWithFixedDelay(() -> {
            try {
                if (!closed) {
                    cleanup();
                }
            } catch (RuntimeException e) {
                log.warn("registry cleanup failed: {}", e.toString());
            }
        }, interval.toMillis(), interval.toMillis(), TimeUnit.MILLISECONDS);
        return () -> f.cancel(false);
    }

    private void ensureOpen() {
        if (closed) {
            throw new IllegalStateException("the registry is closed");
        }
    }

    /**
     * Closes the store and gives back the host-wide claims of live records (the records themselves stay
     * live in the store: a restarted registry claims their ports again).
     */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        for (Entry e : byId.values()) {
            synchronized (e) {
                if (e.lease != null) {
                    e.lease.close();
                    e.lease = null;
                }
            }
        }
        if (ownsAllocator) {
            allocator.close();
        }
        store.close();
    }

    /** Counts by status. */
    public record Stats(@JsonProperty("total") int total, @JsonProperty("active") int active, @JsonProperty("reserved") int reserved,
                        @JsonProperty("expired") int expired, @JsonProperty("released") int released,
                        @JsonProperty("per_type") Map<String, Integer> perType) {
    }

    /** Everything at a glance. */
    public record Overview(@JsonProperty("allocations") List<Allocation> allocations,
                           @JsonProperty("port_to_service") Map<Integer, String> portToService,
                           @JsonProperty("type_to_services") Map<String, List<String>> typeToServices,
                           @JsonProperty("stats") Stats stats) {
    }

    /** One type's range and its use by live records. */
    public record RangeUsage(@JsonProperty("service_type") String serviceType, @JsonProperty("range") String range,
                             @JsonProperty("size") int size, @JsonProperty("used") int used,
                             @JsonProperty("default_port") Integer defaultPort) {
        public double utilization() {
            return size == 0 ? 0 : (double) used / size;
        }
    }

    /** Configures a {@link Registry}. */
    public static final class Builder {
        private RegistryStore store;
        private PortAllocator allocator;
        private ServiceCatalog catalog = ServiceCatalog.defaults();
        private Path lockDirectory;
        private Duration defaultTimeout = Duration.ofSeconds(30);
        private final Map<String, Duration> typeTimeouts = new HashMap<>();
        private Duration retention = Duration.ofMinutes(10);
        private int maxEnded = DEFAULT_MAX_ENDED_RECORDS;
        private LongSupplier ticker = System::nanoTime;
        private Clock clock = Clock.systemUTC();
        private String host;

        private Builder() {
        }

        /** Where records live; default in memory. */
        public Builder store(RegistryStore store) {
            this.store = Objects.requireNonNull(store, "store");
            return this;
        }

        /** The allocator that claims ports; default one of this registry's own, host-wide, over the catalog. */
        public Builder allocator(PortAllocator allocator) {
            this.allocator = Objects.requireNonNull(allocator, "allocator");
            return this;
        }

        /** The catalog of the registry's own allocator (ignored when an allocator is given). */
        public Builder catalog(ServiceCatalog catalog) {
            this.catalog = Objects.requireNonNull(catalog, "catalog");
            return this;
        }

        /** Lock directory of the registry's own allocator. */
        public Builder lockDirectory(Path dir) {
            this.lockDirectory = Objects.requireNonNull(dir, "lock directory");
            return this;
        }

        public Builder defaultHeartbeatTimeout(Duration timeout) {
            this.defaultTimeout = positive(timeout, "default heartbeat timeout");
            return this;
        }

        public Builder heartbeatTimeout(String serviceType, Duration timeout) {
            typeTimeouts.put(Objects.requireNonNull(serviceType, "service type"), positive(timeout, "heartbeat timeout of " + serviceType));
            return this;
        }

        /** How long released and expired records stay visible; default 10 minutes. */
        public Builder retention(Duration retention) {
            Objects.requireNonNull(retention, "retention");
            if (retention.isNegative()) {
                throw new IllegalArgumentException("retention " + retention + " is negative");
            }
            this.retention = retention;
            return this;
        }

        /**
         * How many released and expired records are kept at most, whatever their age; default
         * {@value Registry#DEFAULT_MAX_ENDED_RECORDS}. Beyond it the oldest ended go first, in batches of
         * up to 64 carried by the write that ends the next record, so the bound can be exceeded by one
         * batch (a 32nd of it) between two of those writes. 0 keeps none: an ended record then goes at
         * the next end or cleanup.
         */
        public Builder maxEndedRecords(int max) {
            if (max < 0) {
                throw new IllegalArgumentException("maxEndedRecords " + max + " is negative: give 0 (keep none) or more");
            }
            this.maxEnded = max;
            return this;
        }

        /** Monotonic nanoseconds for expiry; default {@link System#nanoTime()}. */
        public Builder ticker(LongSupplier ticker) {
            this.ticker = Objects.requireNonNull(ticker, "ticker");
            return this;
        }

        /** Wall clock for timestamps; default UTC. */
        public Builder clock(Clock clock) {
            this.clock = Objects.requireNonNull(clock, "clock");
            return this;
        }

        /** This host's name in records; default the kernel's host name. */
        public Builder host(String host) {
            this.host = host;
            return this;
        }

        public Registry build() {
            return new Registry(this);
        }

        private static Duration positive(Duration d, String what) {
            Objects.requireNonNull(d, what);
            if (d.isNegative() || d.isZero()) {
                throw new IllegalArgumentException(what + " " + d + " must be positive");
            }
            return d;
        }
    }
}
