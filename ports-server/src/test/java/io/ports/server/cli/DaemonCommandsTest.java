package io.ports.server.cli;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.UUID;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every daemon command of the command line against a real registry daemon over real HTTP, found the
 * way a user's shell finds it: only {@code --data-dir} is given, so the URL comes from the daemon's
 * {@code daemon.json} and the token from its {@code admin.token}.
 */
class DaemonCommandsTest {
    private static CliDaemon daemon;

    @BeforeAll
    static void startDaemon() throws Exception {
        daemon = new CliDaemon();
        DaemonCommand.environment = name -> null; // neither PORTS_URL nor PORTS_TOKEN of the machine running the tests
    }

    @AfterAll
    static void stopDaemon() {
        try {
            if (daemon != null) {
                daemon.close();
            }
        } finally {
            DaemonCommand.environment = System::getenv;
        }
    }

    /** Runs {@code ports ARGS --data-dir DIR}. */
    private static Cli.Run ports(String... args) {
        return portsIn(daemon.dataDir, args);
    }

    private static Cli.Run portsIn(Path dataDir, String... args) {
        List<String> all = new ArrayList<>(Arrays.asList(args));
        all.addAll(List.of("--data-dir", dataDir.toString()));
        return Cli.run(all.toArray(String[]::new));
    }

    private static JsonNode json(Cli.Run run) throws Exception {
        assertEquals(1, run.outLines().size(), () -> "one JSON line: " + run);
        return Json.mapper().readTree(run.out());
    }

    private static Cli.Run ok(String... args) {
        Cli.Run run = ports(args);
        assertEquals(Main.OK, run.exitCode(), () -> String.join(" ", args) + ": " + run);
        assertEquals("", run.err(), run::toString);
        return run;
    }

    @Test
    void allocate_thenEveryLookupShowsIt_heartbeatActivates_releaseFreesIt() throws Exception {
        JsonNode allocated = json(ok("allocate", "orders-db", "db", "--json"));
        JsonNode a = allocated.get("allocation");
        String id = a.get("allocation_id").asText();
        int port = a.get("port").asInt();
        assertTrue(allocated.get("success").asBoolean(), allocated::toString);
        assertEquals(daemon.dbRange.start(), port, "the type's default port: " + allocated);
        assertEquals("RESERVED", a.get("status").asText());

        String listed = ok("list").out();
        assertTrue(listed.stripLeading().startsWith("PORT  SERVICE"), listed);
        String row = listed.lines().filter(l -> l.contains(id)).findFirst().orElseThrow(() -> new AssertionError(id + " not listed: " + listed));
        assertTrue(row.matches(port + " +orders-db +db +RESERVED .*" + id), row);

        for (String[] lookup : new String[][] {{"service", "orders-db"}, {"port", String.valueOf(port)}, {"type", "db"}, {"overview"}}) {
            Cli.Run run = ok(lookup);
            assertTrue(run.out().lines().anyMatch(l -> l.startsWith(port + " ") && l.contains("orders-db") && l.endsWith(id)),
                    () -> String.join(" ", lookup) + " shows the allocation: " + run);
            JsonNode j = json(ok(append(lookup, "--json")));
            assertTrue(j.get("success").asBoolean(), j::toString);
            assertTrue(j.toString().contains(id), j::toString);
        }

        Cli.Run beat = ok("heartbeat", id);
        assertTrue(beat.out().contains("ACTIVE"), beat::toString);
        assertEquals("ACTIVE", json(ok("port", String.valueOf(port), "--json")).get("allocation").get("status").asText());

        Cli.Run released = ok("release", id);
        assertTrue(released.out().contains("released port " + port), released::toString);
        Cli.Run gone = ports("port", String.valueOf(port));
        assertEquals(Main.FAILURE, gone.exitCode(), "no live allocation on the port any more: " + gone);
        assertTrue(gone.err().contains("404"), gone::toString);
        assertEquals("RELEASED", statusOf(id), "release is recorded");
    }

