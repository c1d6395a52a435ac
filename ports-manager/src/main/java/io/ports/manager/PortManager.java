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
import io.ports.nat.stun.StunBinding;
import io.ports.nat.stun.StunClient;
import io.ports.listener.ListenerManager;
import io.ports.listener.ListenerOptions;
import io.ports.resolver.Endpoint;
import io.ports.resolver.PortsResolver;
import io.ports.resolver.SrvEndpoint;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
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
 * try (PortManager ports = PortManager.create(PortConfig.load(Path.of("ports.yaml")))) {
 *     NodePorts node = ports.startServices(Map.of("database", clientPipeline, "cluster", raftPipeline));
 *     log.info("\n{}", ports.report().format());
 *     Endpoint peer = ports.resolveBlocking("db-2.cluster.example:5433");
 * }
 * }</pre>
 *
 * <p>{@link #close()} undoes everything in reverse order within a bounded time (heartbeats stopped,
 * listeners stopped, registry records released, leases released, health and resolver closed, the
 * event loops shut down last) and is safe to call twice or from a shutdown hook.
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
        ensureOpen();
        String host = config.ipv6() ? "[::]" : "0.0.0.0";
        return listeners.listen(lease, host, listenerOptions(), pipeline);
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
        ensureOpen();
        Allocation a = registry.register(lease, Protocol.TCP, ProcessHandle.current().pid(), Map.of("node", config.nodeId()), true);
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
     * Starts the configured services in one call: allocates each, starts a listener with the given
     * pipeline for each service that has one, and registers them. All or nothing: when a step fails,
     * what was done is undone and the exception names the service and the step.
     *
     * @param pipelines service name → pipeline of its accepted connections
     */
    public NodePorts startServices(Map<String, ChannelHandler> pipelines) {
        ensureOpen();
        for (String name : pipelines.keySet()) {
            if (!config.services().containsKey(name)) {
                throw new IllegalArgumentException("a pipeline was given for '" + name + "', which is not a configured service: the services are "
                        + config.services().keySet());
            }
        }
        Map<String, NodePorts.ServicePorts> started = new LinkedHashMap<>();
        Deque<AutoCloseable> undo = new ArrayDeque<>();
        String step = "";
        String service = "";
        try {
            for (PortConfig.ServiceSpec spec : config.services().values()) {
                service = spec.name();
                step = "allocating a port";
                PortLease lease = allocate(spec);
                undo.push(lease);
                ChannelHandler pipeline = pipelines.get(spec.name());
                List<java.net.SocketAddress> endpoints = List.of();
                if (pipeline != null && spec.listen()) {
                    step = "starting its listener on port " + lease.port();
                    Listener l = listen(lease, pipeline);
                    undo.push(l);
                    endpoints = l.boundAddresses();
                }
                step = "registering port " + lease.port();
                Allocation a = register(lease);
                undo.push(() -> unregister(a.id()));
                started.put(spec.name(), new NodePorts.ServicePorts(spec.name(), spec.type(), lease.port(), endpoints, Optional.of(a.id())));
            }
        } catch (RuntimeException e) {
            closeAll(undo, e);
            throw new PortsException("starting service '" + service + "' failed while " + step + ": " + e.getMessage()
                    + " (everything started before was undone)", e);
        }
        log.info("node {} started {} services:\n{}", config.nodeId(), started.size(), report().format());
        return new NodePorts(started);
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
        order.push(health);
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
