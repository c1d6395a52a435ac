package io.ports.nat;

import io.netty.channel.EventLoop;
import io.netty.util.concurrent.EventExecutor;
import io.ports.core.EventLoops;
import io.ports.core.PortLease;
import io.ports.core.Protocol;
import io.ports.nat.internal.NatUtil;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.NetworkInterface;
import java.net.SocketException;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumMap;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.DoubleSupplier;

/**
 * Opens a node's ports on its NAT gateway and keeps them open. It finds the default gateway (Linux's
 * {@code /proc/net/route}, or one given explicitly), probes PCP, NAT-PMP and UPnP IGD side by side
 * within a bounded time, and maps each {@link PortLease} through the first protocol that works,
 * renewing every mapping until it is closed and deleting them all on {@link #close()}.
 *
 * <pre>{@code
 * try (NatTraversal nat = NatTraversal.builder(loops).build();
 *      PortMapping m = nat.map(lease).toCompletableFuture().get(10, SECONDS)) {
 *     log.info("{} reachable at {} via {}", lease.service(), m.external(Protocol.TCP), m.protocol().displayName());
 * }
 * }</pre>
 *
 * <p><b>Probing.</b> Each protocol gets at most the probe time (default 2 s): PCP an ANNOUNCE, NAT-PMP
 * an external-address request, UPnP an SSDP search (unicast to the gateway, and multicast on the
 * gateway's interface), a description fetch and GetExternalIPAddress. The probe ends when every
 * protocol has answered, when the time is up, or 250 ms after the first success: what answered by
 * then is ranked PCP, NAT-PMP, UPnP. A gateway that speaks none of them, or no gateway at all, gives a
 * {@link NoPortMapperException} saying what each probe found, within that time. The result is kept
 * for 10 minutes; a failed mapping makes the next call probe again.
 *
 * <p><b>Threads.</b> Network I/O runs on the borrowed {@link EventLoops}; mapping state changes on one
 * of its loops. UPnP's HTTP is blocking (weupnp's model), so it runs on a small executor: by default
 * one this object creates and shuts down on close (at most 2 daemon threads named
 * {@code ports-nat-upnp-N}, idle ones stop after 30 s), not {@code ForkJoinPool.commonPool()}, whose
 * single thread on a 2-core host would stall every other user of the common pool for the seconds an
 * unreachable router takes to time out. Pass your own with {@link Builder#blockingExecutor}.
 */
public final class NatTraversal implements AutoCloseable {
    static final Logger log = LoggerFactory.getLogger(NatTraversal.class);
    private static final SecureRandom NONCES = new SecureRandom();

    private final EventLoops loops;
    private final EventLoop loop;
    private final Ticker ticker;
    private final Scheduler scheduler;
    private final InetAddress configuredGateway;
    private final Path routeFile;
    private final Set<MappingProtocol> protocols;
    private final Duration probeTimeout;
    private final Duration probeGrace;
    private final Duration probeCacheTime;
    private final Duration lifetime;
    private final Duration closeTimeout;
    private final Duration httpTimeout;
    private final GatewayUdp.Schedule udpSchedule;
    private final int pmpPort;
    private final int ssdpPort;
    private final boolean ssdpMulticast;
    private final List<NetworkInterface> upnpInterfaces;
    private final Executor blocking;
    private final ExecutorService ownedExecutor;
    private final MappingListener listener;
    private final DoubleSupplier random;

    private final Set<PortMapping> mappings = ConcurrentHashMap.newKeySet();
    private final AtomicBoolean closed = new AtomicBoolean();
    private GatewayState gateway;
    private CompletableFuture<ProbeReport> probe;
    private long probedAt;

    /** The gateway in use and one client per protocol for it. */
    private static final class GatewayState {
        final InetAddress address;
        final String source;
        final Map<MappingProtocol, PortMapper> mappers = new EnumMap<>(MappingProtocol.class);
        final Map<MappingProtocol, String> unusable = new EnumMap<>(MappingProtocol.class);

        GatewayState(InetAddress address, String source) {
            this.address = address;
            this.source = source;
        }
    }

