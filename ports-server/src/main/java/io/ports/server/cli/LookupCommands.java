package io.ports.server.cli;

import com.fasterxml.jackson.databind.JsonNode;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/** The commands that read the daemon's registry: {@code list}, {@code overview}, {@code service}, {@code port}, {@code type}, {@code stats}, {@code ranges}, {@code health}. */
final class LookupCommands {
    private LookupCommands() {
    }

    /** A lookup whose answer is a list of allocations. */
    abstract static class AllocationsCommand extends DaemonCommand {
        @Override
        int render(JsonNode answer, PrintWriter out) {
            Tables.allocations(out, Tables.allocationsIn(answer));
            return Main.OK;
        }
    }

    @Command(name = "list", sortOptions = false,
            header = "List every allocation of the daemon's registry.",
            description = "Prints the registry's directory (GET /ports/directory): port, service, type, status, process, host, heartbeat age and id.",
            footer = {"", "Example:", "  ports list", "  ports list --json | jq '.'"})
    static final class ListCommand extends AllocationsCommand {
        @Override
        JsonNode request(DaemonClient client) {
            return client.get("/ports/directory");
        }
    }

    @Command(name = "service", sortOptions = false,
            header = "Show the allocations of one service.",
            description = "Prints the allocations of service NAME (GET /ports/service/NAME). Exits 1 when the daemon knows no such service.",
            footer = {"", "Example:", "  ports service orders-db"})
    static final class ServiceCommand extends AllocationsCommand {
        @Parameters(index = "0", paramLabel = "NAME", converter = Converters.Service.class, description = "The service name.")
        String name;

        @Override
        JsonNode request(DaemonClient client) {
            return client.get("/ports/service/" + segment(name));
        }
    }

    @Command(name = "port", sortOptions = false,
            header = "Show who holds one port in the registry.",
            description = "Prints the allocation of port N (GET /ports/port/N). Exits 1 when no allocation holds it.",
            footer = {"", "Example:", "  ports port 5432"})
    static final class PortCommand extends AllocationsCommand {
        @Parameters(index = "0", paramLabel = "N", converter = Converters.Port.class, description = "The port, 1-65535.")
        int port;

        @Override
        JsonNode request(DaemonClient client) {
            return client.get("/ports/port/" + port);
        }
    }

    @Command(name = "type", sortOptions = false,
            header = "Show the allocations of one service type.",
            description = "Prints the allocations of service type T (GET /ports/type/T), for example DATABASE or rest-api.",
            footer = {"", "Example:", "  ports type DATABASE"})
    static final class TypeCommand extends AllocationsCommand {
        @Parameters(index = "0", paramLabel = "T", converter = Converters.TypeName.class, description = "The service type.")
        String type;

        @Override
        JsonNode request(DaemonClient client) {
            return client.get("/ports/type/" + segment(type));
        }
    }

    @Command(name = "overview", sortOptions = false,
            header = "Show the registry at a glance: counts, then every allocation.",
            description = "Prints the counts by status and type, then the allocations (GET /ports/overview).",
            footer = {"", "Example:", "  ports overview"})
    static final class OverviewCommand extends DaemonCommand {
        @Override
        JsonNode request(DaemonClient client) {
            return client.get("/ports/overview");
        }

        @Override
        int render(JsonNode answer, PrintWriter out) {
            JsonNode stats = answer.get("stats");
            if (stats != null && stats.isObject()) {
                out.println(StatsCommand.summary(stats));
            }
            Tables.allocations(out, Tables.allocationsIn(answer));
            return Main.OK;
        }
    }

    @Command(name = "stats", sortOptions = false,
            header = "Show the registry's counts by status and by service type.",
            description = "Prints how many allocations are active, reserved, expired and released, and the live ones per type (GET /ports/stats).",
            footer = {"", "Example:", "  ports stats"})
    static final class StatsCommand extends DaemonCommand {
        @Override
        JsonNode request(DaemonClient client) {
            return client.get("/ports/stats");
        }

        @Override
        int render(JsonNode answer, PrintWriter out) {
            JsonNode stats = answer.has("stats") && answer.get("stats").isObject() ? answer.get("stats") : answer;
            if (stats.has("total")) {
                out.println(summary(stats));
                JsonNode perType = stats.get("per_type");
                if (perType != null && perType.isObject() && !perType.isEmpty()) {
                    List<List<String>> rows = new ArrayList<>();
                    perType.fields().forEachRemaining(e -> rows.add(List.of(e.getKey(), e.getValue().asText())));
                    Tables.print(out, List.of("TYPE", "ALLOCATIONS"), rows);
                }
            } else {
                Tables.fields(out, stats, "");
            }
            return Main.OK;
        }

