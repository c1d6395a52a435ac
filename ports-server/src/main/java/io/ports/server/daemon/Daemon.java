package io.ports.server.daemon;

import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.util.concurrent.ScheduledFuture;
import io.ports.core.EventLoops;
import io.ports.core.PortsException;
import io.ports.core.Protocol;
import io.ports.core.registry.FileRegistryStore;
import io.ports.core.registry.RegistryStore;
import io.ports.core.registry.RegistryStores;
import io.ports.core.registry.Registry;
import io.ports.health.HealthMonitor;
import io.ports.health.Reconciler;
import io.ports.health.metrics.PortsMetrics;
import io.ports.listener.Listener;
import io.ports.listener.ListenerManager;
import io.ports.listener.ListenerOptions;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The registry daemon: the REST API, {@code /metrics} and the dashboard over one {@link Registry} on the
 * embedded {@link FileRegistryStore} in {@code <data-dir>/registry/}, served by Netty HTTP on the daemon's
 * {@link EventLoops}. Registry operations that write to disk run on a few worker threads, never on a loop.
 *
 * <pre>{@code
 * try (Daemon d = Daemon.start(DaemonConfig.defaults(Path.of("/var/lib/ports")))) {
 *     System.out.println("listening on " + d.url());
 *     d.awaitClose();
 * }
 * }</pre>
 *
 * <p>At start it creates the data dir (owner-only), the token files when missing, opens the store (only one
 * daemon may have it open), binds (a port in use is a {@link io.ports.core.PortInUseException} naming the
 * holder where Linux tells), and then writes {@code daemon.json} ({@code {"url":...,"pid":...}}).
 * {@link #close()} undoes it in reverse, once: stops listening, closes event streams, stops health rounds,
 * lets queued registry operations finish, closes the store, removes {@code daemon.json}.
 */
public final class Daemon implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(Daemon.class);
    /** The file naming where a running daemon listens. */
    public static final String DAEMON_FILE = "daemon.json";

    private final DaemonConfig config;
    private final List<AutoCloseable> resources = new ArrayList<>(); // closed in reverse
    private final AtomicBoolean closed = new AtomicBoolean();
    private final CompletableFuture<Void> closedFuture = new CompletableFuture<>();
    private Tokens tokens;
    private volatile Listener listener;
    private URI url;
    private String storeDescription;
    private Path daemonFile;

    private Daemon(DaemonConfig config) {
        this.config = config;
    }

    /**
     * Starts a daemon; on failure everything already started is closed again before the exception is thrown.
     *
     * @throws io.ports.core.PortInUseException when the port is taken
     * @throws PortsException                   for a data dir, token file or store that cannot be used
     */
    public static Daemon start(DaemonConfig config) {
        Daemon d = new Daemon(config);
        try {
            d.open();
            return d;
        } catch (RuntimeException e) {
            d.close();
            throw e;
        }
    }

    private void open() {
        Path dir = config.dataDir().toAbsolutePath().normalize();
        createDataDir(dir);
        tokens = Tokens.loadOrCreate(dir);
        RegistryStore store = config.store() == null ? FileRegistryStore.open(dir.resolve("registry")) : RegistryStores.open(config.store());
        Registry.Builder rb = Registry.builder().store(store).catalog(config.catalog()).defaultHeartbeatTimeout(config.heartbeatTimeout());
        if (config.lockDirectory() != null) {
            rb.lockDirectory(config.lockDirectory());
        }
        Registry registry;
        try {
            registry = rb.build();
        } catch (RuntimeException e) {
            store.close();
            throw e;
        }
        resources.add(registry);
        storeDescription = store.describe();

        EventLoops loops = EventLoops.builder().threadNamePrefix("ports-daemon-io").build();
        resources.add(loops);
        AtomicInteger n = new AtomicInteger();
        ThreadPoolExecutor workers = new ThreadPoolExecutor(config.workers(), config.workers(), 30, TimeUnit.SECONDS,
                new ArrayBlockingQueue<>(4096), r -> {
                    Thread t = new Thread(r, "ports-daemon-worker-" + n.incrementAndGet());
                    t.setDaemon(true);
                    return t;
                });
        resources.add(() -> {
            workers.shutdown();
            if (!workers.awaitTermination(10, TimeUnit.SECONDS)) {
                log.warn("registry operations still running after 10 s at shutdown; stopping them");
                workers.shutdownNow();
            }
        });

        // the daemon's own HTTP port is no squatter, even when --port puts it inside a managed range
        Reconciler reconciler = Reconciler.builder(registry)
                .exempt(k -> k.protocol() == Protocol.TCP && listener != null && k.port() == listener.port()).build();
        HealthMonitor monitor = HealthMonitor.builder(registry, loops).interval(config.healthInterval()).initialDelay(Duration.ofMillis(200))
                .executor(workers).expireOverdue(true).reconciler(reconciler).build();
        resources.add(monitor);
        PrometheusMeterRegistry prometheus = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        resources.add(prometheus::close);
        PortsMetrics metrics = PortsMetrics.of(prometheus);
        resources.add(metrics);
        metrics.bindRegistry(registry);
        metrics.bindHealth(monitor);

        Events events = new Events();
        Api api = new Api(registry, monitor, workers, events);
        Dashboard dashboard = new Dashboard(registry, monitor, Clock.systemUTC(), config.historySize());
        Router router = new Router();
        api.routes(router);
        router.add(HttpMethod.GET, "/ports/map", false, dashboard::map)
              .add(HttpMethod.GET, "/ports/events", false, req -> CompletableFuture.completedFuture(Response.stream()))
              .add(HttpMethod.GET, "/metrics", false, req -> CompletableFuture.completedFuture(Response.text(HttpResponseStatus.OK,
                      "text/plain; version=0.0.4; charset=utf-8", prometheus.scrape())))
              .add(HttpMethod.GET, "/", false, dashboard::page);

        RateLimiter limiter = config.rateLimit() == 0 ? null : new RateLimiter(config.rateLimit(), config.burst(), System::nanoTime);
        LinkedHashSet<String> origins = new LinkedHashSet<>();
        config.corsOrigins().forEach(o -> origins.add(DaemonConfig.checkOrigin(o)));
        HttpHandler.Shared shared = new HttpHandler.Shared(config, router, tokens, limiter, new HttpMetrics(metrics), events,
                HttpHandler.loopbackHosts(config.bind()), java.util.Set.copyOf(origins));

        monitor.start();
        dashboard.sample();
        List<ScheduledFuture<?>> schedules = new ArrayList<>();
        schedules.add(loops.next().scheduleWithFixedDelay(dashboard::sample, config.historyInterval().toMillis(),
                config.historyInterval().toMillis(), TimeUnit.MILLISECONDS));
        schedules.add(loops.next().scheduleWithFixedDelay(events::keepAlive, 15, 15, TimeUnit.SECONDS));
        if (limiter != null) {
            schedules.add(loops.next().scheduleWithFixedDelay(limiter::sweep, 30, 30, TimeUnit.SECONDS));
        }
        // after every health round (it may expire records or see strangers) tell the dashboards
        long[] lastRounds = {0};
        schedules.add(loops.next().scheduleWithFixedDelay(() -> {
            long r = monitor.rounds();
            if (r != lastRounds[0]) {
                lastRounds[0] = r;
                events.publish("health", Map.of("status", monitor.current().map(h -> h.status().name()).orElse("UNKNOWN")));
            }
        }, 500, 500, TimeUnit.MILLISECONDS));
        resources.add(() -> schedules.forEach(s -> s.cancel(false)));

        ListenerManager listeners = new ListenerManager(loops);
        resources.add(listeners);
        String address = (config.bind() instanceof Inet6Address ? "[" + config.bind().getHostAddress().replaceAll("%.*", "") + "]"
                : config.bind().getHostAddress()) + ":" + config.port();
        listener = listeners.start(address, ListenerOptions.builder().gracefulTimeout(Duration.ofSeconds(2)).build(),
                HttpHandler.initializer(shared));
        resources.add(() -> listener.stop(Duration.ofSeconds(2)).get(5, TimeUnit.SECONDS));
        resources.add(events::closeAll); // first at close: event streams would hold the graceful stop for its whole timeout
        url = URI.create("http://" + urlHost(config.bind()) + ":" + listener.port());

        daemonFile = dir.resolve(DAEMON_FILE);
        writeDaemonFile(daemonFile, url, ProcessHandle.current().pid());
        log.info("ports daemon listening on {} (data dir {}, {} catalog types)", url, dir, config.catalog().types().size());
    }

    private static String urlHost(InetAddress bind) {
        if (bind.isAnyLocalAddress()) {
            return "127.0.0.1";
        }
        return bind instanceof Inet6Address ? "[" + bind.getHostAddress().replaceAll("%.*", "") + "]" : bind.getHostAddress();
    }

    private static void createDataDir(Path dir) {
        try {
            if (!Files.isDirectory(dir)) {
                Files.createDirectories(dir.getParent() == null ? dir : dir.getParent());
                Files.createDirectory(dir, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
            }
        } catch (java.nio.file.FileAlreadyExistsException raced) {
            // made in between
        } catch (IOException e) {
            throw new PortsException("cannot create the data dir " + dir + ": " + e.getMessage()
                    + ". Choose a writable one with --data-dir or PORTS_DATA_DIR", e);
        }
        if (!Files.isWritable(dir)) {
            throw new PortsException("the data dir " + dir + " is not writable by this user: choose another with --data-dir or PORTS_DATA_DIR");
        }
    }

    private static void writeDaemonFile(Path file, URI url, long pid) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("url", url.toString());
        m.put("pid", pid);
        Path tmp = file.resolveSibling(DAEMON_FILE + ".tmp");
        try {
            Files.write(tmp, JsonCodec.write(m));
            try {
                Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING);
            }
        } catch (IOException e) {
            throw new PortsException("cannot write " + file + ": " + e.getMessage(), e);
        }
    }

    /** Where it listens, for example {@code http://127.0.0.1:8500}. */
    public URI url() {
        return url;
    }

    /** The registry store, as its {@code describe()} says (the file store's directory, or the etcd endpoints and prefix). */
    public String storeDescription() {
        return storeDescription;
    }

    public int port() {
        return listener.port();
    }

    public DaemonConfig config() {
        return config;
    }

    /** Whether this start created the token files (print them once, then). */
    public boolean tokensGenerated() {
        return tokens.generated();
    }

    public String adminToken() {
        return tokens.admin();
    }

    public String readToken() {
        return tokens.read();
    }

    /** Completes when the daemon is closed. */
    public CompletableFuture<Void> closed() {
        return closedFuture;
    }

    /** Stops everything in reverse order of start, once; never throws. */
    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        List<AutoCloseable> rs = new ArrayList<>(resources);
        java.util.Collections.reverse(rs);
        for (AutoCloseable c : rs) {
            try {
                c.close();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } catch (Exception e) {
                log.warn("stopping the daemon: {}", e.toString());
            }
        }
        if (daemonFile != null) {
            try {
                String text = Files.readString(daemonFile, StandardCharsets.UTF_8);
                if (text.contains("\"pid\":" + ProcessHandle.current().pid() + "}") && text.contains(String.valueOf(url))) {
                    Files.deleteIfExists(daemonFile);
                }
            } catch (IOException e) {
                log.debug("daemon.json: {}", e.toString());
            }
        }
        closedFuture.complete(null);
    }
}