    private NatTraversal(Builder b) {
        this.loops = b.loops;
        this.loop = b.loops.next();
        this.ticker = b.ticker;
        this.scheduler = b.scheduler != null ? b.scheduler : Scheduler.of(loop);
        this.configuredGateway = b.gateway;
        this.routeFile = b.routeFile;
        this.protocols = Collections.unmodifiableSet(EnumSet.copyOf(b.protocols));
        this.probeTimeout = b.probeTimeout;
        this.probeGrace = b.probeGrace;
        this.probeCacheTime = b.probeCacheTime;
        this.lifetime = b.lifetime;
        this.closeTimeout = b.closeTimeout;
        this.httpTimeout = b.httpTimeout;
        this.udpSchedule = new GatewayUdp.Schedule(b.retransmitInitial, b.retransmitSends, total(b.retransmitInitial, b.retransmitSends));
        this.pmpPort = b.pmpPort;
        this.ssdpPort = b.ssdpPort;
        this.ssdpMulticast = b.ssdpMulticast;
        this.upnpInterfaces = b.upnpInterfaces;
        this.listener = b.listener;
        this.random = b.random;
        if (b.blocking != null) {
            this.blocking = b.blocking;
            this.ownedExecutor = null;
        } else {
            AtomicInteger n = new AtomicInteger();
            ThreadPoolExecutor ex = new ThreadPoolExecutor(2, 2, 30, TimeUnit.SECONDS, new LinkedBlockingQueue<>(), r -> {
                Thread t = new Thread(r, "ports-nat-upnp-" + n.incrementAndGet());
                t.setDaemon(true);
                return t;
            });
            ex.allowCoreThreadTimeOut(true);
            this.blocking = ex;
            this.ownedExecutor = ex;
        }
    }

    private static Duration total(Duration initial, int sends) {
        return Duration.ofNanos(initial.toNanos() * ((1L << Math.min(30, sends)) - 1));
    }

    /** A builder borrowing {@code loops}, which must outlive the traversal. */
    public static Builder builder(EventLoops loops) {
        return new Builder(loops);
    }

    // ------------------------------------------------------------------ gateway and probe

    private synchronized GatewayState gatewayState() {
        InetAddress address;
        String source;
        if (configuredGateway != null) {
            address = configuredGateway;
            source = "configured";
        } else {
            Optional<RouteTable.DefaultRoute> route;
            try {
                route = RouteTable.defaultRoute(routeFile);
            } catch (IOException e) {
                throw new NoPortMapperException("no default gateway: cannot read " + routeFile + " (" + NatUtil.describe(e)
                        + "; not Linux?); pass the gateway with NatTraversal.builder(loops).gateway(address)", null, Map.of());
            }
            if (route.isEmpty()) {
                throw new NoPortMapperException("no default gateway: " + routeFile + " has no default route (destination 0.0.0.0/0"
                        + " through a gateway), so there is no NAT gateway to ask; if the host reaches the internet another way, pass"
                        + " the gateway with NatTraversal.builder(loops).gateway(address), or fall back to STUN", null, Map.of());
            }
            address = route.get().gateway();
            source = routeFile + " (interface " + route.get().interfaceName() + ")";
        }
        if (gateway != null && gateway.address.equals(address)) {
            return gateway;
        }
        if (gateway != null) {
            log.info("default gateway changed from {} to {}", NatUtil.format(gateway.address), NatUtil.format(address));
        }
        GatewayState gs = new GatewayState(address, source);
        InetSocketAddress pmp = new InetSocketAddress(address, pmpPort);
        gs.mappers.put(MappingProtocol.PCP, new PcpMapper(loops, pmp, udpSchedule, ticker));
        if (address instanceof Inet4Address) {
            gs.mappers.put(MappingProtocol.NAT_PMP, new NatPmpMapper(loops, pmp, udpSchedule, ticker));
            gs.mappers.put(MappingProtocol.UPNP, new UpnpMapper(loops, blocking, address, ssdpPort, multicastInterfaces(address),
                    httpTimeout, probeTimeout));
        } else {
            gs.unusable.put(MappingProtocol.NAT_PMP, "NAT-PMP is IPv4 only and the gateway is IPv6");
            gs.unusable.put(MappingProtocol.UPNP, "UPnP discovery here is IPv4 only and the gateway is IPv6");
        }
        for (PortMapper m : gs.mappers.values()) {
            m.onStateLost(() -> stateLost(m));
        }
        gateway = gs;
        return gs;
    }

    private List<NetworkInterface> multicastInterfaces(InetAddress gw) {
        if (!ssdpMulticast) {
            return List.of();
        }
        if (upnpInterfaces != null) {
            return upnpInterfaces;
        }
        InetAddress source = NatUtil.sourceAddressFor(gw);
        try {
            NetworkInterface nif = source == null ? null : NetworkInterface.getByInetAddress(source);
            // not isUp(): it also wants IFF_RUNNING, which the kernel sets up to a second after a link comes up
            if (nif == null || nif.isLoopback() || !nif.supportsMulticast()) {
                log.debug("no SSDP multicast towards {}: source address {}, interface {}", NatUtil.format(gw), NatUtil.format(source),
                        nif == null ? "none" : nif.getName() + (nif.isLoopback() ? " (loopback)" : " (no multicast)"));
                return List.of();
            }
            return List.of(nif);
        } catch (SocketException e) {
            log.debug("no SSDP multicast towards {}: {}", NatUtil.format(gw), e.toString());
            return List.of();
        }
    }

