package io.ports.resolver;

import io.netty.util.NetUtil;
import io.netty.util.concurrent.EventExecutor;
import io.ports.core.EventLoops;
import io.ports.core.PortsException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.xbill.DNS.Name;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A caching DNS resolver on the node's shared event loops. It answers host lookups (A and AAAA),
 * {@code host:port} strings and SRV names, and keeps answers in a bounded TTL cache so that the
 * connections of a cluster, which all go through it, rarely wait for the network.
 *
 * <pre>{@code
 * PortsResolver resolver = PortsResolver.builder().eventLoops(loops).build();  // servers from /etc/resolv.conf
 * resolver.resolveSrv("_db._tcp.cluster.example")
 *         .thenAccept(peers -> peers.forEach(p -> connect(p.endpoint())));
 * }</pre>
 *
 * <h2>Lookups</h2>
 * <ul>
 * <li>Literal IPv4 and IPv6 addresses (IPv6 optionally in brackets), names in the hosts file (read
 * once, when built) and {@code localhost} resolve without a query and without the cache.</li>
 * <li>Other names must be letters, digits, '-' and '_' in labels of at most 63 characters, at most
 * 253 in all; anything else fails with {@link MalformedNameException} before a query.</li>
 * <li>Relative names go through the search list as resolv.conf(5) says ({@code ndots}); a name
 * ending in '.' is absolute. The search moves on after NXDOMAIN or NODATA and stops at a timeout
 * or server failure, which is reported as is.</li>
 * <li>A and AAAA are asked in parallel (unless the {@link FamilyPreference} wants one family) and
 * combined in the preference's order; one family failing does not fail a lookup the other
 * answered. CNAME chains are followed up to 16 links, loops fail with
 * {@link ServerFailureException}.</li>
 * <li>SRV targets are ordered per RFC 2782 on every call (priority, then a weighted random draw,
 * weight-0 targets with a small chance); targets of "." are never returned, and a set of only "."
 * fails with {@link NoDataException}. Each target's addresses are resolved through the cache;
 * targets that fail to resolve are left out, and if all fail, the first failure is the result.</li>
 * </ul>
 *
 * <h2>Transport</h2>
 * UDP with EDNS0 ({@link Builder#ednsPayloadSize(int)}) through a few long-lived sockets, each on a
 * kernel-chosen random port, picked at random per question and replaced by a socket on a new port
 * after a number of questions or an age ({@link Builder#udpSockets(int)},
 * {@link Builder#udpSocketRotation(int, Duration)}); each question has a random id that no other
 * question in flight on its socket has. A truncated answer is asked again over TCP. Each of
 * {@code attempts} rounds tries every server with the per-attempt timeout, failing over to the next
 * server on a timeout or an error code; the server that answered last is tried first next time.
 * Answers from a server not asked, or with another id or question, are dropped.
 *
 * <h2>The cache</h2>
 * <ul>
 * <li>A positive answer lives for its TTL (the smallest of its records and CNAMEs), clamped to
 * [{@code minTtl}, {@code maxTtl}]; an answer with TTL 0 is never cached.</li>
 * <li>NXDOMAIN and NODATA live for min(SOA TTL, SOA MINIMUM) (RFC 2308), at most
 * {@code negativeTtlMax}; without an SOA they are not cached. Timeouts and server failures are
 * never cached.</li>
 * <li>Single flight: concurrent misses of one name send one query; all callers get its result.</li>
 * <li>Refresh-ahead: a hit in the last {@code refreshAhead} fraction of an entry's lifetime starts one
 * background refresh, so a name in use never expires in front of its callers.</li>
 * <li>Serve-stale (RFC 8767): for {@code stalePeriod} after expiry, an expired positive answer is
 * served when a refresh fails or takes longer than {@code staleAnswerTimeout}, and after such a
 * failure it is served without asking again for {@code staleRetryInterval}. The first stale answer
 * is logged once, as is the recovery.</li>
 * <li>At most {@code maxEntries} entries: past that, expired entries go first, then entries not hit
 * recently (CLOCK).</li>
 * <li>A cache hit returns a stage completed in advance, shared by all callers of that entry, without
 * a lock, an allocation or the event loop. Stages of a miss complete on an event loop thread:
 * do not block in their continuations, or use the {@code *Async} variants.</li>
 * </ul>
 * Keys are the strings as given: {@code "db1"}, {@code "DB1"} and {@code "db1.example."} are
 * separate entries.
 *
 * <p>The resolver borrows its event loops and never closes them; close the resolver first.
 * {@link #close()} fails the questions in flight and empties the cache.
 */
public final class PortsResolver implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(PortsResolver.class);

    private final EventLoops loops;
    private final Ticker ticker;
    private final FamilyPreference family;
    private final List<InetSocketAddress> servers;
    private final List<String> search;
    private final int ndots;
    private final Duration timeout;
    private final int attempts;
    private final Counters counters = new Counters();
    private final DnsTransport transport;
    private final ResolverCache cache;
    private final Map<String, CompletionStage<List<InetAddress>>> hosts;
    private final ResolverCache.Fetcher<List<InetAddress>> hostFetcher;
    private final ResolverCache.Fetcher<List<SrvOrder.Srv>> srvFetcher;
    private final AtomicBoolean closed = new AtomicBoolean();

    private PortsResolver(Builder b, List<InetSocketAddress> servers, List<String> search, int ndots, Duration timeout,
                          int attempts) {
        this.loops = b.eventLoops;
        this.ticker = b.ticker;
        this.family = b.family;
        this.servers = List.copyOf(servers);
        this.search = List.copyOf(search);
        this.ndots = ndots;
        this.timeout = timeout;
        this.attempts = attempts;
        this.transport = new DnsTransport(loops, servers, timeout, attempts, b.ednsPayloadSize, b.udpSockets,
                b.udpSocketMaxQueries, b.udpSocketMaxAge, counters);
        List<Name> searchNames = new ArrayList<>();
        for (String s : search) {
            searchNames.add(Names.absolute(s));
        }
        Lookups lookups = new Lookups(transport, searchNames, ndots, family);
        this.hostFetcher = lookups::host;
        this.srvFetcher = lookups::srv;
        this.cache = new ResolverCache(b, counters);
        this.hosts = hostStages(HostsFile.read(b.hostsFile), family);
        log.debug("{} built: hosts file {} with {} names", this, b.hostsFile, hosts.size());
    }

    /** A builder; {@link Builder#eventLoops(EventLoops)} is required. */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * The addresses of {@code host} in the {@link FamilyPreference} order, never empty. Fails with
     * a {@link DnsException} subclass (or a {@link PortsException} once closed); never throws.
     * A cache hit returns the same completed stage to every caller while the entry is fresh.
     */
    @SuppressWarnings("unchecked")
    public CompletionStage<List<InetAddress>> resolve(String host) {
        if (host != null) {
            ResolverCache.Entry<?> e = cache.map.get(host);
            if (e != null) {
                ResolverCache.Answer<?> a = e.answer;
                if (a != null && ticker.read() < a.refreshAt) {
                    cache.hit(e, a);
                    return (CompletionStage<List<InetAddress>>) a.stage;
                }
            }
        }
        return resolveSlow(host);
    }

    private CompletionStage<List<InetAddress>> resolveSlow(String host) {
        if (host == null) {
            return CompletableFuture.failedStage(new NullPointerException("host"));
        }
        CompletionStage<List<InetAddress>> local = local(host);
        if (local != null) {
            return local;
        }
        String problem = Names.problem(host);
        if (problem != null) {
            return CompletableFuture.failedStage(new MalformedNameException(host, family.typeLabel(), problem));
        }
        if (closed.get()) {
            return CompletableFuture.failedStage(new PortsException("the resolver is closed: cannot resolve '" + host + "'"));
        }
        return cache.lookup(host, hostFetcher);
    }

    /** Literal addresses, the hosts file and localhost (RFC 6761), or null. */
    private CompletionStage<List<InetAddress>> local(String host) {
        InetAddress literal = Names.literal(host);
        if (literal != null) {
            return CompletableFuture.completedStage(List.of(literal));
        }
        if (host.isEmpty()) {
            return null;
        }
        String key = Names.hostsKey(host);
        CompletionStage<List<InetAddress>> fromFile = hosts.get(key);
        if (fromFile != null) {
            return fromFile;
        }
        if (key.equals("localhost") || key.endsWith(".localhost")) {
            try {
                String shown = Names.display(host);
                List<InetAddress> v4 = List.of(InetAddress.getByAddress(shown, new byte[] {127, 0, 0, 1}));
                List<InetAddress> v6 = List.of(InetAddress.getByAddress(shown, NetUtil.LOCALHOST6.getAddress()));
                return CompletableFuture.completedStage(Lookups.order(family.wantsV4() ? v4 : List.of(),
                        family.wantsV6() ? v6 : List.of(), family));
            } catch (UnknownHostException impossible) {
                throw new IllegalStateException(impossible);
            }
        }
        return null;
    }

    /**
     * Resolves {@code "host:port"} ({@code "[v6 literal]:port"} for IPv6 literals) into an
     * {@link Endpoint}. A missing or out-of-range port fails with {@link MalformedNameException}.
     */
    public CompletionStage<Endpoint> resolveAddress(String hostAndPort) {
        if (hostAndPort == null) {
            return CompletableFuture.failedStage(new NullPointerException("hostAndPort"));
        }
        String host;
        String portText;
        String type = family.typeLabel();
        if (hostAndPort.startsWith("[")) {
            int close = hostAndPort.indexOf(']');
            if (close < 0 || close + 1 >= hostAndPort.length() || hostAndPort.charAt(close + 1) != ':') {
                return CompletableFuture.failedStage(new MalformedNameException(hostAndPort, type,
                        "expected [IPv6 address]:port, for example [::1]:5432"));
            }
            host = hostAndPort.substring(1, close);
            portText = hostAndPort.substring(close + 2);
            if (Names.literal(host) == null) {
                return CompletableFuture.failedStage(new MalformedNameException(hostAndPort, type,
                        "'" + host + "' in brackets is not an IPv6 address"));
            }
        } else {
            int colon = hostAndPort.lastIndexOf(':');
            if (colon < 0) {
                return CompletableFuture.failedStage(new MalformedNameException(hostAndPort, type,
                        "no port: expected host:port, for example db1.cluster.example:5432"));
            }
            if (hostAndPort.indexOf(':') != colon) {
                return CompletableFuture.failedStage(new MalformedNameException(hostAndPort, type,
                        "an IPv6 address with a port needs brackets, for example [::1]:5432"));
            }
            host = hostAndPort.substring(0, colon);
            portText = hostAndPort.substring(colon + 1);
        }
        int port = parsePort(portText);
        if (port < 1) {
            return CompletableFuture.failedStage(new MalformedNameException(hostAndPort, type,
                    "port '" + portText + "' is not a number in 1-65535"));
        }
        if (Names.literal(host) == null) {
            String problem = Names.problem(host);
            if (problem != null) {
                return CompletableFuture.failedStage(new MalformedNameException(hostAndPort, type, "host '" + host + "': " + problem));
            }
        }
        String shown = Names.display(host);
        return resolve(host).thenApply(addresses -> new Endpoint(shown, port, addresses));
    }

    private static int parsePort(String text) {
        if (text.isEmpty() || text.length() > 5) {
            return -1;
        }
        int port = 0;
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (c < '0' || c > '9') {
                return -1;
            }
            port = port * 10 + (c - '0');
        }
        return port <= 65535 ? port : -1;
    }

    /**
     * The targets of the SRV set {@code name} (for example {@code _db._tcp.cluster.example}) with
     * their addresses, in RFC 2782 order drawn afresh on every call; never empty. The SRV set and
     * each target's addresses are cached separately.
     */
    public CompletionStage<List<SrvEndpoint>> resolveSrv(String name) {
        if (name == null) {
            return CompletableFuture.failedStage(new NullPointerException("name"));
        }
        String problem = Names.problem(name);
        if (problem != null) {
            return CompletableFuture.failedStage(new MalformedNameException(name, "SRV", problem));
        }
        if (closed.get()) {
            return CompletableFuture.failedStage(new PortsException("the resolver is closed: cannot resolve SRV '" + name + "'"));
        }
        return cache.lookup(new Lookups.SrvKey(name), srvFetcher).thenCompose(records -> endpoints(name, records));
    }

    private CompletionStage<List<SrvEndpoint>> endpoints(String name, List<SrvOrder.Srv> records) {
        List<SrvOrder.Srv> ordered = SrvOrder.order(records, ThreadLocalRandom.current());
        if (ordered.isEmpty()) {
            return CompletableFuture.failedStage(new NoDataException(name, "SRV", "no usable target among "
                    + records.size() + " records: a target of \".\" means the service is decidedly not available"
                    + " at this name (RFC 2782)"));
        }
        int n = ordered.size();
        Object[] results = new Object[n];
        AtomicInteger remaining = new AtomicInteger(n);
        CompletableFuture<List<SrvEndpoint>> out = new CompletableFuture<>();
        for (int i = 0; i < n; i++) {
            int index = i;
            resolve(ordered.get(i).target()).whenComplete((addresses, failure) -> {
                results[index] = failure == null ? addresses : failure;
                if (remaining.decrementAndGet() == 0) {
                    finishEndpoints(ordered, results, out);
                }
            });
        }
        return out;
    }

    @SuppressWarnings("unchecked")
    private static void finishEndpoints(List<SrvOrder.Srv> ordered, Object[] results, CompletableFuture<List<SrvEndpoint>> out) {
        List<SrvEndpoint> endpoints = new ArrayList<>(ordered.size());
        Throwable firstFailure = null;
        for (int i = 0; i < ordered.size(); i++) {
            SrvOrder.Srv s = ordered.get(i);
            if (results[i] instanceof List<?> list) {
                endpoints.add(new SrvEndpoint(s.priority(), s.weight(), Names.display(s.target()), s.port(),
                        (List<InetAddress>) list));
            } else if (firstFailure == null) {
                Throwable t = (Throwable) results[i];
                firstFailure = t.getCause() != null && t instanceof java.util.concurrent.CompletionException ? t.getCause() : t;
            } else {
                log.debug("SRV target {} left out: {}", s.target(), results[i]);
            }
        }
        if (endpoints.isEmpty()) {
            out.completeExceptionally(firstFailure);
        } else {
            if (firstFailure != null) {
                log.debug("SRV target left out: {}", firstFailure.toString());
            }
            out.complete(List.copyOf(endpoints));
        }
    }

    /**
     * {@link #resolve(String)} for start-up code: waits and returns the addresses, or throws the
     * {@link DnsException} (or {@link PortsException}). Waits at most about timeout x attempts x
     * servers per search candidate. Must not be called on an event loop thread when the answer is
     * not cached (it would wait for itself): that throws {@link IllegalStateException}.
     */
    public List<InetAddress> resolveBlocking(String host) {
        return await(resolve(host), host);
    }

    /** {@link #resolveSrv(String)} for start-up code; as {@link #resolveBlocking(String)}. */
    public List<SrvEndpoint> resolveSrvBlocking(String name) {
        return await(resolveSrv(name), name);
    }

    private <T> T await(CompletionStage<T> stage, String what) {
        CompletableFuture<T> f = stage.toCompletableFuture();
        if (!f.isDone() && onEventLoop()) {
            throw new IllegalStateException("blocking resolution of '" + what + "' on event loop thread "
                    + Thread.currentThread().getName() + " would wait for itself: use resolve(...) and its stage there");
        }
        try {
            return f.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new PortsException("interrupted while resolving '" + what + "'", e);
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            if (cause instanceof RuntimeException re) {
                throw re;
            }
            if (cause instanceof Error err) {
                throw err;
            }
            throw new PortsException("resolving '" + what + "' failed: " + cause, cause);
        }
    }

    /** The counters so far, as plain numbers. */
    public ResolverStatistics statistics() {
        return counters.snapshot(cache.size());
    }

    /** For tests in this package. */
    ResolverCache cache() {
        return cache;
    }

    /** For tests in this package. */
    UdpSocketPool udpSockets() {
        return transport.pool;
    }

    /** The servers asked, in configured order. */
    public List<InetSocketAddress> servers() {
        return servers;
    }

    /** The search list. */
    public List<String> search() {
        return search;
    }

    public int ndots() {
        return ndots;
    }

    /** The timeout of one attempt on one server. */
    public Duration timeout() {
        return timeout;
    }

    /** Rounds over the servers per question. */
    public int attempts() {
        return attempts;
    }

    /**
     * Fails the questions in flight with a {@link PortsException}, closes the UDP sockets, empties
     * the cache and refuses new lookups. Called outside the event loops, it returns when the sockets
     * are closed (waiting at most 5 s); on an event loop thread it does not wait. Idempotent. Does
     * not touch the borrowed event loops.
     */
    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        CompletableFuture<Void> sockets = transport.close();
        cache.close();
        if (!onEventLoop()) {
            try {
                sockets.get(5, java.util.concurrent.TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } catch (ExecutionException | java.util.concurrent.TimeoutException e) {
                log.warn("{}: its UDP sockets were not all closed within 5 s ({}); they close with the event loops", this,
                        e.toString());
            }
        }
        log.debug("{} closed", this);
    }

    private boolean onEventLoop() {
        for (EventExecutor executor : loops.group()) {
            if (executor.inEventLoop()) {
                return true;
            }
        }
        return false;
    }

    @Override
    public String toString() {
        return "PortsResolver[servers=" + Names.format(servers) + ", search=" + search + ", ndots=" + ndots + ", timeout="
                + timeout.toMillis() + "ms, attempts=" + attempts + ", " + family + (closed.get() ? ", closed]" : "]");
    }

    private static Map<String, CompletionStage<List<InetAddress>>> hostStages(HostsFile file, FamilyPreference family) {
        Map<String, CompletionStage<List<InetAddress>>> out = new HashMap<>();
        file.entries().forEach((name, addresses) -> {
            List<InetAddress> v4 = new ArrayList<>();
            List<InetAddress> v6 = new ArrayList<>();
            for (InetAddress a : addresses) {
                (a instanceof java.net.Inet4Address ? v4 : v6).add(a);
            }
            List<InetAddress> ordered = Lookups.order(family.wantsV4() ? v4 : List.of(), family.wantsV6() ? v6 : List.of(), family);
            if (!ordered.isEmpty()) { // nothing of the wanted family: ask DNS, as the C library does
                out.put(name, CompletableFuture.completedStage(ordered));
            }
        });
        return Map.copyOf(out);
    }

    /**
     * Configures a {@link PortsResolver}. Values not set come from resolv.conf ({@link #resolvConf(Path)},
     * default {@code /etc/resolv.conf}): servers, search list, ndots, timeout, attempts; then from the
     * defaults named on each method. Each setter checks its argument at once.
     */
    public static final class Builder {
        private static final Duration MAX_DURATION = Duration.ofDays(3650);

        EventLoops eventLoops;
        private List<InetSocketAddress> servers;
        private Path resolvConf = Path.of("/etc/resolv.conf");
        Path hostsFile = Path.of("/etc/hosts");
        private List<String> search;
        private int ndots = -1;
        private Duration timeout;
        private int attempts = -1;
        int ednsPayloadSize = 1232;
        int udpSockets = 4;
        int udpSocketMaxQueries = 1_000;
        Duration udpSocketMaxAge = Duration.ofSeconds(10);
        Duration minTtl = Duration.ZERO;
        Duration maxTtl = Duration.ofDays(1);
        Duration negativeTtlMax = Duration.ofSeconds(60);
        int maxEntries = 10_000;
        Duration stalePeriod = Duration.ofDays(1);
        Duration staleAnswerTimeout = Duration.ofMillis(1800);
        Duration staleRetryInterval = Duration.ofSeconds(30);
        double refreshAhead = 0.1;
        FamilyPreference family = FamilyPreference.IPV4_FIRST;
        Ticker ticker = Ticker.systemTicker();

        private Builder() {
        }

        /**
         * The node's event loops, borrowed for sockets and timers and never closed. Required.
         *
         * @return {@code this}
         */
        public Builder eventLoops(EventLoops loops) {
            this.eventLoops = Objects.requireNonNull(loops, "eventLoops");
            return this;
        }

        /**
         * The servers to ask, in order, as IP addresses with ports (a DNS server needs no lookup).
         * Default: the {@code nameserver} lines of resolv.conf, else {@code 127.0.0.1:53}.
         *
         * @return {@code this}
         */
        public Builder servers(List<InetSocketAddress> servers) {
            Objects.requireNonNull(servers, "servers");
            if (servers.isEmpty()) {
                throw new IllegalArgumentException("servers is empty (expected: at least one DNS server address)");
            }
            for (InetSocketAddress s : servers) {
                Objects.requireNonNull(s, "server");
                if (s.isUnresolved() || s.getPort() == 0) {
                    throw new IllegalArgumentException("DNS server " + s
                            + " must be an IP address with a port in 1-65535, for example 127.0.0.1:53");
                }
            }
            this.servers = List.copyOf(servers);
            return this;
        }

        /**
         * As {@link #servers(List)}.
         *
         * @return {@code this}
         */
        public Builder servers(InetSocketAddress... servers) {
            return servers(List.of(servers));
        }

        /**
         * The resolv.conf to read defaults from; null reads none. Default {@code /etc/resolv.conf}.
         *
         * @return {@code this}
         */
        public Builder resolvConf(Path file) {
            this.resolvConf = file;
            return this;
        }

        /**
         * The hosts file, read once at {@link #build()}; null reads none. Default {@code /etc/hosts}.
         *
         * @return {@code this}
         */
        public Builder hostsFile(Path file) {
            this.hostsFile = file;
            return this;
        }

        /**
         * The search list for relative names. Default: resolv.conf's {@code search} or {@code domain}, else none.
         *
         * @return {@code this}
         */
        public Builder search(List<String> domains) {
            Objects.requireNonNull(domains, "search");
            for (String d : domains) {
                String problem = Names.problem(Objects.requireNonNull(d, "search domain"));
                if (problem != null) {
                    throw new IllegalArgumentException("search domain '" + d + "' is malformed: " + problem);
                }
            }
            this.search = List.copyOf(domains);
            return this;
        }

        /**
         * Names with at least this many dots are tried as is before the search list. 0-15; default
         * resolv.conf's {@code ndots}, else 1.
         *
         * @return {@code this}
         */
        public Builder ndots(int ndots) {
            if (ndots < 0 || ndots > 15) {
                throw new IllegalArgumentException("ndots : " + ndots + " (expected: 0-15)");
            }
            this.ndots = ndots;
            return this;
        }

        /**
         * Timeout of one attempt on one server. 1 ms to 60 s; default resolv.conf's
         * {@code timeout}, else 2 s.
         *
         * @return {@code this}
         */
        public Builder timeout(Duration timeout) {
            Objects.requireNonNull(timeout, "timeout");
            if (timeout.toMillis() < 1 || timeout.compareTo(Duration.ofSeconds(60)) > 0) {
                throw new IllegalArgumentException("timeout : " + timeout + " (expected: 1 ms to 60 s)");
            }
            this.timeout = timeout;
            return this;
        }

        /**
         * Rounds over all servers per question. 1-10; default resolv.conf's {@code attempts}, else 2.
         *
         * @return {@code this}
         */
        public Builder attempts(int attempts) {
            if (attempts < 1 || attempts > 10) {
                throw new IllegalArgumentException("attempts : " + attempts + " (expected: 1-10)");
            }
            this.attempts = attempts;
            return this;
        }

        /**
         * The EDNS0 UDP payload size offered; 0 sends no OPT record (answers over 512 bytes then
         * come truncated and are asked again over TCP). 0 or 512-65535; default 1232 (DNS flag day
         * 2020).
         *
         * @return {@code this}
         */
        public Builder ednsPayloadSize(int size) {
            if (size != 0 && (size < 512 || size > 65535)) {
                throw new IllegalArgumentException("EDNS payload size : " + size + " (expected: 0 or 512-65535)");
            }
            this.ednsPayloadSize = size;
            return this;
        }

        /**
         * How many UDP sockets the questions share, each on its own kernel-chosen random port; each
         * question takes one at random. 1-64; default 4. More sockets spread the questions over more
         * ports (a forger must guess the port as well as the id, RFC 5452); fewer cost fewer file
         * descriptors. Sockets are opened when needed and closed when idle (see
         * {@link #udpSocketRotation(int, Duration)}).
         *
         * @return {@code this}
         */
        public Builder udpSockets(int sockets) {
            if (sockets < 1 || sockets > 64) {
                throw new IllegalArgumentException("udpSockets : " + sockets + " (expected: 1-64)");
            }
            this.udpSockets = sockets;
            return this;
        }

        /**
         * When a UDP socket is replaced by one on a new random port: after it has taken
         * {@code maxQueries} questions (1-65535; 1 gives every question a socket of its own, opened
         * ahead of it) or when it is {@code maxAge} old (1 ms to 1 day), whichever comes first. A
         * replaced socket still takes the answers to its questions in flight and closes after the
         * last one. Default 1,000 questions or 10 s: a port serves few questions and for a short
         * time, so a forger who learns it (by having it ask a server of theirs) has little to aim at.
         * A lower count costs latency: a socket's successor is built ahead of need off the event
         * loop, but its registration and bind still run on the loop (about 13 us, more while that
         * rarely run code is not yet compiled), and a question that comes to the loop meanwhile waits;
         * with 100 questions per socket, and the successor then built on the loop (0.1-0.5 ms), that
         * was 1-4 % of the misses of a busy resolver, enough to move the 99th percentile from 0.1 to
         * 0.3-0.5 ms.
         *
         * @return {@code this}
         */
        public Builder udpSocketRotation(int maxQueries, Duration maxAge) {
            if (maxQueries < 1 || maxQueries > 65535) {
                throw new IllegalArgumentException("udpSocketRotation maxQueries : " + maxQueries + " (expected: 1-65535)");
            }
            Objects.requireNonNull(maxAge, "maxAge");
            if (maxAge.toMillis() < 1 || maxAge.compareTo(Duration.ofDays(1)) > 0) {
                throw new IllegalArgumentException("udpSocketRotation maxAge : " + maxAge + " (expected: 1 ms to 1 day)");
            }
            this.udpSocketMaxQueries = maxQueries;
            this.udpSocketMaxAge = maxAge;
            return this;
        }

        /**
         * Positive answers live at least this long (TTL 0 is still never cached). Default 0.
         *
         * @return {@code this}
         */
        public Builder minTtl(Duration ttl) {
            this.minTtl = duration("minTtl", ttl);
            return this;
        }

        /**
         * Positive answers live at most this long; 0 disables the positive cache. Default 1 day.
         *
         * @return {@code this}
         */
        public Builder maxTtl(Duration ttl) {
            this.maxTtl = duration("maxTtl", ttl);
            return this;
        }

        /**
         * NXDOMAIN and NODATA live at most this long (their TTL comes from the SOA); 0 disables
         * negative caching. Default 60 s, so a node that registers late is found within a minute.
         *
         * @return {@code this}
         */
        public Builder negativeTtlMax(Duration ttl) {
            this.negativeTtlMax = duration("negativeTtlMax", ttl);
            return this;
        }

        /**
         * Upper bound of cached entries (hosts and SRV sets together). 1-10,000,000; default 10,000.
         *
         * @return {@code this}
         */
        public Builder maxEntries(int max) {
            if (max < 1 || max > 10_000_000) {
                throw new IllegalArgumentException("maxEntries : " + max + " (expected: 1-10000000)");
            }
            this.maxEntries = max;
            return this;
        }

        /**
         * How long after expiry a positive answer may still be served when the servers fail
         * (RFC 8767); 0 disables serve-stale. Default 1 day (RFC 8767 suggests 1-3 days).
         *
         * @return {@code this}
         */
        public Builder stalePeriod(Duration period) {
            this.stalePeriod = duration("stalePeriod", period);
            return this;
        }

        /**
         * RFC 8767's client response timer: callers of an expired entry wait this long for the
         * refresh before they get the stale answer; 0 waits for the refresh's own result. Default 1.8 s.
         *
         * @return {@code this}
         */
        public Builder staleAnswerTimeout(Duration timeout) {
            this.staleAnswerTimeout = duration("staleAnswerTimeout", timeout);
            return this;
        }

        /**
         * RFC 8767's failure recheck timer: after a failed refresh, the stale answer is served
         * without asking again for this long. Default 30 s.
         *
         * @return {@code this}
         */
        public Builder staleRetryInterval(Duration interval) {
            this.staleRetryInterval = duration("staleRetryInterval", interval);
            return this;
        }

        /**
         * A hit in the last {@code fraction} of an entry's lifetime refreshes it in the background.
         * 0 (off) to 0.5; default 0.1 (unbound's prefetch).
         *
         * @return {@code this}
         */
        public Builder refreshAhead(double fraction) {
            if (!(fraction >= 0 && fraction <= 0.5)) {
                throw new IllegalArgumentException("refreshAhead : " + fraction + " (expected: 0 to 0.5)");
            }
            this.refreshAhead = fraction;
            return this;
        }

        /**
         * Which families to ask for and their order. Default {@link FamilyPreference#IPV4_FIRST}.
         *
         * @return {@code this}
         */
        public Builder familyPreference(FamilyPreference family) {
            this.family = Objects.requireNonNull(family, "familyPreference");
            return this;
        }

        /**
         * The cache's clock. Default {@link Ticker#systemTicker()}.
         *
         * @return {@code this}
         */
        public Builder ticker(Ticker ticker) {
            this.ticker = Objects.requireNonNull(ticker, "ticker");
            return this;
        }

        private static Duration duration(String what, Duration d) {
            Objects.requireNonNull(d, what);
            if (d.isNegative() || d.compareTo(MAX_DURATION) > 0) {
                throw new IllegalArgumentException(what + " : " + d + " (expected: 0 to 3650 days)");
            }
            return d;
        }

        /**
         * Builds the resolver, reading resolv.conf and the hosts file now.
         *
         * @throws IllegalStateException without event loops, or with minTtl above maxTtl
         */
        public PortsResolver build() {
            if (eventLoops == null) {
                throw new IllegalStateException("eventLoops should be specified to build a PortsResolver: pass the node's EventLoops");
            }
            if (minTtl.compareTo(maxTtl) > 0) {
                throw new IllegalStateException("minTtl " + minTtl + " exceeds maxTtl " + maxTtl + ": lower minTtl or raise maxTtl");
            }
            ResolvConf conf = ResolvConf.read(resolvConf);
            List<InetSocketAddress> s = servers != null ? servers
                    : !conf.servers().isEmpty() ? conf.servers()
                    : List.of(new InetSocketAddress(NetUtil.LOCALHOST4, 53));
            List<String> sl = search;
            if (sl == null) {
                sl = new ArrayList<>();
                for (String d : conf.search() == null ? List.<String>of() : conf.search()) {
                    if (Names.problem(d) == null) {
                        sl.add(d);
                    } else {
                        log.warn("ignoring search domain '{}' of {}: {}", d, resolvConf, Names.problem(d));
                    }
                }
            }
            int nd = ndots >= 0 ? ndots : conf.ndots() >= 0 ? conf.ndots() : 1;
            Duration t = timeout != null ? timeout : conf.timeout() != null ? conf.timeout() : Duration.ofSeconds(2);
            int a = attempts > 0 ? attempts : conf.attempts() > 0 ? conf.attempts() : 2;
            return new PortsResolver(this, s, sl, nd, t, a);
        }
    }
}