        /** "12 allocations: 8 active, 2 reserved, 1 expired, 1 released". */
        static String summary(JsonNode stats) {
            StringBuilder b = new StringBuilder();
            int total = stats.path("total").asInt();
            b.append(total).append(total == 1 ? " allocation" : " allocations");
            String sep = ": ";
            for (String s : new String[] {"active", "reserved", "expired", "released"}) {
                if (stats.has(s)) {
                    b.append(sep).append(stats.get(s).asInt()).append(' ').append(s);
                    sep = ", ";
                }
            }
            return b.toString();
        }
    }

    @Command(name = "ranges", sortOptions = false,
            header = "Show each service type's port range and how full it is.",
            description = "Prints each type's range, size, live allocations, utilization and default port (GET /ports/ranges).",
            footer = {"", "Example:", "  ports ranges"})
    static final class RangesCommand extends DaemonCommand {
        @Override
        JsonNode request(DaemonClient client) {
            return client.get("/ports/ranges");
        }

        @Override
        int render(JsonNode answer, PrintWriter out) {
            JsonNode ranges = answer.isArray() ? answer : answer.path("ranges");
            if (!ranges.isArray()) {
                Tables.fields(out, answer, "");
                return Main.OK;
            }
            List<List<String>> rows = new ArrayList<>();
            for (JsonNode r : ranges) {
                int size = r.path("size").asInt();
                int used = r.path("used").asInt();
                String util = size == 0 ? "" : String.format(Locale.ROOT, "%.1f%%", 100.0 * used / size);
                rows.add(List.of(Tables.text(r, "service_type"), Tables.text(r, "range"), Tables.text(r, "size"), Tables.text(r, "used"),
                        util, Tables.text(r, "default_port")));
            }
            if (rows.isEmpty()) {
                out.println("no ranges");
            } else {
                Tables.print(out, List.of("TYPE", "RANGE", "SIZE", "USED", "UTIL", "DEFAULT"), rows);
            }
            return Main.OK;
        }
    }

    @Command(name = "health", sortOptions = false,
            header = "Show the registry's health: UP, DEGRADED or DOWN, with the reasons and findings.",
            description = {"Prints the daemon's health report (GET /ports/health).",
                "Exits 0 when UP, 1 when DEGRADED or DOWN (with --json as well), so that scripts and monitors can test it."},
            footer = {"", "Example:", "  ports health || echo 'look at the findings'"})
    static final class HealthCommand extends DaemonCommand {
        @Override
        JsonNode request(DaemonClient client) {
            return client.get("/ports/health");
        }

        @Override
        int render(JsonNode answer, PrintWriter out) {
            if (!answer.has("status")) {
                Tables.fields(out, answer, "");
                return exitCode(answer);
            }
            String checked = Tables.text(answer, "checked_at");
            out.println("health: " + Tables.text(answer, "status") + (checked.isEmpty() ? "" : " (checked " + Tables.age(answer.get("checked_at")) + ")"));
            JsonNode reasons = answer.path("reasons");
            reasons.forEach(r -> out.println("  - " + r.asText()));
            JsonNode ranges = answer.path("ranges");
            if (ranges.isArray() && !ranges.isEmpty()) {
                out.println();
                List<List<String>> rows = new ArrayList<>();
                for (JsonNode r : ranges) {
                    List<String> types = new ArrayList<>();
                    r.path("types").forEach(t -> types.add(t.asText()));
                    JsonNode rate = r.get("allocations_per_minute");
                    JsonNode full = r.get("time_to_exhaustion_seconds");
                    rows.add(List.of(Tables.text(r, "range"), String.join(",", types), Tables.text(r, "size"), Tables.text(r, "used"),
                            String.format(Locale.ROOT, "%.1f%%", 100 * r.path("utilization").asDouble()), Tables.text(r, "level"),
                            rate == null || rate.isNull() ? "" : String.format(Locale.ROOT, "%.1f", rate.asDouble()),
                            full == null || full.isNull() ? "" : Durations.format(java.time.Duration.ofSeconds(full.asLong()))));
                }
                Tables.print(out, List.of("RANGE", "TYPES", "SIZE", "USED", "UTIL", "LEVEL", "ALLOC/MIN", "FULL IN"), rows);
            }
            out.println();
            Tables.findings(out, answer.get("findings"));
            JsonNode actions = answer.path("actions");
            if (actions.isArray() && !actions.isEmpty()) {
                out.println();
                Tables.actions(out, actions);
            }
            return exitCode(answer);
        }

        @Override
        int exitCode(JsonNode answer) {
            return "UP".equalsIgnoreCase(answer.path("status").asText()) ? Main.OK : Main.FAILURE;
        }
    }
}