    /**
     * Probes the gateway (or returns the last probe's result while it is fresh): which of the enabled
     * protocols it speaks. Fails with {@link NoPortMapperException} when there is no gateway or it
     * speaks none of them, within the probe time.
     */
    public CompletionStage<ProbeReport> probe() {
        return probe(false);
    }

    private synchronized CompletableFuture<ProbeReport> probe(boolean force) {
        if (closed.get()) {
            return CompletableFuture.failedFuture(closedException());
        }
        if (!force && probe != null && (!probe.isDone()
                || !probe.isCompletedExceptionally() && ticker.read() - probedAt < probeCacheTime.toNanos())) {
            return probe;
        }
        probedAt = ticker.read();
        probe = runProbe();
        return probe;
    }

    private synchronized void forgetProbe() {
        if (probe != null && probe.isDone()) {
            probe = null;
        }
    }

    private CompletableFuture<ProbeReport> runProbe() {
        GatewayState gs;
        try {
            gs = gatewayState();
        } catch (NoPortMapperException e) {
            return CompletableFuture.failedFuture(e);
        }
        long started = System.nanoTime();
        CompletableFuture<ProbeReport> result = new CompletableFuture<>();
        Map<MappingProtocol, String> findings = new ConcurrentHashMap<>();
        Set<MappingProtocol> ok = ConcurrentHashMap.newKeySet();
        Set<MappingProtocol> probed = ConcurrentHashMap.newKeySet();
        AtomicInteger pending = new AtomicInteger(1);
        Runnable finish = () -> {
            if (result.isDone()) {
                return;
            }
            Duration elapsed = Duration.ofNanos(System.nanoTime() - started);
            Map<MappingProtocol, String> all = new EnumMap<>(MappingProtocol.class);
            for (MappingProtocol p : probed) {
                all.put(p, findings.getOrDefault(p, "no answer within " + NatUtil.format(elapsed)));
            }
            all.putAll(gs.unusable.entrySet().stream().filter(e -> protocols.contains(e.getKey()))
                    .collect(java.util.stream.Collectors.toMap(Map.Entry::getKey, Map.Entry::getValue)));
            if (ok.isEmpty()) {
                StringBuilder m = new StringBuilder("no port mapping possible: gateway ").append(NatUtil.format(gs.address))
                        .append(" (").append(gs.source).append(") answered none of ").append(names(protocols)).append(" within ")
                        .append(NatUtil.format(elapsed)).append(':');
                all.forEach((p, f) -> m.append(' ').append(p.displayName()).append(": ").append(f).append(';'));
                m.append(" enable one of them on the router, or fall back to STUN and relaying");
                result.completeExceptionally(new NoPortMapperException(m.toString(), gs.address, all));
                return;
            }
            List<MappingProtocol> ranked = new ArrayList<>(new TreeSet<>(ok));
            result.complete(new ProbeReport(gs.address, gs.source, ranked, all, elapsed));
        };
        for (MappingProtocol p : protocols) {
            PortMapper m = gs.mappers.get(p);
            if (m != null) {
                probeOne(m, gs, findings, ok, probed, pending, finish, false);
            }
        }
        if (pending.decrementAndGet() == 0) {
            runOnLoop(finish);
        }
        loop.schedule(finish, probeTimeout.toNanos() + TimeUnit.MILLISECONDS.toNanos(50), TimeUnit.NANOSECONDS);
        return result;
    }

    private void probeOne(PortMapper m, GatewayState gs, Map<MappingProtocol, String> findings, Set<MappingProtocol> ok,
                          Set<MappingProtocol> probed, AtomicInteger pending, Runnable finish, boolean fallback) {
        pending.incrementAndGet();
        probed.add(m.protocol());
        m.probe(probeTimeout).whenComplete((finding, t) -> {
            if (t == null) {
                findings.put(m.protocol(), (fallback ? "(fallback from PCP) " : "") + finding);
                ok.add(m.protocol());
                loop.schedule(finish, probeGrace.toNanos(), TimeUnit.NANOSECONDS);
            } else {
                Throwable c = NatUtil.unwrap(t);
                findings.put(m.protocol(), NatUtil.describe(c));
                if (c instanceof PcpMapper.UnsupportedVersion && ((PcpMapper.UnsupportedVersion) c).serverVersion == 0
                        && !protocols.contains(MappingProtocol.NAT_PMP) && gs.mappers.containsKey(MappingProtocol.NAT_PMP)) {
                    probeOne(gs.mappers.get(MappingProtocol.NAT_PMP), gs, findings, ok, probed, pending, finish, true);
                }
            }
            if (pending.decrementAndGet() == 0) {
                runOnLoop(finish);
            }
        });
    }

