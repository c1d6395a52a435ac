package io.ports.server.daemon;

import io.ports.core.ServiceCatalog;

import java.net.InetAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * How a {@link Daemon} runs. Validated here: a bad value is an {@link IllegalArgumentException} that names
 * the setting and the valid form.
 *
 * @param bind               address to listen on; loopback (the default) keeps reads open, anything else needs tokens for reads too
 * @param port               TCP port, 0 for any free one (the chosen port is in {@link Daemon#url()} and {@code daemon.json})
 * @param dataDir            where the store ({@code registry/}), the tokens and {@code daemon.json} live
 * @param corsOrigins        origins allowed to call the API from a browser ({@code https://ops.example:8443}); empty: CORS off
 * @param rateLimit          requests per second per client address, 0 for no limit
 * @param burst              requests a client may make at once before the rate applies (at least 1 when limited)
 * @param maxRequestBytes    largest request body; larger gets 413
 * @param idleTimeout        a connection that sends nothing for this long is closed (server-sent event streams excepted)
 * @param requestTimeout     a request must arrive completely within this time from its first byte, or gets 408
 * @param workers            threads that run registry operations which write to disk (never the event loops)
 * @param healthInterval     how often the health round (reconcile, exhaustion, expiry of overdue records) runs
 * @param historyInterval    how often pool utilization is sampled for the dashboard
 * @param historySize        how many samples are kept
 * @param catalog            the service types; default {@link ServiceCatalog#defaults()}
 * @param lockDirectory      the host-wide lock directory of the allocator, or null for the default
 *                           ({@code -Dports.lock.dir}, {@code PORTS_LOCK_DIR}, {@code /tmp/ports-locks})
 * @param heartbeatTimeout   how long an allocation may go without a heartbeat before it expires (1 s to 1 day)
 */
public record DaemonConfig(InetAddress bind, int port, Path dataDir, List<String> corsOrigins, int rateLimit, int burst,
                           int maxRequestBytes, Duration idleTimeout, Duration requestTimeout, int workers, Duration healthInterval,
                           Duration historyInterval, int historySize, ServiceCatalog catalog, Path lockDirectory,
                           Duration heartbeatTimeout) {
    /** Default TCP port. */
    public static final int DEFAULT_PORT = 8500;
    /** Default requests per second per client. */
    public static final int DEFAULT_RATE_LIMIT = 50;
    /** Environment variable naming the data directory. */
    public static final String DATA_DIR_ENV = "PORTS_DATA_DIR";

    private static final Pattern ORIGIN = Pattern.compile("https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?|https?://\\[[0-9A-Fa-f:.]+\\](:[0-9]{1,5})?");

    public DaemonConfig {
        Objects.requireNonNull(bind, "bind address");
        if (port < 0 || port > 65535) {
            throw new IllegalArgumentException("port " + port + " is out of range: expected 1-65535, or 0 for any free port");
        }
        Objects.requireNonNull(dataDir, "data dir");
        corsOrigins = List.copyOf(corsOrigins == null ? List.of() : corsOrigins);
        for (String o : corsOrigins) {
            checkOrigin(o);
        }
        if (rateLimit < 0 || rateLimit > 1_000_000) {
            throw new IllegalArgumentException("rate limit " + rateLimit + " is out of range: expected requests per second per client, 1-1000000, or 0 for no limit");
        }
        if (rateLimit > 0 && (burst < 1 || burst > 10_000_000)) {
            throw new IllegalArgumentException("burst " + burst + " is out of range: expected 1-10000000");
        }
        if (maxRequestBytes < 256 || maxRequestBytes > 16 << 20) {
            throw new IllegalArgumentException("request size limit " + maxRequestBytes + " is out of range: expected 256 bytes to 16 MiB");
        }
        positive(idleTimeout, "idle timeout");
        positive(requestTimeout, "request timeout");
        if (workers < 1 || workers > 256) {
            throw new IllegalArgumentException("workers " + workers + " is out of range: expected 1-256");
        }
        positive(healthInterval, "health interval");
        positive(historyInterval, "history interval");
        if (historySize < 2 || historySize > 100_000) {
            throw new IllegalArgumentException("history size " + historySize + " is out of range: expected 2-100000");
        }
        catalog = catalog == null ? ServiceCatalog.defaults() : catalog;
        positive(heartbeatTimeout, "heartbeat timeout");
        if (heartbeatTimeout.compareTo(Duration.ofSeconds(1)) < 0 || heartbeatTimeout.compareTo(Duration.ofDays(1)) > 0) {
            throw new IllegalArgumentException("heartbeat timeout " + heartbeatTimeout + " is out of range: expected 1s to 1 day");
        }
    }

    /** The defaults: 127.0.0.1:8500, the given data dir, CORS off, 50 requests/s with a burst of 100. */
    public static DaemonConfig defaults(Path dataDir) {
        return new DaemonConfig(InetAddress.getLoopbackAddress(), DEFAULT_PORT, dataDir, List.of(), DEFAULT_RATE_LIMIT, 2 * DEFAULT_RATE_LIMIT,
                64 * 1024, Duration.ofSeconds(60), Duration.ofSeconds(10), 8, Duration.ofSeconds(10), Duration.ofSeconds(10), 360, null, null,
                Duration.ofSeconds(30));
    }

    /** {@code PORTS_DATA_DIR}, else {@code ~/.ports}. */
    public static Path defaultDataDir() {
        String env = System.getenv(DATA_DIR_ENV);
        if (env != null && !env.isBlank()) {
            return Path.of(env);
        }
        return Path.of(System.getProperty("user.home"), ".ports");
    }

    /** Whether reads are open (the daemon listens on loopback only). */
    public boolean openReads() {
        return bind.isLoopbackAddress();
    }

    static String checkOrigin(String origin) {
        if (origin == null || !ORIGIN.matcher(origin).matches()) {
            throw new IllegalArgumentException("CORS origin '" + origin + "' is invalid: expected scheme://host[:port] with http or https and no path, "
                    + "for example https://ops.example.com:8443");
        }
        return origin.toLowerCase(Locale.ROOT);
    }

    private static void positive(Duration d, String what) {
        Objects.requireNonNull(d, what);
        if (d.isNegative() || d.isZero()) {
            throw new IllegalArgumentException(what + " " + d + " must be positive");
        }
    }

    public DaemonConfig withBind(InetAddress a) {
        return new DaemonConfig(a, port, dataDir, corsOrigins, rateLimit, burst, maxRequestBytes, idleTimeout, requestTimeout, workers,
                healthInterval, historyInterval, historySize, catalog, lockDirectory, heartbeatTimeout);
    }

    public DaemonConfig withPort(int p) {
        return new DaemonConfig(bind, p, dataDir, corsOrigins, rateLimit, burst, maxRequestBytes, idleTimeout, requestTimeout, workers,
                healthInterval, historyInterval, historySize, catalog, lockDirectory, heartbeatTimeout);
    }

    public DaemonConfig withCorsOrigins(List<String> origins) {
        return new DaemonConfig(bind, port, dataDir, origins, rateLimit, burst, maxRequestBytes, idleTimeout, requestTimeout, workers,
                healthInterval, historyInterval, historySize, catalog, lockDirectory, heartbeatTimeout);
    }

    /** {@code perSecond} requests per second per client with a burst of {@code burst}; 0 turns limiting off. */
    public DaemonConfig withRateLimit(int perSecond, int burstSize) {
        return new DaemonConfig(bind, port, dataDir, corsOrigins, perSecond, burstSize, maxRequestBytes, idleTimeout, requestTimeout, workers,
                healthInterval, historyInterval, historySize, catalog, lockDirectory, heartbeatTimeout);
    }

    public DaemonConfig withMaxRequestBytes(int bytes) {
        return new DaemonConfig(bind, port, dataDir, corsOrigins, rateLimit, burst, bytes, idleTimeout, requestTimeout, workers,
                healthInterval, historyInterval, historySize, catalog, lockDirectory, heartbeatTimeout);
    }

    public DaemonConfig withTimeouts(Duration idle, Duration request) {
        return new DaemonConfig(bind, port, dataDir, corsOrigins, rateLimit, burst, maxRequestBytes, idle, request, workers,
                healthInterval, historyInterval, historySize, catalog, lockDirectory, heartbeatTimeout);
    }

    public DaemonConfig withIntervals(Duration health, Duration history) {
        return new DaemonConfig(bind, port, dataDir, corsOrigins, rateLimit, burst, maxRequestBytes, idleTimeout, requestTimeout, workers,
                health, history, historySize, catalog, lockDirectory, heartbeatTimeout);
    }

    public DaemonConfig withCatalog(ServiceCatalog c) {
        return new DaemonConfig(bind, port, dataDir, corsOrigins, rateLimit, burst, maxRequestBytes, idleTimeout, requestTimeout, workers,
                healthInterval, historyInterval, historySize, c, lockDirectory, heartbeatTimeout);
    }

    public DaemonConfig withLockDirectory(Path dir) {
        return new DaemonConfig(bind, port, dataDir, corsOrigins, rateLimit, burst, maxRequestBytes, idleTimeout, requestTimeout, workers,
                healthInterval, historyInterval, historySize, catalog, dir, heartbeatTimeout);
    }

    public DaemonConfig withHeartbeatTimeout(Duration timeout) {
        return new DaemonConfig(bind, port, dataDir, corsOrigins, rateLimit, burst, maxRequestBytes, idleTimeout, requestTimeout, workers,
                healthInterval, historyInterval, historySize, catalog, lockDirectory, timeout);
    }
}
