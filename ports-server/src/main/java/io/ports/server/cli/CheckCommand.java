package io.ports.server.cli;

import io.ports.core.BindProbe;
import io.ports.core.HostReservations;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

/** {@code ports check PORT...}: is each port free, reserved through ports, or in use (and by whom)? */
@Command(name = "check",
        sortOptions = false,
        header = "Tell whether ports are free, reserved or in use, and by whom.",
        description = {
            "Tells for each port whether it is free, reserved through ports (naming the holder), or in use "
                + "(naming the sockets and their processes where Linux tells).",
            "Exits 0 when every port is free, 1 when any is not."},
        footer = {"", "Example:", "  ports check 5432 8080 20000"})
final class CheckCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Parameters(arity = "1..*", paramLabel = "PORT", converter = Converters.Port.class, description = "Ports to check, 1-65535.")
    List<Integer> ports;

    @Option(names = "--json", description = "Print one JSON line.")
    boolean json;

    @Option(names = "--lock-dir", paramLabel = "DIR",
            description = "Directory of the host-wide lock file (default: -Dports.lock.dir, $PORTS_LOCK_DIR, or /tmp/ports-locks).")
    Path lockDir;

    @Override
    public Integer call() {
        List<PortStatus> statuses = new ArrayList<>();
        Path dir = lockDir != null ? lockDir : HostReservations.defaultDirectory();
        try (HostReservations host = HostReservations.open(dir)) {
            PortStatus.Inspector inspector = new PortStatus.Inspector(host, BindProbe.wildcard());
            for (int port : new LinkedHashSet<>(ports)) {
                statuses.add(inspector.inspect(port));
            }
            statuses = PortStatus.Inspector.withOwners(statuses);
        }
        boolean allFree = statuses.stream().allMatch(PortStatus::isFree);
        PrintWriter out = spec.commandLine().getOut();
        if (json) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("ports", statuses.stream().map(PortStatus::toJson).toList());
            m.put("all_free", allFree);
            out.println(Json.line(m));
        } else {
            for (PortStatus s : statuses) {
                out.println(s.port() + " " + s.describe());
            }
        }
        out.flush();
        return allFree ? Main.OK : Main.FAILURE;
    }
}