    private static String names(Set<MappingProtocol> ps) {
        List<String> n = new ArrayList<>();
        ps.forEach(p -> n.add(p.displayName()));
        return String.join(", ", n);
    }

    private void runOnLoop(Runnable r) {
        try {
            loop.execute(r);
        } catch (RejectedExecutionException e) {
            r.run();
        }
    }

    // ------------------------------------------------------------------ mapping

    /** {@link #map(PortLease, Duration)} with the configured lifetime (default 2 hours, RFC 6886's recommendation). */
    public CompletionStage<PortMapping> map(PortLease lease) {
        return map(lease, lifetime);
    }

    /**
     * Maps every transport protocol of the lease ({@link PortLease#protocols()}) to an external port,
     * asking for the same port number outside, with the given lifetime, and keeps the mapping renewed
     * until the returned {@link PortMapping} or this traversal is closed. Tries the probed protocols
     * best first; the failure says what each one answered.
     */
    public CompletionStage<PortMapping> map(PortLease lease, Duration lifetime) {
        if (lease == null || lifetime == null) {
            return CompletableFuture.failedFuture(new NullPointerException(lease == null ? "lease" : "lifetime"));
        }
        if (lease.isReleased()) {
            return CompletableFuture.failedFuture(new IllegalStateException("lease " + lease + " is released: map a live lease"));
        }
        return map(lease.service(), lease.port(), lease.protocols(), lifetime);
    }

    /**
     * Maps {@code port} for {@code transports} as {@link #map(PortLease, Duration)} does, for a port
     * this process already owns without a {@link PortLease}: a socket bound directly, such as a
     * listener on a fixed port (443). The caller keeps the port bound while the mapping lives.
     *
     * @param service names the mapping on the gateway and in messages
     */
    public CompletionStage<PortMapping> map(String service, int port, Set<Protocol> transports, Duration lifetime) {
        if (service == null || transports == null || lifetime == null) {
            return CompletableFuture.failedFuture(new NullPointerException(service == null ? "service" : transports == null ? "transports" : "lifetime"));
        }
        if (port < 1 || port > 65535) {
            return CompletableFuture.failedFuture(new IllegalArgumentException("port : " + port + " (expected: 1-65535)"));
        }
        if (transports.isEmpty()) {
            return CompletableFuture.failedFuture(new IllegalArgumentException("transports of " + service + " : empty (expected: TCP, UDP or both)"));
        }
        long seconds = lifetime.toSeconds();
        if (seconds < 1 || seconds > 0xFFFF_FFFFL) {
            return CompletableFuture.failedFuture(new IllegalArgumentException("lifetime : " + lifetime + " (expected: 1 s to 2^32-1 s)"));
        }
        if (closed.get()) {
            return CompletableFuture.failedFuture(closedException());
        }
        List<Protocol> ts = new ArrayList<>(new TreeSet<>(transports));
        String what = service + " port " + port + " (" + transportNames(ts) + ")";
        return probe(false).thenCompose(report -> {
            GatewayState gs;
            synchronized (this) {
                gs = gateway;
            }
            return mapVia(gs, report.available(), 0, service, port, ts, seconds, what, new LinkedHashMap<>());
        });
    }

    private static String transportNames(List<Protocol> ts) {
        List<String> n = new ArrayList<>();
        ts.forEach(t -> n.add(t.name()));
        return String.join("+", n);
    }

    private CompletableFuture<PortMapping> mapVia(GatewayState gs, List<MappingProtocol> order, int index, String service, int port,
                                                  List<Protocol> transports, long seconds, String what,
                                                  Map<MappingProtocol, Throwable> failures) {
        if (index >= order.size()) {
            forgetProbe();
            return CompletableFuture.failedFuture(mappingFailed(gs, what, failures));
        }
        PortMapper mapper = gs.mappers.get(order.get(index));
        return mapAll(mapper, service, port, transports, seconds).handle((m, t) -> {
            if (t == null) {
                return CompletableFuture.completedFuture(m);
            }
            Throwable c = NatUtil.unwrap(t);
            failures.put(mapper.protocol(), c);
            if (closed.get()) {
                return CompletableFuture.<PortMapping>failedFuture(closedException());
            }
            log.debug("mapping {} via {} failed: {}", what, mapper.protocol(), NatUtil.describe(c));
            return mapVia(gs, order, index + 1, service, port, transports, seconds, what, failures);
        }).thenCompose(f -> f);
    }

