package io.ports.server.cli;

import com.fasterxml.jackson.databind.JsonNode;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.PrintWriter;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The commands that change the daemon's registry: {@code allocate}, {@code release}, {@code heartbeat},
 * {@code cleanup}, and {@code reconcile} (which only reads unless {@code --apply}). They need the
 * admin token.
 */
final class MutationCommands {
    private MutationCommands() {
    }

    @Command(name = "allocate", sortOptions = false,
            header = "Allocate a port for a service in the daemon's registry.",
            description = {"Asks the daemon for a port for service NAME of type TYPE (POST /ports/allocate) and prints it.",
                "The port is the preferred one when it is free, else one of the type's range; with --required, the preferred "
                    + "port or nothing (exit 1 when it is taken, naming the holder). Exits 5 when the type's range is exhausted."},
            footer = {"", "Examples:", "  ports allocate orders-db DATABASE",
                "  ports allocate orders-api rest-api --preferred-port 8085 --required",
                "  PORT=$(ports allocate orders-db DATABASE --json | jq .allocation.port)"})
    static final class AllocateCommand extends DaemonCommand {
        @Parameters(index = "0", paramLabel = "NAME", converter = Converters.Service.class, description = "The service name.")
        String name;

        @Parameters(index = "1", paramLabel = "TYPE", converter = Converters.TypeName.class,
                description = "The service type, for example DATABASE, CLUSTER, API or rest-api ('ports ranges' lists them).")
        String type;

        @Option(names = "--preferred-port", paramLabel = "P", converter = Converters.Port.class, description = "The port to try first, 1-65535.")
        Integer preferredPort;

        @Option(names = "--required", description = "Fail unless the preferred port (or the type's default port) is given.")
        boolean required;

        @Override
        JsonNode request(DaemonClient client) {
            Map<String, Object> body = new LinkedHashMap<>();
            body.put("service_name", name);
            body.put("service_type", type);
            if (preferredPort != null) {
                body.put("preferred_port", preferredPort);
            }
            body.put("required", required);
            return client.post("/ports/allocate", body);
        }

        @Override
        int render(JsonNode answer, PrintWriter out) {
            return printAllocation("allocated", answer, out);
        }
    }

    @Command(name = "release", sortOptions = false,
            header = "Release an allocation: its port is free again.",
            description = "Releases allocation ID (POST /ports/release). Exits 1 when the daemon knows no such allocation.",
            footer = {"", "Example:", "  ports release 0b0c5a6e-3f0e-4d6c-9d0e-2f4b1b7d9a11"})
    static final class ReleaseCommand extends DaemonCommand {
        @Parameters(index = "0", paramLabel = "ID", converter = Converters.AllocationId.class, description = "The allocation id ('ports list' shows it).")
        String id;

        @Override
        JsonNode request(DaemonClient client) {
            return client.post("/ports/release", Map.of("allocation_id", id));
        }

        @Override
        int render(JsonNode answer, PrintWriter out) {
            return printAllocation("released", answer, out);
        }
    }

    @Command(name = "heartbeat", sortOptions = false,
            header = "Heartbeat an allocation: it stays live (and becomes ACTIVE).",
            description = "Sends one heartbeat for allocation ID (POST /ports/heartbeat/ID). Exits 1 when the daemon knows no such allocation.",
            footer = {"", "Example:", "  ports heartbeat 0b0c5a6e-3f0e-4d6c-9d0e-2f4b1b7d9a11"})
    static final class HeartbeatCommand extends DaemonCommand {
        @Parameters(index = "0", paramLabel = "ID", converter = Converters.AllocationId.class, description = "The allocation id ('ports list' shows it).")
        String id;

        @Override
        JsonNode request(DaemonClient client) {
            return client.post("/ports/heartbeat/" + segment(id), null);
        }

        @Override
        int render(JsonNode answer, PrintWriter out) {
            return printAllocation("heartbeat for", answer, out);
        }
    }

    @Command(name = "cleanup", sortOptions = false,
            header = "Expire allocations that missed their heartbeat or whose process is gone.",
            description = "Runs the registry's cleanup now (POST /ports/cleanup) and prints what it expired.",
            footer = {"", "Example:", "  ports cleanup"})
    static final class CleanupCommand extends DaemonCommand {
        @Override
        JsonNode request(DaemonClient client) {
            return client.post("/ports/cleanup", null);
        }

        @Override
        int render(JsonNode answer, PrintWriter out) {
            List<JsonNode> expired = Tables.allocationsIn(answer);
            String message = Tables.text(answer, "message");
            if (!message.isEmpty()) {
                out.println(message);
            } else {
                out.println(expired.size() == 1 ? "expired 1 allocation" : "expired " + expired.size() + " allocations");
            }
            if (!expired.isEmpty()) {
                Tables.allocations(out, expired);
            }
            return Main.OK;
        }
    }

    @Command(name = "reconcile", sortOptions = false,
            header = "Compare the registry with the host's sockets and processes; --apply fixes what is safe to fix.",
            description = {"Without --apply, lists what does not match (GET /ports/reconcile) and changes nothing: records never bound, "
                    + "holders that crashed, ports taken by another process, strangers in managed ranges.",
                "With --apply (admin token), applies the safe actions and prints what was done (POST /ports/reconcile)."},
            footer = {"", "Examples:", "  ports reconcile", "  ports reconcile --apply"})
    static final class ReconcileCommand extends DaemonCommand {
        @Option(names = "--apply", description = "Apply the safe actions (expire dead records, mark bound ones active).")
        boolean apply;

        @Override
        JsonNode request(DaemonClient client) {
            return apply ? client.post("/ports/reconcile", null) : client.get("/ports/reconcile");
        }

        @Override
        int render(JsonNode answer, PrintWriter out) {
            if (!answer.has("findings")) {
                Tables.fields(out, answer, "");
                return Main.OK;
            }
            String message = Tables.text(answer, "message");
            if (!message.isEmpty()) {
                out.println(message);
            }
            if (answer.has("sockets_visible") && !answer.path("sockets_visible").asBoolean(true)) {
                out.println("note: the daemon cannot see every socket of the host (run it as root to see other users' processes)");
            }
            Tables.findings(out, answer.get("findings"));
            JsonNode actions = answer.path("actions");
            if (actions.isArray() && !actions.isEmpty()) {
                out.println();
                Tables.actions(out, actions);
            }
            return Main.OK;
        }
    }

    /**
     * The daemon's message, which says what happened ("allocated port 5432/TCP to 'orders-db' ...",
     * "... was already EXPIRED: nothing changed"); without one, "VERB orders-db (DATABASE) port 5432, reserved, allocation ID".
     */
    private static int printAllocation(String verb, JsonNode answer, PrintWriter out) {
        String message = Tables.text(answer, "message");
        List<JsonNode> a = Tables.allocationsIn(answer);
        if (!message.isEmpty()) {
            out.println(message);
        } else if (a.size() == 1) {
            out.println(verb + " " + Tables.allocation(a.get(0)));
        } else {
            Tables.fields(out, answer, "");
        }
        return Main.OK;
    }
}