    @Test
    void preferredRequiredPortTaken_exitsOne_withTheDaemonsConflict() throws Exception {
        int p = daemon.webRange.start() + 3;
        JsonNode first = json(ok("allocate", "web-a", "web", "--preferred-port", String.valueOf(p), "--required", "--json"));
        assertEquals(p, first.get("allocation").get("port").asInt(), first::toString);

        Cli.Run second = ports("allocate", "web-b", "web", "--preferred-port", String.valueOf(p), "--required");

        assertEquals(Main.FAILURE, second.exitCode(), second::toString);
        assertEquals("", second.out(), second::toString);
        assertTrue(second.err().contains("answered POST /ports/allocate with 409"), second::toString);
        assertTrue(second.err().contains(String.valueOf(p)), "names the port: " + second);
        Cli.Run json = ports("allocate", "web-b", "web", "--preferred-port", String.valueOf(p), "--required", "--json");
        assertEquals("preferred_port", json(json).get("field").asText(), json::toString);
        assertTrue(ports("service", "web-b").exitCode() != Main.OK, "the refused request changed nothing");
    }

    @Test
    void exhaustedRange_exitsFive() throws Exception {
        ok("allocate", "tiny-1", "tiny");

        Cli.Run run = ports("allocate", "tiny-2", "tiny");

        assertEquals(Main.UNAVAILABLE, run.exitCode(), run::toString);
        assertTrue(run.err().contains("with 503"), run::toString);
        assertTrue(run.err().contains(daemon.tinyRange.toString()), "names the range: " + run);
    }

    @Test
    void unknownTypeOrIdOrService_badInputExitsTwo_unknownExitsOne() {
        Cli.Run type = ports("allocate", "x", "no-such-type");
        assertEquals(Main.USAGE, type.exitCode(), "the daemon's 400 is a bad argument: " + type);
        assertTrue(type.err().contains("400 invalid_service_type") && type.err().contains("db"), "names the valid types: " + type);
        Cli.Run lookup = ports("type", "no-such-type");
        assertEquals(Main.USAGE, lookup.exitCode(), lookup::toString);
        assertTrue(lookup.err().contains("with 400") && lookup.err().contains("db, web, tiny"), lookup::toString);

        for (String[] args : new String[][] {{"release", UUID.randomUUID().toString()}, {"heartbeat", UUID.randomUUID().toString()},
            {"service", "never-registered"}}) {
            Cli.Run run = ports(args);
            assertEquals(Main.FAILURE, run.exitCode(), () -> String.join(" ", args) + ": " + run);
            assertTrue(run.err().contains("with 404"), run::toString);
        }
    }

    @Test
    void readOnlyToken_isRefusedForChanges_butReads() throws Exception {
        Cli.Run change = ports("allocate", "ro", "web", "--token", daemon.readToken());
        assertEquals(Main.AUTH, change.exitCode(), change::toString);
        assertTrue(change.err().contains("403"), change::toString);
        assertTrue(change.err().contains("the token from --token may only read"), change::toString);

        Cli.Run read = ports("stats", "--token", daemon.readToken());
        assertEquals(Main.OK, read.exitCode(), read::toString);

        Cli.Run wrong = ports("cleanup", "--token", "not-" + daemon.adminToken());
        assertEquals(Main.AUTH, wrong.exitCode(), wrong::toString);
        assertTrue(wrong.err().contains("401"), wrong::toString);
    }

    @Test
    void noTokenAnywhere_changesAreRefused_readsOnLoopbackAreOpen() throws Exception {
        Path empty = Cli.tempDir("ports-cli-no-token");
        try {
            Cli.Run change = portsIn(empty, "allocate", "anon", "web", "--url", daemon.url());
            assertEquals(Main.AUTH, change.exitCode(), change::toString);
            assertTrue(change.err().contains("401"), change::toString);
            assertTrue(change.err().contains("no token sent; looked at " + empty.resolve("admin.token") + " (not found)"), change::toString);

            Cli.Run read = portsIn(empty, "list", "--url", daemon.url());
            assertEquals(Main.OK, read.exitCode(), read::toString);
        } finally {
            Cli.deleteTree(empty);
        }
    }