    private NatTraversalException mappingFailed(GatewayState gs, String what, Map<MappingProtocol, Throwable> failures) {
        StringBuilder m = new StringBuilder("mapping ").append(what).append(" on gateway ").append(NatUtil.format(gs.address))
                .append(" failed:");
        boolean allSilent = true;
        MappingRefusedException refusal = null;
        Map<MappingProtocol, String> findings = new EnumMap<>(MappingProtocol.class);
        for (Map.Entry<MappingProtocol, Throwable> e : failures.entrySet()) {
            Throwable t = e.getValue();
            findings.put(e.getKey(), NatUtil.describe(t));
            m.append(' ').append(e.getKey().displayName()).append(": ").append(NatUtil.describe(t)).append(';');
            allSilent &= t instanceof NatTimeoutException;
            if (refusal == null && t instanceof MappingRefusedException && !(t instanceof PcpMapper.UnsupportedVersion)) {
                refusal = (MappingRefusedException) t;
            }
        }
        NatTraversalException result;
        if (allSilent) {
            m.append(" the gateway no longer answers any protocol it answered before; is it restarting or gone?"
                    + " The next attempt probes it again");
            result = new NoPortMapperException(m.toString(), gs.address, findings);
        } else if (refusal != null) {
            result = new MappingRefusedException(m.toString(), refusal.protocol(), refusal.resultCode(), refusal.resultName());
        } else {
            result = new NatTraversalException(m.toString());
        }
        failures.values().forEach(result::addSuppressed);
        return result;
    }

    private CompletableFuture<PortMapping> mapAll(PortMapper mapper, String service, int port, List<Protocol> transports, long seconds) {
        List<PortMapping.Entry> done = Collections.synchronizedList(new ArrayList<>());
        CompletableFuture<Void> chain = CompletableFuture.completedFuture(null);
        for (Protocol t : transports) {
            byte[] nonce = new byte[12];
            NONCES.nextBytes(nonce);
            PortMapper.Request req = new PortMapper.Request(t, port, port, seconds, nonce, "ports " + service);
            chain = chain.thenCompose(v -> mapper.map(req).thenAccept(g -> done.add(new PortMapping.Entry(req, g))));
        }
        return chain.handle((v, t) -> {
            if (t != null) {
                for (PortMapping.Entry e : List.copyOf(done)) {
                    mapper.unmap(e.request, e.grant); // best effort: do not leave half a lease mapped
                }
                return CompletableFuture.<PortMapping>failedFuture(NatUtil.unwrap(t));
            }
            PortMapping m = new PortMapping(this, service, port, mapper, done);
            return CompletableFuture.supplyAsync(() -> register(m), loop);
        }).thenCompose(f -> f);
    }

    /** On the loop: keeps {@code m} renewed, or deletes it again when the traversal closed meanwhile. */
    private PortMapping register(PortMapping m) {
        if (closed.get()) {
            m.closeAsync();
            throw new java.util.concurrent.CompletionException(closedException());
        }
        mappings.add(m);
        long now = ticker.read();
        for (PortMapping.Entry e : m.entries) {
            granted(m, e, e.grant, now);
            log.info("mapped {} {} {} -> {} via {} (lifetime {} s)", m.service(), e.request.transport(), e.request.internalPort(),
                    NatUtil.format(new InetSocketAddress(e.grant.externalAddress(), e.grant.externalPort())), m.protocol().displayName(),
                    e.grant.lifetimeSeconds());
        }
        return m;
    }

    /** Records a grant and schedules the next renewal. On the loop. */
    private void granted(PortMapping m, PortMapping.Entry e, PortMapper.Grant g, long now) {
        e.grant = g;
        long effective = g.lifetimeSeconds() > 0 ? g.lifetimeSeconds() : e.request.lifetimeSeconds();
        e.lifetimeNanos = TimeUnit.SECONDS.toNanos(effective);
        e.expiresAt = now + e.lifetimeNanos;
        e.failuresSinceExpiry = 0;
        schedule(m, e, RenewalPolicy.firstRenewal(m.protocol(), effective, e.lifetimeNanos / 2, random));
    }

    private void schedule(PortMapping m, PortMapping.Entry e, long delayNanos) {
        if (e.timer != null) {
            e.timer.cancel();
        }
        e.timer = scheduler.schedule(() -> runOnLoop(() -> renew(m, e, null)), delayNanos);
    }

