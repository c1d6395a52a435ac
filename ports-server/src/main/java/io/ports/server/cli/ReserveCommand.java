package io.ports.server.cli;

import io.ports.core.AllocationStrategy;
import io.ports.core.PortAllocator;
import io.ports.core.PortLease;
import io.ports.core.PortRange;
import io.ports.core.PortRequest;
import io.ports.core.ServiceType;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * {@code ports reserve}: claims K ports host-wide, all or nothing, prints them at once, and holds
 * them until the hold time passes or the process is stopped (SIGTERM, SIGINT: a shutdown hook
 * releases them).
 */
@Command(name = "reserve",
        sortOptions = false,
        header = "Reserve ports host-wide and hold them.",
        description = {
            "Reserves ports host-wide (all or nothing), prints them as soon as it has them, and holds them until "
                + "the hold time passes or the process is stopped (SIGTERM or Ctrl-C release them).",
            "Other programs using ports with the same lock directory will not get them meanwhile."},
        footer = {"", "Examples:",
            "  ports reserve --range 20000-20999 --count 5 --hold 30s --json",
            "  ports reserve --range 40000-40099 --count 2 --strategy random &"})
final class ReserveCommand implements Callable<Integer> {
    private static final Logger log = LoggerFactory.getLogger(ReserveCommand.class);

    @Spec
    CommandSpec spec;

    @Option(names = "--range", required = true, paramLabel = "RANGE", converter = Converters.Range.class,
            description = "Ports to choose from, START-END inclusive, for example 20000-20999.")
    PortRange range;

    @Option(names = "--count", required = true, paramLabel = "K", converter = Converters.Count.class,
            description = "How many ports to reserve (at least 1).")
    int count;

    @Option(names = "--strategy", paramLabel = "S", defaultValue = "sequential", converter = Converters.Strategy.class,
            description = "How to walk the range: sequential, random or hash (default: ${DEFAULT-VALUE}).")
    AllocationStrategy strategy;

    @Option(names = "--hold", paramLabel = "DURATION", converter = Converters.Hold.class,
            description = "How long to hold the ports: 500ms, 30s, 5m, 1h, 1h30m, or plain seconds (default: until stopped).")
    Duration hold;

    @Option(names = "--json", description = "Print one JSON line instead of one port per line.")
    boolean json;

    @Option(names = "--lock-dir", paramLabel = "DIR",
            description = "Directory of the host-wide lock file (default: -Dports.lock.dir, $PORTS_LOCK_DIR, or /tmp/ports-locks).")
    Path lockDir;

    @Option(names = "--service", paramLabel = "NAME", defaultValue = "ports-cli", converter = Converters.Service.class,
            description = "Service name the ports are reserved for; also the key of the hash strategy (default: ${DEFAULT-VALUE}).")
    String service;

    @Override
    public Integer call() {
        if (range.includesPrivileged()) {
            throw new ParameterException(spec.commandLine(), "range " + range
                    + " includes privileged ports (below 1024): choose a range within 1024-65535");
        }
        if (count > range.size()) {
            throw new ParameterException(spec.commandLine(), "cannot reserve " + count + " ports from range " + range
                    + ", which has " + range.size());
        }
        PortAllocator.Builder builder = PortAllocator.builder().strategy(strategy);
        if (lockDir != null) {
            builder.lockDirectory(lockDir);
        }
        Hold holding = new Hold(builder.build());
        Thread hook = new Thread(holding::release, "ports-release");
        Runtime.getRuntime().addShutdownHook(hook);
        try {
            List<PortRequest> requests = new ArrayList<>(count);
            for (int i = 0; i < count; i++) {
                requests.add(PortRequest.builder(service, ServiceType.CUSTOM).range(range).strategy(strategy).build());
            }
            List<PortLease> leases = holding.allocator.allocateAll(requests);
            print(leases, holding.allocator);
            if (!holding.await(hold)) {
                Thread.currentThread().interrupt();
            }
            return Main.OK;
        } finally {
            holding.release();
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException shuttingDown) {
                // the hook is running or has run
            }
        }
    }

    private void print(List<PortLease> leases, PortAllocator allocator) {
        PrintWriter out = spec.commandLine().getOut();
        List<Integer> ports = leases.stream().map(PortLease::port).sorted().toList();
        if (json) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("ports", ports);
            m.put("range", range.toString());
            m.put("strategy", strategy.name().toLowerCase(Locale.ROOT));
            m.put("pid", ProcessHandle.current().pid());
            m.put("lock_file", allocator.hostReservations().map(h -> h.lockFile().toString()).orElse(null));
            m.put("hold", hold == null ? null : Durations.format(hold));
            out.println(Json.line(m));
        } else {
            for (int p : ports) {
                out.println(p);
            }
        }
        out.flush();
        if (!json && System.console() != null) {
            PrintWriter err = spec.commandLine().getErr();
            err.println("holding " + ports.size() + (ports.size() == 1 ? " port " : " ports ")
                    + (hold == null ? "until stopped" : "for " + Durations.format(hold)) + " (pid " + ProcessHandle.current().pid()
                    + "); Ctrl-C releases " + (ports.size() == 1 ? "it" : "them"));
            err.flush();
        }
        log.info("holding {} in {} for '{}' ({})", ports, range, service, hold == null ? "until stopped" : Durations.format(hold));
    }

    /** The allocator and its release, which the hold's end, an error and the shutdown hook may each call first. */
    private static final class Hold {
        final PortAllocator allocator;
        private final AtomicBoolean released = new AtomicBoolean();
        private final CountDownLatch done = new CountDownLatch(1);

        Hold(PortAllocator allocator) {
            this.allocator = allocator;
        }

        /** Waits until {@code hold} passes (forever when null) or the ports are released; false when interrupted. */
        boolean await(Duration hold) {
            try {
                if (hold == null) {
                    done.await();
                } else {
                    done.await(hold.toNanos(), TimeUnit.NANOSECONDS);
                }
                return true;
            } catch (InterruptedException e) {
                return false;
            }
        }

        void release() {
            if (released.compareAndSet(false, true)) {
                try {
                    allocator.close();
                    log.info("released the reserved ports");
                } finally {
                    done.countDown();
                }
            }
        }
    }
}