    @Test
    void stats_ranges_health_reconcile_cleanup_printTheirReports() throws Exception {
        String id = json(ok("allocate", "report-1", "web", "--json")).get("allocation").get("allocation_id").asText();

        Cli.Run stats = ok("stats");
        assertTrue(stats.outLines().get(0).matches("\\d+ allocations?: \\d+ active, \\d+ reserved, \\d+ expired, \\d+ released"), stats::toString);
        JsonNode statsJson = json(ok("stats", "--json"));
        assertTrue(statsJson.get("total").asInt() >= 1, statsJson::toString);

        Cli.Run ranges = ok("ranges");
        assertTrue(ranges.out().lines().anyMatch(l -> l.matches("web +" + daemon.webRange + " +10 +\\d+ .*")), ranges::toString);
        assertTrue(ranges.out().lines().anyMatch(l -> l.matches("db +" + daemon.dbRange + " +10 +\\d+ +\\d+\\.\\d% +" + daemon.dbRange.start())),
                ranges::toString);

        Cli.Run health = ports("health");
        JsonNode healthJson = json(ports("health", "--json"));
        String status = healthJson.get("status").asText();
        assertTrue(health.outLines().get(0).startsWith("health: " + status), health::toString);
        assertEquals(status.equals("UP") ? Main.OK : Main.FAILURE, health.exitCode(), "exit 0 only when UP: " + health);
        assertTrue(health.out().contains("FINDING") || health.out().contains("no findings"), health::toString);

        Cli.Run reconcile = ok("reconcile");
        assertTrue(reconcile.outLines().get(0).matches("\\d+ finding\\(s\\), nothing changed"), reconcile::toString);
        JsonNode applied = json(ok("reconcile", "--apply", "--json"));
        assertTrue(applied.get("applied").asBoolean(), applied::toString);

        Cli.Run cleanup = ok("cleanup");
        assertFalse(cleanup.out().isBlank(), cleanup::toString);
        assertTrue(json(ok("cleanup", "--json")).has("expired"));
        ok("release", id);
    }

    @Test
    void restart_everyAllocationIsStillThere_andTheCliFollowsTheNewUrl() throws Exception {
        try (CliDaemon own = new CliDaemon()) {
            Cli.Run first = portsIn(own.dataDir, "allocate", "survivor", "db", "--json");
            assertEquals(Main.OK, first.exitCode(), first::toString);
            String id = json(first).get("allocation").get("allocation_id").asText();
            String before = own.url();

            own.restart();

            Cli.Run after = portsIn(own.dataDir, "service", "survivor", "--json");
            assertEquals(Main.OK, after.exitCode(), () -> "after the restart (" + before + " -> " + own.url() + "): " + after);
            assertTrue(after.out().contains(id), after::toString);

            own.stop();
            assertFalse(Files.exists(own.dataDir.resolve("daemon.json")), "a clean stop removes daemon.json");
            Cli.Run down = portsIn(own.dataDir, "list", "--url", own.url());
            assertEquals(Main.UNREACHABLE, down.exitCode(), down::toString);
            assertTrue(down.err().contains("cannot reach the ports daemon at " + own.url() + " (URL from --url): connection refused"), down::toString);
        }
    }

    @Test
    void rateLimited_exitsFiveWithRetryAfter() throws Exception {
        try (CliDaemon limited = new CliDaemon(c -> c.withRateLimit(1, 1))) {
            Cli.Run last = null;
            for (int i = 0; i < 20; i++) { // a burst of 1 at 1/s: the second or third call is limited
                last = portsIn(limited.dataDir, "stats");
                if (last.exitCode() != Main.OK) {
                    break;
                }
            }
            Cli.Run run = last;
            assertEquals(Main.UNAVAILABLE, run.exitCode(), run::toString);
            assertTrue(run.err().contains("with 429"), run::toString);
            assertTrue(run.err().matches("(?s).*retry after \\d+ s.*"), run::toString);
        }
    }

    private static String statusOf(String id) throws Exception {
        for (JsonNode a : json(ok("list", "--json")).get("allocations")) {
            if (a.get("allocation_id").asText().equals(id)) {
                return a.get("status").asText();
            }
        }
        throw new AssertionError(id + " not in the directory");
    }

    private static String[] append(String[] args, String... more) {
        List<String> l = new ArrayList<>(Arrays.asList(args));
        l.addAll(Arrays.asList(more));
        return l.toArray(String[]::new);
    }
}