    /** Renews (or re-creates, with {@code reason}) one entry. On the loop. */
    private void renew(PortMapping m, PortMapping.Entry e, String reason) {
        if (m.isClosed() || closed.get() || e.renewing) {
            return;
        }
        if (e.timer != null) {
            e.timer.cancel();
            e.timer = null;
        }
        e.renewing = true;
        boolean expired = ticker.read() >= e.expiresAt;
        PortMapper.Request req = e.request.withExternalPort(e.grant.externalPort());
        m.mapper().map(req).whenCompleteAsync((g, t) -> {
            e.renewing = false;
            if (m.isClosed() || closed.get()) {
                if (g != null) {
                    m.mapper().unmap(req, g); // renewed while closing: delete it again
                }
                return;
            }
            long now = ticker.read();
            String lost = e.lostWhileRenewing;
            e.lostWhileRenewing = null;
            if (t == null) {
                boolean recreated = reason != null || lost != null || g.stateLost() || expired;
                String why = reason != null ? reason : g.stateLost() ? g.note() : lost != null ? lost
                        : expired ? "the mapping had expired" : null;
                granted(m, e, g, now);
                m.renewed(recreated, null);
                MappedPort port = m.port(e);
                if (recreated) {
                    log.info("re-created {} {} {} -> {} via {}: {}", m.service(), req.transport(), req.internalPort(),
                            NatUtil.format(port.external()), m.protocol().displayName(), why);
                    notify(() -> listener.recreated(m, port, why));
                } else {
                    log.debug("renewed {} {} {} -> {} (lifetime {} s)", m.service(), req.transport(), req.internalPort(),
                            NatUtil.format(port.external()), g.lifetimeSeconds());
                    notify(() -> listener.renewed(m, port));
                }
            } else {
                Throwable c = NatUtil.unwrap(t);
                NatTraversalException err = c instanceof NatTraversalException ? (NatTraversalException) c
                        : new NatTraversalException("renewing " + m.service() + " " + req.describe() + " via "
                        + m.protocol().displayName() + " failed: " + NatUtil.describe(c), c);
                m.failed(err);
                if (now >= e.expiresAt) {
                    e.failuresSinceExpiry++;
                }
                long retry = RenewalPolicy.retry(now, e.expiresAt, e.lifetimeNanos, e.failuresSinceExpiry);
                log.warn("renewing {} {} via {} failed, retrying in {}: {}", m.service(), req.describe(), m.protocol().displayName(),
                        NatUtil.formatNanos(retry), NatUtil.describe(err));
                notify(() -> listener.renewalFailed(m, req.transport(), err));
                schedule(m, e, retry);
            }
        }, loop);
    }

    private void notify(Runnable r) {
        try {
            r.run();
        } catch (RuntimeException e) {
            log.warn("mapping listener failed", e);
        }
    }

    /** A gateway lost its state: re-create every mapping it served now, not at the next renewal. */
    private void stateLost(PortMapper mapper) {
        String reason = mapper.protocol() == MappingProtocol.UPNP
                ? "the UPnP gateway was found again after its control URL stopped answering (it restarted)"
                : "the gateway's " + mapper.protocol().displayName() + " epoch did not keep up with our clock: it restarted and lost"
                + " its mappings";
        runOnLoop(() -> {
            for (PortMapping m : List.copyOf(mappings)) {
                if (m.mapper() == mapper) {
                    for (PortMapping.Entry e : m.entries) {
                        if (e.renewing) {
                            e.lostWhileRenewing = reason;
                        } else {
                            renew(m, e, reason);
                        }
                    }
                }
            }
        });
    }

    /** Called once by {@link PortMapping#closeAsync()}: stops renewing and deletes the mappings on the gateway. */
    CompletableFuture<Void> release(PortMapping m) {
        CompletableFuture<Void> done = new CompletableFuture<>();
        Runnable r = () -> {
            mappings.remove(m);
            List<CompletableFuture<Void>> deletes = new ArrayList<>();
            for (PortMapping.Entry e : m.entries) {
                if (e.timer != null) {
                    e.timer.cancel();
                    e.timer = null;
                }
                deletes.add(m.mapper().unmap(e.request, e.grant));
            }
            CompletableFuture.allOf(deletes.toArray(CompletableFuture[]::new)).whenComplete((v, t) -> {
                if (t == null) {
                    log.info("deleted the {} mapping of {} port {}", m.protocol().displayName(), m.service(), m.internalPort());
                    done.complete(null);
                } else {
                    done.completeExceptionally(new NatTraversalException("deleting the " + m.protocol().displayName() + " mapping of "
                            + m.service() + " port " + m.internalPort() + " failed: " + NatUtil.describe(t)
                            + "; it expires on its own at the end of its lifetime", NatUtil.unwrap(t)));
                }
            });
        };
        try {
            loop.execute(r);
        } catch (RejectedExecutionException e) {
            done.completeExceptionally(new NatTraversalException("cannot delete the mapping of " + m.service()
                    + ": the event loops were closed before the NAT traversal; close NatTraversal first", e));
        }
        return done;
    }

    // ------------------------------------------------------------------ queries

