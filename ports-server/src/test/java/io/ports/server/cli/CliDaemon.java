package io.ports.server.cli;

import io.ports.server.testsupport.TestPorts;
import io.ports.core.PortRange;
import io.ports.core.ServiceCatalog;
import io.ports.core.ServiceType;
import io.ports.server.daemon.Daemon;
import io.ports.server.daemon.DaemonConfig;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.function.UnaryOperator;

/**
 * A real registry daemon in this JVM for the command-line tests: listening on a free loopback port,
 * with its own data dir and lock dir under {@link #root} (deleted by {@link #close}), and a catalog
 * over ranges that probe free right now, so that no test touches the ports other programs of this
 * host use: {@code db} (10 ports, default port its first), {@code web} (10 ports, no default) and
 * {@code tiny} (1 port, to exhaust). No background health round interferes (its interval is an hour).
 */
final class CliDaemon implements AutoCloseable {
    final Path root;
    final Path dataDir;
    final PortRange dbRange;
    final PortRange webRange;
    final PortRange tinyRange;
    final DaemonConfig config;
    private Daemon daemon;

    CliDaemon(UnaryOperator<DaemonConfig> tweak) throws IOException {
        root = Cli.tempDir("ports-cli-daemon");
        dataDir = root.resolve("data");
        PortRange[] r = TestPorts.freeRanges(10, 10, 1);
        dbRange = r[0];
        webRange = r[1];
        tinyRange = r[2];
        ServiceCatalog catalog = ServiceCatalog.empty()
                .with(ServiceType.tcp("db", dbRange.start(), dbRange, "test databases"))
                .with(ServiceType.tcp("web", 0, webRange, "test web services"))
                .with(ServiceType.tcp("tiny", 0, tinyRange, "a range of one port"));
        config = tweak.apply(DaemonConfig.defaults(dataDir).withPort(0).withRateLimit(0, 0).withCatalog(catalog)
                .withLockDirectory(root.resolve("locks")).withIntervals(Duration.ofHours(1), Duration.ofHours(1)));
        try {
            daemon = Daemon.start(config);
        } catch (RuntimeException e) {
            Cli.deleteTree(root);
            throw e;
        }
    }

    CliDaemon() throws IOException {
        this(c -> c);
    }

    String url() {
        return daemon.url().toString().replaceAll("/$", "");
    }

    String adminToken() {
        return daemon.adminToken();
    }

    String readToken() {
        return daemon.readToken();
    }

    /** Stops the daemon cleanly (its store closed, daemon.json removed) and starts it again on the same data dir, on a new free port. */
    void restart() {
        daemon.close();
        daemon = Daemon.start(config);
    }

    /** Stops the daemon, keeping its data dir (for a test that needs nothing listening). */
    void stop() {
        daemon.close();
    }

    @Override
    public void close() {
        try {
            daemon.close();
        } finally {
            Cli.deleteTree(root);
        }
    }

}
