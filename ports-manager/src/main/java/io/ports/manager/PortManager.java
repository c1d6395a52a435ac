package io.ports.manager;

import io.micrometer.core.instrument.MeterRegistry;
import io.netty.channel.ChannelHandler;
import io.ports.core.AllocationReport;
import io.ports.core.EventLoops;
import io.ports.core.HoldMode;
import io.ports.core.PortAllocator;
import io.ports.core.PortLease;
import io.ports.core.PortRequest;
import io.ports.core.PortsException;
import io.ports.core.Protocol;
import io.ports.core.ServiceCatalog;
import io.ports.core.ServiceType;
import io.ports.core.registry.Allocation;
import io.ports.core.registry.FileRegistryStore;
import io.ports.core.registry.InMemoryStore;
import io.ports.core.registry.Registry;
import io.ports.core.registry.RegistryStore;
import io.ports.health.Health;
import io.ports.health.HealthMonitor;
import io.ports.health.metrics.PortsMetrics;
import io.ports.listener.Listener;
import io.ports.listener.tunnel.TunnelServer;
import io.ports.listener.tunnel.TunnelServerOptions;
import io.ports.nat.FirewallProber;
import io.ports.nat.NatTraversal;
import io.ports.nat.PortMapping;
import io.ports.nat.stun.StunBinding;
import io.ports.nat.stun.StunClient;
import io.ports.listener.ListenerManager;
import io.ports.listener.ListenerOptions;
import io.ports.resolver.Endpoint;
import io.ports.resolver.PortsResolver;
import io.ports.resolver.SrvEndpoint;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The facade a database node embeds: ports, listeners, registry with heartbeats, DNS, health and
 * metrics over one shared event loop group.
 *
 * <pre>{@code
 * try (PortManager ports = PortManager.start(PortConfig.load(Path.of("ports.yaml")),
 *         Map.of("database", clientPipeline, "cluster", raftPipeline))) {
 *     NodePorts node = ports.nodePorts();   // service -> port, local and external endpoints
 *     log.info("\n{}", node.format());
 *     Endpoint peer = ports.resolveBlocking("db-2.cluster.example:5433");
 * }
 * }</pre>
 *
 * <p>{@link #start(PortConfig, Map)} is {@link #create(PortConfig)} followed by
 * {@link #startServices(Map)}, which documents the steps: allocation, listeners, NAT mappings, the
 * reachability check and the firewall-friendly tunnel, registration. {@link #expose(PortLease)} maps
 * one lease on demand.
 *
 * <p>{@link #close()} undoes everything in reverse order within a bounded time (NAT mappings deleted
 * first, then heartbeats and health checks stopped, tunnel and listeners stopped, registry records
 * released, leases released, resolver and STUN closed, the event loops shut down last) and is safe
 * to call twice or from a shutdown hook. It leaves no thread, socket, file lock or mapping behind.
 */
public final class PortManager implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(PortManager.class);

    private final PortConfig config;
    private final EventLoops loops;
    private final PortAllocator allocator;
    private final Registry registry;
    private final ListenerManager listeners;
    private final PortsResolver resolver;
    private final HealthMonitor health;
    private final PortsMetrics metrics;
    private final Map<String, ScheduledFuture<?>> heartbeats = new ConcurrentHashMap<>();
    private final Map<String, Allocation> registered = new ConcurrentHashMap<>();
    private final AtomicBoolean closed = new AtomicBoolean();
    private StunClient stun; // made on first use, guarded by this
    private NatTraversal nat; // made on first use, guarded by this
    private final Set<TunnelServer> tunnels = ConcurrentHashMap.newKeySet();
    private volatile NodePorts nodePorts;

    private PortManager(PortConfig config, MeterRegistry meterRegistry) {
        this.config = config;
        Deque<AutoCloseable> built = new ArrayDeque<>();
        try {
            EventLoops.Builder lb = EventLoops.builder().transport(config.transport()).shutdownTimeout(config.shutdownTimeout());
            if (config.eventLoopThreads() > 0) {
                lb.threads(config.eventLoopThreads());
            }
            this.loops = lb.build();
            built.push(loops);
            ServiceCatalog catalog = ServiceCatalog.defaults()
                    .with(ServiceType.CUSTOM.withRange(config.dynamicRange()))
                    .with(ServiceType.DYNAMIC.withRange(config.dynamicRange()))
                    .with(ServiceType.DATABASE.withDefaultPort(config.basePort()));
            PortAllocator.Builder ab = PortAllocator.builder().catalog(catalog).strategy(config.strategy()).nodeId(config.nodeId());
            if (config.lockDirectory() != null) {
                ab.lockDirectory(config.lockDirectory());
            }
            this.allocator = ab.build();
            built.push(allocator);
            this.registry = Registry.builder().allocator(allocator).store(store(config.registryStore()))
                    .defaultHeartbeatTimeout(config.heartbeatInterval().multipliedBy(3)).build();
            built.push(registry);
            this.listeners = new ListenerManager(loops);
            built.push(listeners);
            PortsResolver.Builder rb = PortsResolver.builder().eventLoops(loops);
            if (!config.resolverServers().isEmpty()) {
                rb.servers(config.resolverServers().stream().map(PortManager::dnsServer).toList());
            }
            if (!config.resolverSearch().isEmpty()) {
                rb.search(config.resolverSearch());
            }
            if (!config.resolverTimeout().isZero()) {
                rb.timeout(config.resolverTimeout());
            }
            this.resolver = rb.build();
            built.push(resolver);
            this.health = HealthMonitor.builder(registry, loops).interval(config.healthCheckInterval()).build().start();
            built.push(health);
            if (meterRegistry != null) {
                this.metrics = PortsMetrics.of(meterRegistry);
                metrics.bindRegistry(registry);
                metrics.bindHealth(health);
                built.push(metrics);
            } else {
                this.metrics = null;
            }
        } catch (RuntimeException e) {
            closeAll(built, e);
            throw new PortsException("starting ports failed: " + e.getMessage(), e);
        }
        log.info("ports ready: node {}, {} event loops on {}, registry {}", config.nodeId(), loops.threads(),
                loops.transport().name().toLowerCase(java.util.Locale.ROOT), registry.store().describe());
    }

    /** Builds every component from the configuration; nothing is allocated or bound yet. */
    public static PortManager create(PortConfig config) {
        return new PortManager(Objects.requireNonNull(config, "config"), null);
    }

    /** As {@link #create(PortConfig)}, with every ports meter bound to {@code meters}. */
    public static PortManager create(PortConfig config, MeterRegistry meters) {
        return new PortManager(Objects.requireNonNull(config, "config"), Objects.requireNonNull(meters, "meter registry"));
    }

    /**
     * Starts a node in one call: {@link #create(PortConfig)}, then {@link #startServices(Map)} with
     * {@code pipelines}. Every configured service gets its port, a listener with its pipeline (a
     * service without one is allocated and registered only), a NAT mapping when {@code nat-traversal}
     * is on, the firewall-friendly tunnel when the reachability check finds it unreachable, and its
     * registry record. Read the result with {@link #nodePorts()}. When any step fails, everything done
     * is undone (the manager too) and the exception says which service and step failed and why.
     *
     * <pre>{@code
     * try (PortManager ports = PortManager.start(config, Map.of("database", sqlPipeline, "cluster", raftPipeline))) {
     *     NodePorts node = ports.nodePorts();
     *     node.external("database").ifPresent(e -> log.info("clients outside connect to {}", e.endpoint()));
     *     ...
     * }
     * }</pre>
     */
    public static PortManager start(PortConfig config, Map<String, ChannelHandler> pipelines) {
        PortManager pm = create(config);
        try {
            pm.startServices(pipelines);
            return pm;
        } catch (RuntimeException | Error e) {
            pm.close();
            throw e;
        }
    }

    /**
     * {@link #start(PortConfig, Map)} with no pipelines: allocates, maps and registers the configured
     * services without starting listeners, for a node that binds its own sockets on the ports
     * ({@link #nodePorts()}); the leases hold the ports until the manager closes.
     */
    public static PortManager start(PortConfig config) {
        return start(config, Map.of());
    }

    private static RegistryStore store(String spec) {
        if (spec.startsWith("file:")) {
            return FileRegistryStore.open(Path.of(spec.substring(5)));
        }
        return spec.equals("memory") ? new InMemoryStore() : io.ports.core.registry.RegistryStores.open(spec); // etcd:// and other providers
    }

    private static InetSocketAddress dnsServer(String s) {
        int colon = s.lastIndexOf(':');
        boolean hasPort = colon > 0 && s.indexOf(':') == colon || s.startsWith("[") && s.contains("]:");
        String host = hasPort ? s.substring(0, colon).replace("[", "").replace("]", "") : s.replace("[", "").replace("]", "");
        int port = hasPort ? Integer.parseInt(s.substring(colon + 1)) : 53;
        return new InetSocketAddress(io.netty.util.NetUtil.createInetAddressFromIpAddressString(host), port);
    }

    public PortConfig config() {
        return config;
    }

    public EventLoops eventLoops() {
        return loops;
    }

    public Registry registry() {
        return registry;
    }

    public PortsResolver resolver() {
        return resolver;
    }

    // ------------------------------------------------------------------------------- ports

    /** Allocates a port for a service of a catalog type (host-wide, held until a listener takes it). */
    public PortLease allocate(String service, String type) {
        ensureOpen();
        return allocator.allocate(PortRequest.builder(service, allocator.catalog().require(type)).holdMode(HoldMode.EXCLUSIVE).build());
    }

    /** Allocates a port for a service type, as the seed design's {@code allocate_port(ServiceType::Database)}. */
    public PortLease allocate(ServiceType type) {
        return allocate(type.name().toLowerCase(java.util.Locale.ROOT), type.name());
    }

    private PortLease allocate(PortConfig.ServiceSpec spec) {
        ServiceType type = allocator.catalog().require(spec.type());
        return allocator.allocate(PortRequest.builder(spec.name(), type).preferredPort(spec.port()).required(spec.required())
                .holdMode(HoldMode.EXCLUSIVE).build());
    }

    /** Starts a listener on the lease's port (never free in between); the listener owns the lease. */
    public Listener listen(PortLease lease, ChannelHandler pipeline) {
        return listen(lease, "", pipeline);
    }

    private Listener listen(PortLease lease, String host, ChannelHandler pipeline) {
        ensureOpen();
        return listeners.listen(lease, host.isEmpty() ? wildcard() : bracket(host), listenerOptions(), pipeline);
    }

    private String wildcard() {
        return config.ipv6() ? "[::]" : "0.0.0.0";
    }

    private static String bracket(String host) {
        return host.contains(":") && !host.startsWith("[") ? "[" + host + "]" : host;
    }

    private ListenerOptions listenerOptions() {
        return ListenerOptions.builder().reuseAddress(config.reuseAddress()).reusePort(config.reusePort())
                .gracefulTimeout(config.shutdownTimeout()).build();
    }

    /**
     * Records the lease in the registry as this process's, ACTIVE, and heartbeats it every
     * heartbeat interval until the record is released or the manager closes.
     */
    public Allocation register(PortLease lease) {
        return register(lease, Map.of());
    }

    private Allocation register(PortLease lease, Map<String, String> metadata) {
        ensureOpen();
        Map<String, String> m = new LinkedHashMap<>(metadata);
        m.put("node", config.nodeId());
        Allocation a = registry.register(lease, Protocol.TCP, ProcessHandle.current().pid(), m, true);
        registered.put(a.id(), a);
        long ms = config.heartbeatInterval().toMillis();
        heartbeats.put(a.id(), loops.next().scheduleWithFixedDelay(() -> heartbeat(a.id()), ms, ms, TimeUnit.MILLISECONDS));
        return a;
    }

    private void heartbeat(String id) {
        try {
            registry.heartbeat(id);
        } catch (RuntimeException e) {
            log.warn("heartbeat of {} failed: {}", id, e.getMessage());
        }
    }

    /**
     * Starts the configured services in one call, all or nothing. For each service in configuration
     * order: allocates its port; starts a listener with its pipeline when it has one (on
     * {@code services.NAME.host}, else every address); maps the port on the NAT gateway when
     * {@code nat-traversal} is on. Then, when {@code reachability.check} names a {@link DialBackServer},
     * asks it which of the node's listening ports it reaches from outside, and serves every service it
     * cannot reach through the firewall-friendly tunnel (below). Last, registers every service (ACTIVE,
     * heartbeated, with its external endpoint in the metadata). When a step fails, everything done
     * before is undone (mappings deleted, tunnel and listeners stopped, records and leases released)
     * and the exception names the service and the step.
     *
     * <h2>The reachability decision</h2>
     * A node cannot probe its own ports from outside: connecting to its own public address tests the
     * gateway's hairpinning (most have none), not the path a client outside takes, and a mapping the
     * gateway granted says nothing about a firewall further up. So the check is made by a
     * {@link DialBackServer} outside, which connects back to the address the node's request came from
     * (the one the outside sees) on each port, as libp2p's AutoNAT does. Without
     * {@code reachability.check}, nothing is probed: a mapped port is reported as the gateway granted
     * it, and no fallback is started, since there is no evidence to decide on.
     *
     * <h2>The firewall-friendly fallback</h2>
     * When the check finds a service's port not OPEN (FILTERED, REFUSED, UNREACHABLE) and
     * {@code firewall-friendly} is on, the node starts one WebSocket tunnel server
     * ({@link TunnelServer}) bridging to each such service's local port, on the first of
     * {@code tunnel.ports} (default 443, 80, 8443: the ports firewalls let out) that binds here, maps on
     * the gateway (when NAT traversal is on) and that the check then finds OPEN; a candidate failing any
     * of these is undone and the next tried. If none works the start fails, naming what each candidate
     * did. The service is then reported as {@link NodePorts.Route#TUNNEL} with its
     * {@code ws://HOST:PORT/PATH?target=...} URL; a client outside reaches it with a
     * {@link io.ports.listener.tunnel.TunnelClient} (or websockify-compatible client) on that URL.
     *
     * @param pipelines service name → pipeline of its accepted connections
     * @throws IllegalArgumentException when a pipeline names no configured service (nothing is started)
     * @throws PortsException naming the service and step that failed, after undoing the rest
     */
    public NodePorts startServices(Map<String, ChannelHandler> pipelines) {
        ensureOpen();
        checkNotOnEventLoop("startServices");
        for (String name : pipelines.keySet()) {
            if (!config.services().containsKey(name)) {
                throw new IllegalArgumentException("a pipeline was given for '" + name + "', which is not a configured service: the services are "
                        + config.services().keySet());
            }
        }
        Map<String, Started> started = new LinkedHashMap<>();
        Deque<AutoCloseable> undo = new ArrayDeque<>();
        String step = "";
        String service = "";
        try {
            for (PortConfig.ServiceSpec spec : config.services().values()) {
                service = spec.name();
                step = "allocating a port";
                Started st = new Started(spec, allocate(spec));
                undo.push(st.lease);
                ChannelHandler pipeline = pipelines.get(spec.name());
                if (pipeline != null && spec.listen()) {
                    step = "starting its listener on port " + st.lease.port() + (spec.host().isEmpty() ? "" : " of " + spec.host());
                    st.listener = listen(st.lease, spec.host(), pipeline);
                    undo.push(st.listener);
                }
                if (config.natTraversal()) {
                    step = "mapping port " + st.lease.port() + " through NAT";
                    st.mapping = await(natTraversal().map(st.lease), NAT_TIMEOUT, "the NAT mapping");
                    undo.push(st.mapping);
                    InetSocketAddress ext = st.mapping.external(Protocol.TCP);
                    st.external = new NodePorts.External(NodePorts.Route.NAT, ext, st.mapping.protocol().displayName(), Optional.empty(),
                            Optional.empty(), Optional.empty());
                }
                started.put(spec.name(), st);
            }
            service = "";
            if (config.reachabilityCheck() != null) {
                step = "checking reachability through " + config.reachabilityCheck();
                checkReachability(started, undo);
            }
            for (Started st : started.values()) {
                service = st.spec.name();
                step = "registering port " + st.lease.port();
                Map<String, String> meta = new LinkedHashMap<>();
                if (st.external != null) {
                    meta.put("external", DialBackServer.hostPort(st.external.endpoint().getAddress(), st.external.endpoint().getPort()));
                    meta.put("route", st.external.route().name());
                    st.external.tunnelUrl().ifPresent(u -> meta.put("tunnel", u.toString()));
                }
                Allocation a = register(st.lease, meta);
                undo.push(() -> unregister(a.id()));
                st.allocationId = a.id();
            }
        } catch (RuntimeException e) {
            closeAll(undo, e);
            String who = service.isEmpty() ? "starting the node" : "starting service '" + service + "'";
            throw new PortsException(who + " failed while " + step + ": " + e.getMessage() + " (everything started before was undone)", e);
        }
        Map<String, NodePorts.ServicePorts> view = new LinkedHashMap<>();
        for (Started st : started.values()) {
            view.put(st.spec.name(), new NodePorts.ServicePorts(st.spec.name(), st.spec.type(), st.lease.port(),
                    st.listener == null ? List.of() : st.listener.boundAddresses(), Optional.of(st.allocationId), Optional.ofNullable(st.external)));
        }
        NodePorts node = new NodePorts(view);
        nodePorts = node;
        log.info("node {} started {} services:\n{}{}", config.nodeId(), view.size(), node.format(), report().format());
        return node;
    }

    /** One service while it starts. */
    private static final class Started {
        final PortConfig.ServiceSpec spec;
        final PortLease lease;
        Listener listener;
        PortMapping mapping;
        NodePorts.External external;
        String allocationId;

        Started(PortConfig.ServiceSpec spec, PortLease lease) {
            this.spec = spec;
            this.lease = lease;
        }

        /** The port the outside would use: the mapped one, else its own. */
        int outsidePort() {
            return mapping != null ? mapping.external(Protocol.TCP).getPort() : lease.port();
        }

        /** Where the tunnel bridges to: the listener's own address, or loopback when it listens on every address. */
        String localTarget() {
            String h = spec.host().replace("[", "").replace("]", "");
            String target = h.isEmpty() || h.equals("0.0.0.0") ? "127.0.0.1" : h.equals("::") ? "[::1]" : bracket(h);
            return target + ":" + lease.port();
        }
    }

    /** How long one NAT mapping may take at start-up: the probe (2 s) and a protocol or two timing out. */
    private static final Duration NAT_TIMEOUT = Duration.ofSeconds(30);

    private void checkReachability(Map<String, Started> started, Deque<AutoCloseable> undo) {
        DialBackClient check = new DialBackClient(loops, config.reachabilityCheck(), config.reachabilityTimeout());
        List<Started> listening = started.values().stream().filter(st -> st.listener != null).toList();
        if (listening.isEmpty()) {
            return;
        }
        Duration wait = config.reachabilityTimeout().plusSeconds(15);
        DialBackClient.Answer answer = await(check.check(listening.stream().map(Started::outsidePort).distinct().toList()), wait,
                "the reachability check");
        InetAddress observed = io.netty.util.NetUtil.createInetAddressFromIpAddressString(answer.observed());
        List<Started> unreachable = new ArrayList<>();
        for (Started st : listening) {
            FirewallProber.Reachability r = answer.results().get(st.outsidePort()).reachability();
            if (st.external != null) {
                if (observed != null && !observed.equals(st.external.endpoint().getAddress())) {
                    log.warn("the gateway maps {} to {}, but the outside sees this node as {}: another NAT beyond the gateway?", st.spec.name(),
                            st.external.endpoint().getAddress().getHostAddress(), answer.observed());
                }
                st.external = new NodePorts.External(st.external.route(), st.external.endpoint(), st.external.via(), Optional.empty(),
                        Optional.of(r), Optional.empty());
            } else if (r == FirewallProber.Reachability.OPEN) {
                st.external = new NodePorts.External(NodePorts.Route.DIRECT, new InetSocketAddress(observed, st.lease.port()), "direct",
                        Optional.empty(), Optional.of(r), Optional.empty());
            }
            log.info("reachability of {} port {} from outside ({}): {}", st.spec.name(), st.outsidePort(), check.uri(), r);
            if (r != FirewallProber.Reachability.OPEN) {
                unreachable.add(st);
            }
        }
        if (unreachable.isEmpty()) {
            return;
        }
        if (!config.firewallFriendly()) {
            log.warn("{} unreachable from outside and firewall-friendly is off: no tunnel", unreachable.stream().map(st -> st.spec.name()).toList());
            return;
        }
        startTunnel(unreachable, answer, check, undo);
    }

    /** Tries each firewall-friendly port in turn: bind, map, check; the first that passes all three serves the unreachable services. */
    private void startTunnel(List<Started> unreachable, DialBackClient.Answer first, DialBackClient check, Deque<AutoCloseable> undo) {
        TunnelServerOptions.Builder ob = TunnelServerOptions.builder().path(config.tunnelPath());
        for (Started st : unreachable) {
            ob.allow(st.localTarget());
        }
        if (!config.tunnelToken().isEmpty()) {
            ob.bearerToken(config.tunnelToken());
        }
        TunnelServerOptions options = ob.build();
        List<String> tried = new ArrayList<>();
        for (int port : config.tunnelPorts()) {
            TunnelServer server;
            try {
                server = TunnelServer.start(listeners, wildcard() + ":" + port, listenerOptions(), options);
            } catch (RuntimeException e) {
                tried.add(port + ": " + e.getMessage());
                continue;
            }
            PortMapping mapping = null;
            try {
                InetSocketAddress ext;
                String via = "WebSocket tunnel";
                if (config.natTraversal()) {
                    mapping = await(natTraversal().map(config.nodeId() + "-tunnel", port, java.util.EnumSet.of(Protocol.TCP),
                            Duration.ofHours(2)), NAT_TIMEOUT, "the tunnel's NAT mapping");
                    ext = mapping.external(Protocol.TCP);
                    via += " (port mapped via " + mapping.protocol().displayName() + ")";
                } else {
                    ext = new InetSocketAddress(io.netty.util.NetUtil.createInetAddressFromIpAddressString(first.observed()), port);
                }
                FirewallProber.Reachability r = await(check.check(List.of(ext.getPort())), config.reachabilityTimeout().plusSeconds(15),
                        "the reachability check").results().get(ext.getPort()).reachability();
                if (r != FirewallProber.Reachability.OPEN) {
                    throw new PortsException("the tunnel on port " + port + " is " + r + " from outside too");
                }
                PortMapping m = mapping;
                undo.push(() -> {
                    tunnels.remove(server);
                    server.close();
                });
                undo.push(() -> { // undone first: the mapping goes before the server
                    if (m != null) {
                        m.close();
                    }
                });
                tunnels.add(server);
                for (Started st : unreachable) {
                    FirewallProber.Reachability own = st.external != null ? st.external.checked().orElse(null)
                            : first.results().get(st.outsidePort()).reachability();
                    java.net.URI url = java.net.URI.create("ws://" + DialBackServer.hostPort(ext.getAddress(), ext.getPort()) + config.tunnelPath()
                            + "?target=" + st.localTarget());
                    st.external = new NodePorts.External(NodePorts.Route.TUNNEL, ext, via, Optional.of(url), Optional.of(r), Optional.ofNullable(own));
                }
                log.info("firewall-friendly tunnel on port {} (outside {}) serves {}", port, ext, unreachable.stream().map(st -> st.spec.name()).toList());
                return;
            } catch (RuntimeException e) {
                tried.add(port + ": " + e.getMessage());
                if (mapping != null) {
                    mapping.close();
                }
                server.close();
            }
        }
        throw new PortsException("no firewall-friendly port could serve " + unreachable.stream().map(st -> st.spec.name()).toList()
                + " (unreachable from outside): " + String.join("; ", tried) + "; allow one of tunnel.ports " + config.tunnelPorts()
                + " through the firewall, or list others");
    }

    /** Waits for a start-up step; the failure's own exception comes out unwrapped. */
    private static <T> T await(CompletionStage<T> stage, Duration timeout, String what) {
        try {
            return stage.toCompletableFuture().get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new PortsException("interrupted while waiting for " + what, e);
        } catch (java.util.concurrent.TimeoutException e) {
            throw new PortsException(what + " did not complete within " + timeout.toSeconds() + " s", e);
        } catch (java.util.concurrent.ExecutionException e) {
            Throwable c = e.getCause();
            if (c instanceof RuntimeException) {
                throw (RuntimeException) c;
            }
            throw new PortsException(what + " failed: " + c, c);
        }
    }

    private void checkNotOnEventLoop(String what) {
        for (io.netty.util.concurrent.EventExecutor e : loops.group()) {
            if (e.inEventLoop()) {
                throw new IllegalStateException("PortManager." + what + " blocks and must not be called on a ports event loop thread");
            }
        }
    }

    /** What the last {@link #startServices} (or {@link #start}) started. @throws IllegalStateException before that */
    public NodePorts nodePorts() {
        NodePorts n = nodePorts;
        if (n == null) {
            throw new IllegalStateException("no services were started yet: call startServices(pipelines), or PortManager.start(config, pipelines)");
        }
        return n;
    }

    private void unregister(String id) {
        ScheduledFuture<?> f = heartbeats.remove(id);
        if (f != null) {
            f.cancel(false);
        }
        if (registered.remove(id) != null) {
            registry.release(id);
        }
    }

    // ------------------------------------------------------------------------------- resolution

    /** Resolves {@code host:port} (or {@code [v6]:port}) through the cache. */
    public CompletionStage<Endpoint> resolve(String hostAndPort) {
        return resolver.resolveAddress(hostAndPort);
    }

    /** {@link #resolve(String)} for start-up code; must not be called on an event loop thread. */
    public Endpoint resolveBlocking(String hostAndPort) {
        return resolver.resolveAddress(hostAndPort).toCompletableFuture().join();
    }

    /** Resolves an SRV name ({@code _db._tcp.cluster.example}) into endpoints in RFC 2782 order. */
    public CompletionStage<List<SrvEndpoint>> resolveSrv(String name) {
        return resolver.resolveSrv(name);
    }

    // ------------------------------------------------------------------------------- outside view

    /**
     * This node's address as the internet sees it, from a STUN Binding to the configured
     * {@code stun.servers} (tried in order), sent from {@code lease}'s port when one is given so that
     * the answer is that port's own public mapping.
     *
     * @throws IllegalStateException when no STUN server is configured
     */
    public CompletionStage<StunBinding> externalAddress(PortLease lease) {
        ensureOpen();
        if (config.stunServers().isEmpty()) {
            throw new IllegalStateException("no STUN server is configured: set stun.servers (PORTS_STUN_SERVERS), for example stun.example.org:3478");
        }
        StunClient stun = stunClient();
        return lease == null ? stun.binding(Protocol.UDP) : stun.binding(lease, Protocol.UDP);
    }

    private synchronized StunClient stunClient() {
        if (stun == null) {
            stun = StunClient.builder(loops).servers(config.stunServers().stream().map(PortManager::stunServer).toList()).build();
        }
        return stun;
    }

    /**
     * Opens the lease's port on the NAT gateway (PCP, then NAT-PMP, then UPnP IGD, whichever the
     * gateway speaks; the gateway of {@code nat.gateway}, else of the default route) and keeps the
     * mapping renewed until it is closed or the manager closes, which deletes it first of all. Works
     * whether or not {@code nat-traversal} is on: that key only makes {@link #startServices} map every
     * service. Fails the stage (never throws) with a {@link io.ports.nat.NatTraversalException} saying
     * what each protocol answered.
     */
    public CompletionStage<PortMapping> expose(PortLease lease) {
        if (closed.get()) {
            return java.util.concurrent.CompletableFuture.failedFuture(new IllegalStateException("this PortManager is closed"));
        }
        return natTraversal().map(lease);
    }

    /** {@link #expose(PortLease)} for start-up code, waiting at most 30 s; must not be called on an event loop thread. */
    public PortMapping exposeBlocking(PortLease lease) {
        checkNotOnEventLoop("exposeBlocking");
        return await(expose(lease), NAT_TIMEOUT, "the NAT mapping of " + lease.service());
    }

    private synchronized NatTraversal natTraversal() {
        if (nat == null) {
            NatTraversal.Builder b = NatTraversal.builder(loops).retransmission(Duration.ofMillis(250), 4).closeTimeout(Duration.ofSeconds(3));
            if (!config.natGateway().isEmpty()) {
                b.gateway(io.netty.util.NetUtil.createInetAddressFromIpAddressString(config.natGateway()));
            }
            nat = b.build();
        }
        return nat;
    }

    /** {@link #externalAddress(PortLease)} from an ephemeral port. */
    public CompletionStage<StunBinding> externalAddress() {
        return externalAddress(null);
    }

    private static InetSocketAddress stunServer(String s) {
        int colon = s.lastIndexOf(':');
        if (colon <= 0) {
            return InetSocketAddress.createUnresolved(s, 3478);
        }
        String host = s.substring(0, colon).replace("[", "").replace("]", "");
        int port = Integer.parseInt(s.substring(colon + 1));
        java.net.InetAddress literal = io.netty.util.NetUtil.createInetAddressFromIpAddressString(host);
        return literal != null ? new InetSocketAddress(literal, port) : new InetSocketAddress(host, port);
    }

    // ------------------------------------------------------------------------------- health and reports

    /** Runs the health checks now. */
    public CompletionStage<Health> checkHealth() {
        return health.checkNow();
    }

    /** The last health report, if a check ran. */
    public Optional<Health> health() {
        return health.current();
    }

    /** Every live lease with how it was found. */
    public AllocationReport report() {
        return allocator.report();
    }

    // ------------------------------------------------------------------------------- lifecycle

    private void ensureOpen() {
        if (closed.get()) {
            throw new IllegalStateException("this PortManager is closed");
        }
    }

    /** Closes everything when the JVM exits, unless {@link #close()} ran first. */
    public PortManager closeOnShutdown() {
        Runtime.getRuntime().addShutdownHook(new Thread(this::close, "ports-shutdown"));
        return this;
    }

    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        long t0 = System.nanoTime();
        heartbeats.values().forEach(f -> f.cancel(false));
        heartbeats.clear();
        Deque<AutoCloseable> order = new ArrayDeque<>();
        order.push(loops);
        if (metrics != null) {
            order.push(metrics);
        }
        order.push(resolver);
        synchronized (this) {
            if (stun != null) {
                order.push(stun);
            }
        }
        order.push(allocator);
        order.push(registry);
        order.push(() -> new ArrayList<>(registered.keySet()).forEach(id -> {
            registered.remove(id);
            registry.release(id);
        }));
        order.push(listeners);
        order.push(() -> List.copyOf(tunnels).forEach(t -> {
            tunnels.remove(t);
            t.close();
        }));
        order.push(health);
        synchronized (this) {
            if (nat != null) {
                order.push(nat); // first: the mappings are deleted while the ports are still ours
            }
        }
        closeAll(order, null);
        log.info("ports closed in {} ms", TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0));
    }

    /** Closes in stack order; every failure is logged (and added to {@code cause} when given), none stops the rest. */
    private static void closeAll(Deque<AutoCloseable> stack, Throwable cause) {
        while (!stack.isEmpty()) {
            AutoCloseable c = stack.pop();
            try {
                c.close();
            } catch (Exception e) {
                if (cause != null) {
                    cause.addSuppressed(e);
                }
                log.warn("closing {} failed: {}", c, e.toString());
            }
        }
    }

    @Override
    public String toString() {
        return "PortManager[" + config.nodeId() + (closed.get() ? ", closed]" : "]");
    }
}