    /**
     * The gateway's external address, asked through NAT-PMP or UPnP when the gateway speaks one of them,
     * else taken from a live PCP mapping (PCP has no request for it).
     */
    public CompletionStage<InetAddress> externalAddress() {
        return probe(false).thenCompose(report -> {
            GatewayState gs;
            synchronized (this) {
                gs = gateway;
            }
            for (MappingProtocol p : report.available()) {
                if (p != MappingProtocol.PCP) {
                    return gs.mappers.get(p).externalAddress();
                }
            }
            for (PortMapping m : mappings) {
                if (m.protocol() == MappingProtocol.PCP && !m.isClosed()) {
                    return CompletableFuture.completedFuture(m.entries.get(0).grant.externalAddress());
                }
            }
            return CompletableFuture.failedFuture(new NatTraversalException("the gateway speaks only PCP, which has no external-address"
                    + " request: map a port first and read its external endpoint, or ask a STUN server"));
        });
    }

    /** The live mappings. */
    public List<PortMapping> mappings() {
        return List.copyOf(mappings);
    }

    public Set<MappingProtocol> protocols() {
        return protocols;
    }

    Duration closeTimeout() {
        return closeTimeout;
    }

    boolean onEventLoop() {
        for (EventExecutor e : loops.group()) {
            if (e.inEventLoop()) {
                return true;
            }
        }
        return false;
    }

    private static NatTraversalException closedException() {
        return new NatTraversalException("the NAT traversal is closed");
    }

