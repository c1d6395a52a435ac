package io.ports.etcd;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.datatype.jsr310.JavaTimeModule;
import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.ClientBuilder;
import io.etcd.jetcd.KV;
import io.etcd.jetcd.KeyValue;
import io.etcd.jetcd.Watch;
import io.etcd.jetcd.common.exception.ErrorCode;
import io.etcd.jetcd.common.exception.EtcdException;
import io.etcd.jetcd.kv.GetResponse;
import io.etcd.jetcd.kv.TxnResponse;
import io.etcd.jetcd.op.Cmp;
import io.etcd.jetcd.op.CmpTarget;
import io.etcd.jetcd.op.Op;
import io.etcd.jetcd.options.DeleteOption;
import io.etcd.jetcd.options.GetOption;
import io.etcd.jetcd.options.PutOption;
import io.etcd.jetcd.options.WatchOption;
import io.etcd.jetcd.watch.WatchEvent;
import io.etcd.jetcd.watch.WatchResponse;
import io.ports.core.registry.Allocation;
import io.ports.core.registry.PortConflictException;
import io.ports.core.registry.RegistryStore;
import io.ports.core.registry.RegistryStoreException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The registry store on etcd, for registries (daemons) on one or several hosts that share one
 * directory. Key layout (see {@code docs/REGISTRY.md}), under the configured prefix {@code P}:
 * <ul>
 *   <li>{@code P/records/<allocation id>}: the record as JSON, {@code {"writer":..,"allocation":{..}}};</li>
 *   <li>{@code P/claims/<host>/<protocol>/<port>}: the allocation id holding that host's port, present
 *       only while the record is live.</li>
 * </ul>
 *
 * <h2>Allocation</h2>
 * A new live record is written by one transaction that creates its claim key only if absent
 * ({@code create_revision == 0}), together with the record; when another registry holds that host's
 * port, the transaction fails and {@link #write} throws {@link PortConflictException} naming the holder
 * (the registry then tries another port). So two registries, even on different hosts, never hand out one
 * host's port twice. An acknowledged write is committed by the etcd cluster (a majority of members).
 *
 * <h2>Heartbeats and expiry</h2>
 * Each live record and its claim are attached to an etcd lease whose TTL is the record's heartbeat
 * timeout (whole seconds, rounded up; etcd raises TTLs below its minimum, 1.5 election timeouts).
 * {@link #heartbeat} is one lease keep-alive; a record whose holder stops heart-beating is deleted by
 * etcd when its lease runs out, and every registry hears of it by its watch ({@link #expiresRecords()}).
 * Ending a record (release, expiry) writes it without a lease and revokes its lease, which deletes the
 * claim. Note that etcd restarts a lease's countdown when the leader changes: expiry can come late,
 * never early.
 *
 * <h2>The shared view</h2>
 * The store keeps every record of the prefix in memory, loaded at open and kept current by one watch
 * from the loaded revision on: changes other registries make reach the {@link #subscribe listener}
 * without polling (changes this store made itself are recognised by the writer id and not reported).
 *
 * <h2>When etcd cannot be reached</h2>
 * A health probe (a linearizable read, every 500 ms) notices; the store is then stale
 * ({@link #staleSince()}): reads of the registry are served from the last known view, and writes and
 * heartbeats fail at once with a {@link RegistryStoreException} naming the endpoints, the time since
 * when and the last error. The probe retries with exponential backoff (up to 2 s); when etcd answers
 * again the store reads the whole prefix, reports every difference to the listener, and is current.
 */
public final class EtcdRegistryStore implements RegistryStore {
    private static final Logger log = LoggerFactory.getLogger(EtcdRegistryStore.class);

    /** etcd's default limit of operations in one transaction (--max-txn-ops). */
    static final int MAX_TXN_OPS = 128;
    private static final Duration HEALTH_INTERVAL = Duration.ofMillis(500);
    private static final Duration MAX_BACKOFF = Duration.ofSeconds(2);

    static final ObjectMapper JSON = new ObjectMapper()
            .registerModule(new JavaTimeModule())
            .disable(SerializationFeature.WRITE_DATES_AS_TIMESTAMPS)
            .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);

    /** The value of a record key. */
    record Stored(@JsonProperty("writer") String writer, @JsonProperty("allocation") Allocation allocation) {
    }

    /** What the store knows of one record: the record, its lease (0 when ended) and the revision it was last written at. */
    private record Known(Allocation record, long lease, long revision) {
    }

    private final EtcdStoreConfig config;
    private final Client client;
    private final KV kv;
    private final String writerId = UUID.randomUUID().toString();
    private final String recordsPrefix;
    private final String claimsPrefix;
    private final Map<String, Known> view = new ConcurrentHashMap<>();
    private final ScheduledExecutorService health;
    private final ScheduledExecutorService notifier;
    private final Clock clock = Clock.systemUTC();
    private final AtomicLong syncedRevision = new AtomicLong();
    private final AtomicLong conflicts = new AtomicLong();
    private final AtomicLong watchGeneration = new AtomicLong();
    private final List<Change> pending = new ArrayList<>();
    private volatile Listener listener;
    private boolean subscribed;
    private volatile Watch.Watcher watcher;
    private volatile Instant staleSince;
    private volatile String lastError;
    private volatile int failedProbes;
    private volatile boolean closed;

    private EtcdRegistryStore(EtcdStoreConfig config, Client client) {
        this.config = config;
        this.client = client;
        this.kv = client.getKVClient();
        this.recordsPrefix = config.prefix() + "records/";
        this.claimsPrefix = config.prefix() + "claims/";
        this.health = Executors.newSingleThreadScheduledExecutor(r -> daemon(r, "ports-etcd-health"));
        this.notifier = Executors.newSingleThreadScheduledExecutor(r -> daemon(r, "ports-etcd-watch"));
    }

    private static Thread daemon(Runnable r, String name) {
        Thread t = new Thread(r, name);
        t.setDaemon(true);
        return t;
    }

    /** Opens the store of an {@code etcd://} URI (see {@link EtcdStoreConfig#parse}). */
    public static EtcdRegistryStore open(String uri) {
        return open(EtcdStoreConfig.parse(uri));
    }

    /**
     * Connects, reads every record under the prefix, and starts the health probe.
     *
     * @throws RegistryStoreException when etcd does not answer within the connect timeout (naming the
     *                                endpoints and the cause), or holds a record that is not valid
     */
    public static EtcdRegistryStore open(EtcdStoreConfig config) {
        Client client = client(config);
        EtcdRegistryStore store = new EtcdRegistryStore(config, client);
        try {
            store.sync(config.connectTimeout(), false);
        } catch (RuntimeException e) {
            store.close();
            throw e;
        }
        store.scheduleProbe(HEALTH_INTERVAL);
        log.info("etcd registry store open: {} ({} records, revision {})", store.describe(), store.view.size(), store.syncedRevision.get());
        return store;
    }

    private static Client client(EtcdStoreConfig config) {
        ClientBuilder b = Client.builder().endpoints(config.endpoints().toArray(new java.net.URI[0]))
                .connectTimeout(config.connectTimeout())
                .retryMaxDuration(config.requestTimeout())
                .retryChronoUnit(java.time.temporal.ChronoUnit.MILLIS)
                .retryDelay(50)
                .retryMaxDelay(250)
                .retryMaxAttempts(6) // UNAVAILABLE from a member that just died: the next attempt goes to another
                .keepaliveTime(Duration.ofSeconds(10))
                .keepaliveTimeout(config.requestTimeout())
                .waitForReady(true); // a call waits for a connection, bounded by the request timeout
        if (config.user() != null) {
            b.user(ByteSequence.from(config.user(), StandardCharsets.UTF_8)).password(ByteSequence.from(config.password(), StandardCharsets.UTF_8));
        }
        if (config.tls()) {
            try {
                b.sslContext(ssl -> {
                    if (config.trustedCa() != null) {
                        ssl.trustManager(config.trustedCa().toFile());
                    }
                    if (config.clientCert() != null) {
                        ssl.keyManager(config.clientCert().toFile(), config.clientKey().toFile());
                    }
                });
            } catch (javax.net.ssl.SSLException | RuntimeException e) {
                throw new RegistryStoreException("the TLS settings of etcd " + config.endpointList() + " are not usable: " + e.getMessage()
                        + " (ca " + config.trustedCa() + ", cert " + config.clientCert() + ", key " + config.clientKey() + ")", e);
            }
            if (config.authority() != null) {
                b.authority(config.authority());
            }
        }
        return b.build();
    }

    // --------------------------------------------------------------------------------- keys and values

    private static ByteSequence bytes(String s) {
        return ByteSequence.from(s, StandardCharsets.UTF_8);
    }

    private ByteSequence recordKey(String id) {
        return bytes(recordsPrefix + id);
    }

    private ByteSequence claimKey(Allocation a) {
        return bytes(claimsPrefix + a.host() + "/" + a.protocol() + "/" + a.port());
    }

    private ByteSequence value(Allocation a) {
        try {
            return ByteSequence.from(JSON.writeValueAsBytes(new Stored(writerId, a)));
        } catch (IOException e) {
            throw new RegistryStoreException("allocation " + a.id() + " cannot be written as JSON: " + e, e);
        }
    }

    private Stored parse(KeyValue kvp) {
        String key = kvp.getKey().toString(StandardCharsets.UTF_8);
        try {
            Stored s = JSON.readValue(kvp.getValue().getBytes(), Stored.class);
            if (s.allocation() == null || !key.equals(recordsPrefix + s.allocation().id())) {
                throw new IOException("the key does not match the record's allocation_id");
            }
            return s;
        } catch (IOException | IllegalArgumentException e) {
            throw new RegistryStoreException("etcd " + config.endpointList() + " holds a record at " + key + " that is not a ports record: "
                    + e.getMessage() + ". Delete or fix that key (etcdctl get/put) before opening the store");
        }
    }

    private static long ttlSeconds(Allocation a) {
        return Math.max(1, (a.heartbeatTimeoutMillis() + 999) / 1000);
    }

    // --------------------------------------------------------------------------------- the SPI

    @Override
    public Collection<Allocation> load() {
        synchronized (pending) {
            pending.clear(); // what the caller reads now includes them
        }
        return view.values().stream().map(Known::record).toList();
    }

    @Override
    public boolean shared() {
        return true;
    }

    @Override
    public boolean expiresRecords() {
        return true;
    }

    @Override
    public synchronized void subscribe(Listener l) {
        if (subscribed) {
            throw new IllegalStateException("the etcd store " + describe() + " has a listener already: one registry per store");
        }
        subscribed = true;
        // on the one notification thread, where every report is made: first the changes a catch-up read found
        // between load() and now (reported to no one yet), then everything else in order
        notify(() -> {
            List<Change> missed;
            synchronized (pending) {
                missed = List.copyOf(pending);
                pending.clear();
            }
            missed.forEach(l::changed);
            listener = l;
        });
        startWatch(syncedRevision.get() + 1);
    }

    @Override
    public Optional<Instant> staleSince() {
        return Optional.ofNullable(staleSince);
    }

    /** How many new records lost their transaction to another registry's claim of the same port. */
    public long conflicts() {
        return conflicts.get();
    }

    /** The configuration this store was opened with. */
    public EtcdStoreConfig config() {
        return config;
    }

    @Override
    public String describe() {
        return "etcd " + config.endpointList() + " prefix " + config.prefix();
    }

    private void failFast(String what) {
        if (closed) {
            throw new IllegalStateException("the etcd store " + describe() + " is closed");
        }
        Instant since = staleSince;
        if (since != null) {
            throw new RegistryStoreException("etcd " + config.endpointList() + " cannot be reached since " + since + " (" + lastError + "): "
                    + what + " was not made. Writes fail until etcd answers again; reads serve the view as of then");
        }
    }

    @Override
    public void write(List<Change> changes) {
        if (changes.isEmpty()) {
            return;
        }
        failFast("the write of " + describe(changes));
        // split into transactions within etcd's operation limit; each live put takes two operations
        List<List<Change>> batches = new ArrayList<>();
        List<Change> current = new ArrayList<>();
        int ops = 0;
        for (Change c : changes) {
            int n = c.isRemove() ? 1 : 2;
            if (ops + n > MAX_TXN_OPS) {
                batches.add(current);
                current = new ArrayList<>();
                ops = 0;
            }
            current.add(c);
            ops += n;
        }
        batches.add(current);
        List<Long> committedLeases = new ArrayList<>();
        for (List<Change> batch : batches) {
            try {
                committedLeases.addAll(writeBatch(batch));
            } catch (RuntimeException e) {
                // all or nothing: new records of earlier transactions go again (revoking a lease deletes its keys)
                committedLeases.forEach(this::revokeQuietly);
                throw e;
            }
        }
    }

    /** One transaction; returns the leases of the new live records it made. */
    private List<Long> writeBatch(List<Change> batch) {
        List<Cmp> cmps = new ArrayList<>();
        List<Op> then = new ArrayList<>();
        List<Op> otherwise = new ArrayList<>();
        Map<String, Long> newLeases = new HashMap<>();
        List<Long> endedLeases = new ArrayList<>();
        List<Allocation> creates = new ArrayList<>();
        try {
            // grant the leases of new live records first, concurrently
            Map<String, CompletableFuture<io.etcd.jetcd.lease.LeaseGrantResponse>> grants = new HashMap<>();
            for (Change c : batch) {
                if (!c.isRemove() && c.put().status().isLive()) {
                    Known k = view.get(c.put().id());
                    if (k == null || !k.record().status().isLive() || k.lease() == 0) {
                        grants.put(c.put().id(), client.getLeaseClient().grant(ttlSeconds(c.put())));
                    }
                }
            }
            for (var g : grants.entrySet()) {
                newLeases.put(g.getKey(), await(g.getValue(), "granting the etcd lease of allocation " + g.getKey()).getID());
            }
            for (Change c : batch) {
                if (c.isRemove()) {
                    then.add(Op.delete(recordKey(c.removedId()), DeleteOption.DEFAULT));
                    continue;
                }
                Allocation a = c.put();
                Known k = view.get(a.id());
                if (a.status().isLive()) {
                    Long fresh = newLeases.get(a.id());
                    if (fresh != null) {
                        // a new live record: its claim must not exist
                        cmps.add(new Cmp(claimKey(a), Cmp.Op.EQUAL, CmpTarget.createRevision(0)));
                        PutOption withLease = PutOption.builder().withLeaseId(fresh).build();
                        then.add(Op.put(claimKey(a), bytes(a.id()), withLease));
                        then.add(Op.put(recordKey(a.id()), value(a), withLease));
                        creates.add(a);
                    } else {
                        // a live record changing (RESERVED to ACTIVE): it must still hold its claim
                        cmps.add(new Cmp(claimKey(a), Cmp.Op.EQUAL, CmpTarget.value(bytes(a.id()))));
                        then.add(Op.put(recordKey(a.id()), value(a), PutOption.builder().withLeaseId(k.lease()).build()));
                    }
                    otherwise.add(Op.get(claimKey(a), GetOption.DEFAULT));
                } else {
                    // ended: kept without a lease (purged by the registries' retention); its lease goes, and with it the claim
                    then.add(Op.put(recordKey(a.id()), value(a), PutOption.DEFAULT));
                    if (k != null && k.lease() != 0) {
                        endedLeases.add(k.lease());
                    }
                }
            }
        } catch (RuntimeException e) {
            newLeases.values().forEach(this::revokeQuietly);
            throw e;
        }
        TxnResponse r;
        try {
            r = await(kv.txn().If(cmps.toArray(new Cmp[0])).Then(then.toArray(new Op[0])).Else(otherwise.toArray(new Op[0])).commit(),
                    "the write of " + describe(batch));
        } catch (RuntimeException e) {
            // maybe applied after all (a timeout is ambiguous): the lease goes, and with it anything it made;
            // what etcd holds now is read back, so that the view and the registry learn an update that was applied
            newLeases.values().forEach(this::revokeQuietly);
            notify(this::recheck);
            if (e instanceof RegistryStoreException) {
                throw new RegistryStoreException(e.getMessage() + ", and may have been applied all the same (the store reads etcd back and"
                        + " reports what it holds)", e.getCause() != null ? e.getCause() : e);
            }
            throw e;
        }
        if (!r.isSucceeded()) {
            RuntimeException why = refused(batch, r);
            if (why != null) {
                newLeases.values().forEach(this::revokeQuietly);
                throw why;
            }
            // every claim compared is this write's own: a retried attempt whose first try was applied
        }
        long rev = r.getHeader().getRevision();
        for (Change c : batch) {
            if (c.isRemove()) {
                view.computeIfPresent(c.removedId(), (id, k) -> k.revision() <= rev ? null : k);
            } else {
                Allocation a = c.put();
                long lease = a.status().isLive() ? newLeases.getOrDefault(a.id(), view.containsKey(a.id()) ? view.get(a.id()).lease() : 0L) : 0L;
                view.merge(a.id(), new Known(a, lease, rev), (old, neu) -> old.revision() > rev ? old : neu);
            }
        }
        endedLeases.forEach(this::revokeQuietly);
        return new ArrayList<>(newLeases.values());
    }

    /** Why a transaction's comparison failed: the first claim that is not ours; null when every one is (an earlier attempt applied it). */
    private RuntimeException refused(List<Change> batch, TxnResponse r) {
        List<GetResponse> gets = r.getGetResponses();
        int i = 0;
        for (Change c : batch) {
            if (c.isRemove() || !c.put().status().isLive()) {
                continue;
            }
            Allocation a = c.put();
            GetResponse g = i < gets.size() ? gets.get(i) : null;
            i++;
            String holder = g == null || g.getKvs().isEmpty() ? null : g.getKvs().get(0).getValue().toString(StandardCharsets.UTF_8);
            if (holder != null && holder.equals(a.id())) {
                continue;
            }
            Known k = view.get(a.id());
            boolean creating = k == null || !k.record().status().isLive() || k.lease() == 0;
            String where = a.protocol() + " port " + a.port() + " of host " + a.host();
            if (creating) {
                conflicts.incrementAndGet();
                Known h = holder == null ? null : view.get(holder);
                return new PortConflictException(a.port(), where + " is held in etcd by the live record " + holder
                        + (h != null ? " (" + h.record().serviceName() + ", " + h.record().status() + ")" : "") + "; service '" + a.serviceName()
                        + "' cannot have it (allocation " + a.id() + " was not written)");
            }
            return new RegistryStoreException("allocation " + a.id() + " (" + a.serviceName() + ") no longer holds " + where + " in etcd "
                    + config.endpointList() + (holder == null ? ": its lease ran out" : ": the live record " + holder + " holds it now")
                    + "; the change was not written. Allocate again");
        }
        return null;
    }

    @Override
    public boolean heartbeat(Allocation a) {
        failFast("the heartbeat of allocation " + a.id() + " (" + a.serviceName() + " on port " + a.port() + ")");
        Known k = view.get(a.id());
        if (k == null || k.lease() == 0 || !k.record().status().isLive()) {
            return false;
        }
        try {
            return await(client.getLeaseClient().keepAliveOnce(k.lease()), "the heartbeat of allocation " + a.id()).getTTL() > 0;
        } catch (RegistryStoreException e) {
            if (leaseNotFound(e.getCause())) {
                return false;
            }
            throw e;
        }
    }

    private static boolean leaseNotFound(Throwable t) {
        for (Throwable c = t; c != null; c = c.getCause()) {
            if (c instanceof EtcdException ee && ee.getErrorCode() == ErrorCode.NOT_FOUND
                    || c.getMessage() != null && c.getMessage().contains("requested lease not found")) {
                return true;
            }
        }
        return false;
    }

    private void revokeQuietly(long lease) {
        try {
            client.getLeaseClient().revoke(lease).exceptionally(e -> {
                log.debug("revoking etcd lease {} failed: {} (it runs out by itself)", lease, e.toString());
                return null;
            });
        } catch (RuntimeException e) {
            log.debug("revoking etcd lease {} failed: {}", lease, e.toString());
        }
    }

    /** Waits one request out; a failure that is not etcd's answer marks the store stale. */
    private <T> T await(CompletableFuture<T> f, String what) {
        try {
            return f.get(config.requestTimeout().toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            f.cancel(true);
            Thread.currentThread().interrupt();
            throw new RegistryStoreException(what + " to etcd " + config.endpointList() + " was interrupted; it was not acknowledged", e);
        } catch (TimeoutException e) {
            f.cancel(true);
            markStale("no answer within " + config.requestTimeout().toMillis() + " ms");
            throw new RegistryStoreException(what + " to etcd " + config.endpointList() + " got no answer within "
                    + config.requestTimeout().toMillis() + " ms; it was not acknowledged", e);
        } catch (ExecutionException e) {
            Throwable cause = e.getCause() != null ? e.getCause() : e;
            // not stale by itself: one member going away fails a call or two; the health probe judges
            throw new RegistryStoreException(what + " to etcd " + config.endpointList() + " failed: " + cause.getMessage()
                    + "; it was not acknowledged", cause);
        }
    }

    private static String describe(List<Change> changes) {
        if (changes.size() == 1) {
            Change c = changes.get(0);
            return c.isRemove() ? "the removal of allocation " + c.removedId()
                    : "allocation " + c.put().id() + " (" + c.put().serviceName() + " on " + c.put().protocol() + " port " + c.put().port() + ", "
                    + c.put().status() + ")";
        }
        return changes.size() + " changes";
    }

    // --------------------------------------------------------------------------------- the view: sync, watch, health

    /**
     * Reads every record of the prefix and brings the view to it; with {@code report}, tells the listener
     * of every difference (a record added or changed by another writer, or gone).
     */
    private void sync(Duration timeout, boolean report) {
        GetResponse g;
        try {
            g = kv.get(bytes(recordsPrefix), GetOption.builder().isPrefix(true).build()).get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new RegistryStoreException("reading the records of " + describe() + " was interrupted", e);
        } catch (TimeoutException | ExecutionException e) {
            Throwable cause = e instanceof ExecutionException && e.getCause() != null ? e.getCause() : e;
            String why = e instanceof TimeoutException ? "no answer within " + timeout.toMillis() + " ms" : cause.toString();
            throw new RegistryStoreException("etcd " + config.endpointList() + " cannot be read (" + why + "): is it running and reachable, and are"
                    + " the user, password and TLS settings right?", cause);
        }
        long rev = g.getHeader().getRevision();
        Set<String> present = new HashSet<>();
        List<Change> changes = new ArrayList<>();
        for (KeyValue kvp : g.getKvs()) {
            Stored s = parse(kvp);
            Allocation a = s.allocation();
            present.add(a.id());
            Known old = view.get(a.id());
            if (old == null || old.revision() < kvp.getModRevision()) {
                view.put(a.id(), new Known(a, kvp.getLease(), kvp.getModRevision()));
                if (old != null && old.lease() != 0 && !a.status().isLive()) {
                    revokeQuietly(old.lease()); // ended by a write whose answer was lost: its claim goes now, not at the lease's end
                }
                if (!a.equals(old == null ? null : old.record())) {
                    changes.add(Change.put(a));
                }
            }
        }
        for (Known k : List.copyOf(view.values())) {
            if (!present.contains(k.record().id()) && k.revision() < rev && view.remove(k.record().id(), k)) {
                changes.add(Change.remove(k.record().id()));
            }
        }
        syncedRevision.accumulateAndGet(rev, Math::max);
        if (report && !changes.isEmpty()) {
            log.info("etcd {}: {} records changed while the watch was away", describe(), changes.size());
            changes.forEach(this::report);
        }
    }

    private void report(Change c) {
        Listener l = listener;
        if (l == null) {
            synchronized (pending) {
                pending.add(c);
            }
            return;
        }
        try {
            l.changed(c);
        } catch (RuntimeException e) {
            log.warn("the registry failed to apply {} from {}: {}", c.id(), describe(), e.toString());
        }
    }

    private void startWatch(long fromRevision) {
        if (closed) {
            return;
        }
        long generation = watchGeneration.incrementAndGet();
        WatchOption opt = WatchOption.builder().isPrefix(true).withRevision(fromRevision).build();
        Watch.Watcher old = watcher;
        watcher = client.getWatchClient().watch(bytes(recordsPrefix), opt, Watch.listener(
                r -> notify(() -> {
                    if (generation == watchGeneration.get()) {
                        onWatch(r);
                    }
                }),
                e -> notify(() -> onWatchError(generation, e)),
                () -> notify(() -> onWatchError(generation, new IllegalStateException("the watch ended")))));
        if (old != null) {
            old.close();
        }
    }

    private void notify(Runnable task) {
        if (closed) {
            return;
        }
        try {
            notifier.execute(task);
        } catch (java.util.concurrent.RejectedExecutionException closing) {
            // closed meanwhile
        }
    }

    private void onWatch(WatchResponse r) {
        for (WatchEvent ev : r.getEvents()) {
            KeyValue kvp = ev.getKeyValue();
            String key = kvp.getKey().toString(StandardCharsets.UTF_8);
            if (!key.startsWith(recordsPrefix)) {
                continue;
            }
            String id = key.substring(recordsPrefix.length());
            long rev = kvp.getModRevision();
            syncedRevision.accumulateAndGet(rev, Math::max);
            if (ev.getEventType() == WatchEvent.EventType.PUT) {
                Stored s;
                try {
                    s = parse(kvp);
                } catch (RegistryStoreException bad) {
                    log.warn("{}", bad.getMessage());
                    continue;
                }
                Known old = view.get(id);
                if (writerId.equals(s.writer()) && old != null) {
                    continue; // this store's own write: in the view already (one whose answer was lost is not, and is reported)
                }
                if (old != null && old.revision() >= rev) {
                    continue;
                }
                view.put(id, new Known(s.allocation(), kvp.getLease(), rev));
                report(Change.put(s.allocation()));
            } else if (ev.getEventType() == WatchEvent.EventType.DELETE) {
                Known old = view.get(id);
                if (old != null && old.revision() < rev && view.remove(id, old)) {
                    report(Change.remove(id));
                }
            }
        }
    }

    private void onWatchError(long generation, Throwable e) {
        if (closed || generation != watchGeneration.get()) {
            return; // an earlier watch, replaced already
        }
        watchGeneration.incrementAndGet(); // its later callbacks are stale too
        log.warn("the watch of {} failed: {}; reading everything again and watching anew", describe(), e.toString());
        Watch.Watcher w = watcher;
        if (w != null) {
            w.close();
        }
        try {
            notifier.schedule(this::resync, 200, TimeUnit.MILLISECONDS);
        } catch (java.util.concurrent.RejectedExecutionException closing) {
            // closed meanwhile
        }
    }

    /**
     * After a write whose answer was lost: reads every record again and reports what differs (an update
     * that was applied after all is this store's own write, which the watch does not report). If etcd
     * cannot be read now the store is stale, and the health probe reads everything when it answers again.
     */
    private void recheck() {
        if (closed) {
            return;
        }
        try {
            sync(config.requestTimeout(), true);
        } catch (RuntimeException e) {
            markStale(e.getMessage());
        }
    }

    private void resync() {
        if (closed) {
            return;
        }
        try {
            sync(config.requestTimeout(), true);
            startWatch(syncedRevision.get() + 1);
        } catch (RuntimeException e) {
            markStale(e.getMessage());
            if (!closed) {
                notifier.schedule(this::resync, MAX_BACKOFF.toMillis(), TimeUnit.MILLISECONDS);
            }
        }
    }

    private void markStale(String why) {
        lastError = why;
        if (staleSince == null && !closed) {
            staleSince = clock.instant();
            log.warn("etcd {} cannot be reached ({}): the registry view is stale, writes fail until it answers", config.endpointList(), why);
        }
    }

    private void scheduleProbe(Duration delay) {
        try {
            if (!closed) {
                health.schedule(this::probe, delay.toMillis(), TimeUnit.MILLISECONDS);
            }
        } catch (java.util.concurrent.RejectedExecutionException closing) {
            // closed meanwhile
        }
    }

    /** One linearizable read: etcd has a leader and this client reaches a member that knows it. */
    private void probe() {
        if (closed) {
            return;
        }
        try {
            kv.get(bytes(config.prefix() + "health"), GetOption.builder().withCountOnly(true).build())
                    .get(config.requestTimeout().toMillis(), TimeUnit.MILLISECONDS);
            failedProbes = 0;
            Instant since = staleSince;
            if (since != null) {
                // back: catch up on everything missed before declaring the view current
                CompletableFuture<Void> caughtUp = new CompletableFuture<>();
                notify(() -> {
                    try {
                        sync(config.requestTimeout(), true);
                        caughtUp.complete(null);
                    } catch (RuntimeException e) {
                        caughtUp.completeExceptionally(e);
                    }
                });
                caughtUp.get(config.requestTimeout().toMillis() * 2, TimeUnit.MILLISECONDS);
                staleSince = null;
                log.info("etcd {} answers again (stale since {}): the registry view is current", config.endpointList(), since);
            }
            scheduleProbe(HEALTH_INTERVAL);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (ExecutionException | TimeoutException | RuntimeException e) {
            Throwable cause = e instanceof ExecutionException && e.getCause() != null ? e.getCause() : e;
            int n = ++failedProbes;
            if (e instanceof TimeoutException) {
                markStale("no answer within " + config.requestTimeout().toMillis() + " ms");
            } else if (n >= 2) {
                markStale(cause.toString());
            } else {
                lastError = cause.toString();
                scheduleProbe(Duration.ofMillis(100)); // one quick second opinion before calling etcd unreachable
                return;
            }
            long backoff = Math.min(MAX_BACKOFF.toMillis(), HEALTH_INTERVAL.toMillis() << Math.min(n - 1, 4));
            scheduleProbe(Duration.ofMillis(backoff));
        }
    }

    /**
     * Stops the probe and the watch and closes the client. Live records stay in etcd with their leases:
     * they expire unless a registry heart-beats them again in time.
     */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        Watch.Watcher w = watcher;
        if (w != null) {
            w.close();
        }
        health.shutdownNow();
        notifier.shutdownNow();
        client.close();
    }

    @Override
    public String toString() {
        return "EtcdRegistryStore[" + describe() + "]";
    }
}
