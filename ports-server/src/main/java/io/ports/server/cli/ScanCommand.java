package io.ports.server.cli;

import io.ports.core.BindProbe;
import io.ports.core.HostReservations;
import io.ports.core.PortRange;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.function.BooleanSupplier;

/** {@code ports scan RANGE}: every port of a range, summarised, with the free ones compacted and the used ones named. */
@Command(name = "scan",
        sortOptions = false,
        header = "Scan a range: counts, free ranges, and who holds the rest.",
        description = {
            "Checks every port of a range and prints how many are free, in use and reserved, the free ports "
                + "as ranges, and each used port with its owner.",
            "Shows a progress bar on stderr when run on a terminal."},
        footer = {"", "Example:", "  ports scan 20000-20999"})
final class ScanCommand implements Callable<Integer> {
    /** Whether to draw the progress bar; a terminal by default (tests replace it). */
    static volatile BooleanSupplier interactive = () -> System.console() != null;
    /** The least time between two drawings of the bar (tests set 0 to see every step of a short scan). */
    static volatile long progressIntervalNanos = Progress.INTERVAL_NANOS;

    @Spec
    CommandSpec spec;

    @Parameters(index = "0", paramLabel = "RANGE", converter = Converters.Range.class,
            description = "Ports to scan, START-END inclusive (or one PORT).")
    PortRange range;

    @Option(names = "--json", description = "Print one JSON line.")
    boolean json;

    @Option(names = "--lock-dir", paramLabel = "DIR",
            description = "Directory of the host-wide lock file (default: -Dports.lock.dir, $PORTS_LOCK_DIR, or /tmp/ports-locks).")
    Path lockDir;

    @Override
    public Integer call() {
        List<PortStatus> statuses = new ArrayList<>(range.size());
        Path dir = lockDir != null ? lockDir : HostReservations.defaultDirectory();
        Progress progress = new Progress(spec.commandLine().getErr(), "scanning " + range, range.size(), interactive.getAsBoolean(),
                progressIntervalNanos);
        try (HostReservations host = HostReservations.open(dir)) {
            PortStatus.Inspector inspector = new PortStatus.Inspector(host, BindProbe.wildcard());
            int done = 0;
            for (int port = range.start(); port <= range.end(); port++) {
                statuses.add(inspector.inspect(port));
                progress.update(++done);
            }
        } finally {
            progress.finish();
        }
        statuses = PortStatus.Inspector.withOwners(statuses);

        Map<PortStatus.State, Integer> counts = new EnumMap<>(PortStatus.State.class);
        for (PortStatus s : statuses) {
            counts.merge(s.state(), 1, Integer::sum);
        }
        List<String> free = compact(statuses);
        List<PortStatus> used = statuses.stream().filter(s -> !s.isFree()).toList();
        int free0 = counts.getOrDefault(PortStatus.State.FREE, 0);
        int inUse = counts.getOrDefault(PortStatus.State.IN_USE, 0);
        int reserved = counts.getOrDefault(PortStatus.State.RESERVED, 0);
        int other = statuses.size() - free0 - inUse - reserved;

        PrintWriter out = spec.commandLine().getOut();
        if (json) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("range", range.toString());
            m.put("size", range.size());
            m.put("free", free0);
            m.put("in_use", inUse);
            m.put("reserved", reserved);
            m.put("other", other);
            m.put("free_ranges", free);
            m.put("used", used.stream().map(PortStatus::toJson).toList());
            out.println(Json.line(m));
        } else {
            out.println(range + ": " + range.size() + (range.size() == 1 ? " port, " : " ports, ") + free0 + " free, " + inUse + " in use, "
                    + reserved + " reserved" + (other > 0 ? ", " + other + " unavailable" : ""));
            out.println("free: " + (free.isEmpty() ? "none" : String.join(", ", free)));
            if (!used.isEmpty()) {
                out.println("used:");
                for (PortStatus s : used) {
                    out.println("  " + s.port() + " " + s.describe());
                }
            }
        }
        out.flush();
        return Main.OK;
    }

    /** The free ports as ranges, in order: "20000-20004", "20006", "20008-20999". */
    static List<String> compact(List<PortStatus> statuses) {
        List<String> ranges = new ArrayList<>();
        int start = -1;
        int prev = -2;
        for (PortStatus s : statuses) {
            if (!s.isFree()) {
                continue;
            }
            if (s.port() != prev + 1) {
                if (start >= 0) {
                    ranges.add(PortRange.of(start, prev).toString());
                }
                start = s.port();
            }
            prev = s.port();
        }
        if (start >= 0) {
            ranges.add(PortRange.of(start, prev).toString());
        }
        return ranges;
    }
}