    /**
     * Deletes every mapping on the gateway (waiting at most the close timeout, default 3 s, and not at
     * all on an event loop thread), stops renewing, and shuts down the UPnP executor if it created it.
     * Idempotent. The event loops stay open: they are borrowed.
     */
    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        List<CompletableFuture<Void>> all = new ArrayList<>();
        for (PortMapping m : List.copyOf(mappings)) {
            all.add(m.closeAsync().toCompletableFuture().exceptionally(t -> {
                log.warn("{}", NatUtil.describe(t));
                return null;
            }));
        }
        boolean wait = !onEventLoop();
        if (wait) {
            try {
                CompletableFuture.allOf(all.toArray(CompletableFuture[]::new)).get(closeTimeout.toMillis(), TimeUnit.MILLISECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } catch (TimeoutException e) {
                log.warn("deleting {} mappings took longer than {}; the rest expire on their own", all.size(), NatUtil.format(closeTimeout));
            } catch (java.util.concurrent.ExecutionException e) {
                log.warn("deleting mappings failed: {}", NatUtil.describe(e));
            }
        }
        synchronized (this) {
            if (gateway != null) {
                gateway.mappers.values().forEach(PortMapper::close);
            }
        }
        if (ownedExecutor != null) {
            ownedExecutor.shutdownNow();
            if (wait) {
                try {
                    ownedExecutor.awaitTermination(closeTimeout.toMillis(), TimeUnit.MILLISECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        }
    }

    @Override
    public String toString() {
        GatewayState gs;
        synchronized (this) {
            gs = gateway;
        }
        return "NatTraversal[" + (gs == null ? "gateway not probed" : "gateway " + NatUtil.format(gs.address)) + ", " + mappings.size()
                + " mappings" + (closed.get() ? ", closed]" : "]");
    }

    /** Configures a {@link NatTraversal}. */
    public static final class Builder {
        private final EventLoops loops;
        private InetAddress gateway;
        private Path routeFile = RouteTable.PROC_NET_ROUTE;
        private Set<MappingProtocol> protocols = EnumSet.allOf(MappingProtocol.class);
        private Duration probeTimeout = Duration.ofSeconds(2);
        private Duration probeGrace = Duration.ofMillis(250);
        private Duration probeCacheTime = Duration.ofMinutes(10);
        private Duration lifetime = Duration.ofHours(2);
        private Duration closeTimeout = Duration.ofSeconds(3);
        private Duration httpTimeout = Duration.ofSeconds(5);
        private Duration retransmitInitial = Duration.ofMillis(250);
        private int retransmitSends = 9;
        private int pmpPort = 5351;
        private int ssdpPort = 1900;
        private boolean ssdpMulticast = true;
        private List<NetworkInterface> upnpInterfaces;
        private Executor blocking;
        private MappingListener listener = new MappingListener() { };
        private Ticker ticker = Ticker.system();
        private Scheduler scheduler;
        private DoubleSupplier random = () -> ThreadLocalRandom.current().nextDouble();

        private Builder(EventLoops loops) {
            this.loops = Objects.requireNonNull(loops, "event loops");
        }

        /** The gateway to use instead of the default route's. @return {@code this} */
        public Builder gateway(InetAddress gateway) {
            this.gateway = Objects.requireNonNull(gateway, "gateway");
            return this;
        }

        /** Where to read the default route; default {@code /proc/net/route}. @return {@code this} */
        public Builder routeTable(Path file) {
            this.routeFile = Objects.requireNonNull(file, "route table");
            return this;
        }

        /** The protocols to probe; default all three. @return {@code this} */
        public Builder protocols(MappingProtocol first, MappingProtocol... more) {
            this.protocols = EnumSet.of(Objects.requireNonNull(first, "protocol"), more);
            return this;
        }

        /** How long the probe of all protocols may take; default 2 s. @return {@code this} */
        public Builder probeTimeout(Duration timeout) {
            this.probeTimeout = positive(timeout, "probe timeout");
            return this;
        }

        /** How long a successful probe's result is reused; default 10 minutes. @return {@code this} */
        public Builder probeCacheTime(Duration time) {
            Objects.requireNonNull(time, "probe cache time");
            if (time.isNegative()) {
                throw new IllegalArgumentException("probe cache time : " + time + " (expected: >= 0)");
            }
            this.probeCacheTime = time;
            return this;
        }

        /** The lifetime asked for each mapping; default 2 hours (7200 s, as RFC 6886 recommends). @return {@code this} */
        public Builder lifetime(Duration lifetime) {
            positive(lifetime, "lifetime");
            if (lifetime.toSeconds() < 1 || lifetime.toSeconds() > 0xFFFF_FFFFL) {
                throw new IllegalArgumentException("lifetime : " + lifetime + " (expected: 1 s to 2^32-1 s)");
            }
            this.lifetime = lifetime;
            return this;
        }

        /**
         * NAT-PMP/PCP retransmission: first retry after {@code initial}, doubling, {@code sends} sends in
         * all; default 250 ms and 9 (RFC 6886: about 128 s before giving up). PCP uses the same schedule,
         * not RFC 6887's 3 s start, so a silent gateway is noticed as fast as with NAT-PMP.
         * @return {@code this}
         */
        public Builder retransmission(Duration initial, int sends) {
            positive(initial, "initial retransmission interval");
            if (sends < 1 || sends > 20) {
                throw new IllegalArgumentException("sends : " + sends + " (expected: 1-20)");
            }
            this.retransmitInitial = initial;
            this.retransmitSends = sends;
            return this;
        }

        /** Connect and read timeout of each UPnP HTTP request; default 5 s. @return {@code this} */
        public Builder httpTimeout(Duration timeout) {
            this.httpTimeout = positive(timeout, "http timeout");
            return this;
        }

        /** How long {@link #close()} waits for the gateway to confirm deletions; default 3 s. @return {@code this} */
        public Builder closeTimeout(Duration timeout) {
            this.closeTimeout = positive(timeout, "close timeout");
            return this;
        }

        /** Interfaces SSDP multicast may leave from; default the interface the route to the gateway uses. @return {@code this} */
        public Builder upnpInterfaces(List<NetworkInterface> interfaces) {
            this.upnpInterfaces = List.copyOf(interfaces);
            return this;
        }

        /** Whether to multicast M-SEARCH besides asking the gateway directly; default true. @return {@code this} */
        public Builder ssdpMulticast(boolean multicast) {
            this.ssdpMulticast = multicast;
            return this;
        }

        /** Where blocking UPnP HTTP calls run; default a 2-thread executor owned by the traversal. @return {@code this} */
        public Builder blockingExecutor(Executor executor) {
            this.blocking = Objects.requireNonNull(executor, "executor");
            return this;
        }

        /** @return {@code this} */
        public Builder listener(MappingListener listener) {
            this.listener = Objects.requireNonNull(listener, "listener");
            return this;
        }

        /** The clock renewal deadlines and the epoch check read; default {@link Ticker#system()}. @return {@code this} */
        public Builder ticker(Ticker ticker) {
            this.ticker = Objects.requireNonNull(ticker, "ticker");
            return this;
        }

        Builder scheduler(Scheduler scheduler) {
            this.scheduler = Objects.requireNonNull(scheduler, "scheduler");
            return this;
        }

        Builder pmpPort(int port) {
            this.pmpPort = port;
            return this;
        }

        Builder ssdpPort(int port) {
            this.ssdpPort = port;
            return this;
        }

        Builder random(DoubleSupplier random) {
            this.random = random;
            return this;
        }

        Builder probeGrace(Duration grace) {
            this.probeGrace = grace;
            return this;
        }

        private static Duration positive(Duration d, String name) {
            Objects.requireNonNull(d, name);
            if (d.isNegative() || d.isZero()) {
                throw new IllegalArgumentException(name + " : " + d + " (expected: > 0)");
            }
            return d;
        }

        public NatTraversal build() {
            return new NatTraversal(this);
        }
    }
}
