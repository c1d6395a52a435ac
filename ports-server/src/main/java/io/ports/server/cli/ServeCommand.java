package io.ports.server.cli;

import io.ports.server.daemon.Daemon;
import io.ports.server.daemon.DaemonConfig;
import picocli.CommandLine.Command;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.TypeConversionException;

import java.io.PrintWriter;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;

/**
 * {@code ports serve}: runs the registry daemon in the foreground until SIGTERM or Ctrl-C, which close
 * it cleanly (the store closed, {@code daemon.json} removed).
 */
@Command(name = "serve",
        sortOptions = false,
        header = "Run the registry daemon: REST API, dashboard, /metrics.",
        description = {
            "Runs the port registry daemon on its embedded file store until stopped (SIGTERM or Ctrl-C stop it cleanly).",
            "Listens on loopback by default, where reads are open; every POST needs the admin token, and on any other "
                + "address reads need a token too. The tokens are generated at the first start into the data dir "
                + "(owner-only files) and printed once."},
        footer = {"", "Examples:",
            "  ports serve",
            "  ports serve --port 8600 --data-dir /var/lib/ports",
            "  ports serve --bind 0.0.0.0 --cors-origin https://ops.example.com --rate-limit 200",
            "", "Exit codes: 1 could not start (port taken, data dir unusable), 2 bad arguments, 130/143 stopped by Ctrl-C/SIGTERM (after a clean shutdown)."})
final class ServeCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--port", paramLabel = "P", defaultValue = "8500", converter = ListenPort.class,
            description = "TCP port to listen on, 1-65535, or 0 for any free one (default: ${DEFAULT-VALUE}).")
    int port;

    @Option(names = "--bind", paramLabel = "ADDR", defaultValue = "127.0.0.1", converter = BindAddress.class,
            description = "IP address to listen on (default: ${DEFAULT-VALUE}); 0.0.0.0 or :: for every address.")
    InetAddress bind;

    @Option(names = "--data-dir", paramLabel = "DIR",
            description = "Where the store, the tokens and daemon.json live (default: $PORTS_DATA_DIR, else ~/.ports).")
    Path dataDir;

    @Option(names = "--cors-origin", paramLabel = "ORIGIN", converter = Origin.class,
            description = "Allow browser calls from this origin (scheme://host[:port]); repeat for several. Default: CORS off.")
    List<String> corsOrigins = new ArrayList<>();

    @Option(names = "--rate-limit", paramLabel = "N", defaultValue = "50", converter = Rate.class,
            description = "Requests per second per client address, with a burst of twice that; 0 turns limiting off (default: ${DEFAULT-VALUE}).")
    int rateLimit;

    @Option(names = "--heartbeat-timeout", paramLabel = "DURATION", defaultValue = "30s", converter = Converters.Hold.class,
            description = "How long an allocation may go without a heartbeat before it expires: 30s, 5m, 1h, 1s to 1 day "
                    + "(default: ${DEFAULT-VALUE}).")
    java.time.Duration heartbeatTimeout;

    @Option(names = "--lock-dir", paramLabel = "DIR",
            description = "Directory of the host-wide lock file (default: -Dports.lock.dir, $PORTS_LOCK_DIR, or /tmp/ports-locks).")
    Path lockDir;

    @Override
    public Integer call() throws InterruptedException {
        Path dir = dataDir != null ? dataDir : DaemonConfig.defaultDataDir();
        DaemonConfig config = DaemonConfig.defaults(dir).withBind(bind).withPort(port).withCorsOrigins(corsOrigins)
                .withRateLimit(rateLimit, Math.max(1, 2 * rateLimit)).withLockDirectory(lockDir);
        try {
            config = config.withHeartbeatTimeout(heartbeatTimeout);
        } catch (IllegalArgumentException e) {
            throw new picocli.CommandLine.ParameterException(spec.commandLine(), "invalid --heartbeat-timeout '" + heartbeatTimeout.toSeconds()
                    + "s': expected 1s to 1 day, for example 30s or 5m");
        }
        Daemon daemon = Daemon.start(config);
        Thread hook = new Thread(() -> {
            daemon.close();
            System.err.println("ports: daemon stopped");
        }, "ports-serve-shutdown");
        Runtime.getRuntime().addShutdownHook(hook);
        PrintWriter out = spec.commandLine().getOut();
        Path abs = dir.toAbsolutePath().normalize();
        out.println("ports daemon listening on " + daemon.url() + " (data dir " + abs + ")");
        if (daemon.tokensGenerated()) {
            out.println("admin token (in " + abs.resolve("admin.token") + ", shown only now): " + daemon.adminToken());
            out.println("read-only token (in " + abs.resolve("read.token") + ", shown only now): " + daemon.readToken());
        }
        if (!config.openReads()) {
            out.println("listening beyond loopback: reads need a token too");
        }
        out.flush();
        try {
            daemon.closed().get();
        } catch (ExecutionException e) {
            return Main.FAILURE;
        }
        return Main.OK;
    }

    static final class ListenPort implements ITypeConverter<Integer> {
        @Override
        public Integer convert(String value) {
            if (value == null || !value.strip().matches("[0-9]{1,5}") || Integer.parseInt(value.strip()) > 65535) {
                throw new TypeConversionException("invalid port '" + value + "': expected 1-65535, or 0 for any free port");
            }
            return Integer.parseInt(value.strip());
        }
    }

    static final class BindAddress implements ITypeConverter<InetAddress> {
        @Override
        public InetAddress convert(String value) {
            String v = value == null ? "" : value.strip();
            if (v.equals("localhost")) {
                return InetAddress.getLoopbackAddress();
            }
            String literal = v.startsWith("[") && v.endsWith("]") ? v.substring(1, v.length() - 1) : v;
            // only IP literals: a host name would be resolved (and could change) behind the user's back
            if (!literal.matches("[0-9]{1,3}(\\.[0-9]{1,3}){3}") && !(literal.contains(":") && literal.matches("[0-9A-Fa-f:.]+"))) {
                throw new TypeConversionException("invalid bind address '" + value + "': expected an IP address such as 127.0.0.1, ::1, "
                        + "0.0.0.0 or ::, or localhost");
            }
            try {
                return InetAddress.getByName(literal);
            } catch (UnknownHostException e) {
                throw new TypeConversionException("invalid bind address '" + value + "': expected an IP address such as 127.0.0.1, ::1, "
                        + "0.0.0.0 or ::, or localhost");
            }
        }
    }

    static final class Origin implements ITypeConverter<String> {
        @Override
        public String convert(String value) {
            return Converters.convert(value, v -> {
                // the same check the daemon makes, so a bad origin is a usage error (exit 2)
                return DaemonConfig.defaults(Path.of(".")).withCorsOrigins(List.of(v)).corsOrigins().get(0);
            });
        }
    }

    static final class Rate implements ITypeConverter<Integer> {
        @Override
        public Integer convert(String value) {
            if (value == null || !value.strip().matches("[0-9]{1,7}") || Integer.parseInt(value.strip()) > 1_000_000) {
                throw new TypeConversionException("invalid rate limit '" + value + "': expected requests per second per client, "
                        + "1-1000000, or 0 for no limit");
            }
            return Integer.parseInt(value.strip());
        }
    }
}
