package io.ports.server.cli;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The client side of every error status and odd answer, against an in-process {@link FakeDaemon}
 * (a real daemon cannot be made to answer 413 or 500 on demand): the exit code, one line on stderr
 * naming the URL and what the daemon said, and with {@code --json} the daemon's error body on stdout.
 */
class DaemonErrorsTest {
    private final Map<String, String> env = new HashMap<>();
    private Path dataDir;
    private FakeDaemon fake;

    @BeforeEach
    void start() throws Exception {
        dataDir = Cli.tempDir("ports-cli-errors");
        DaemonCommand.environment = env::get;
        fake = new FakeDaemon();
    }

    @AfterEach
    void stop() {
        try {
            fake.close();
        } finally {
            DaemonCommand.environment = System::getenv;
            Cli.deleteTree(dataDir);
        }
    }

    private Cli.Run run(String... args) {
        List<String> all = new ArrayList<>(Arrays.asList(args));
        all.addAll(List.of("--data-dir", dataDir.toString()));
        return Cli.run(all.toArray(String[]::new));
    }

    private static String error(String code, String message, String field) {
        return Json.line(new java.util.LinkedHashMap<>(Map.of("success", false, "error", code, "message", message)))
                .replace("}", field == null ? ",\"field\":null}" : ",\"field\":\"" + field + "\"}");
    }

    @ParameterizedTest(name = "{0} -> exit {2}")
    @CsvSource({
        "400, bad_request, 2",
        "401, unauthorized, 4",
        "403, forbidden, 4",
        "404, not_found, 1",
        "405, method_not_allowed, 1",
        "409, port_conflict, 1",
        "413, too_large, 1",
        "429, rate_limited, 5",
        "500, internal_error, 1",
        "503, exhausted, 5"})
    void errorStatus_exitsWithItsCodeAndSaysWhatTheDaemonSaid(int status, String code, int exit) {
        String message = "the thing was wrong: expected the right thing";
        fake.answer(status, error(code, message, "service_name"), Map.of("Retry-After", "7"));

        Cli.Run run = run("allocate", "orders-db", "DATABASE", "--url", fake.url());

        assertEquals(exit, run.exitCode(), run::toString);
        assertEquals("", run.out(), run::toString);
        assertEquals(1, run.errLines().size(), run::toString);
        String line = run.errLines().get(0);
        assertTrue(line.startsWith("ports: the daemon at " + fake.url() + " answered POST /ports/allocate with " + status + " " + code + ": " + message),
                run::toString);
        assertFalse(line.contains("Exception"), run::toString);
        if (status == 429) {
            assertTrue(line.contains("retry after 7 s"), run::toString);
        }
    }

    @ParameterizedTest(name = "{0} with --json")
    @CsvSource({"404, 1", "409, 1", "429, 5", "503, 5"})
    void errorStatus_withJson_printsTheDaemonsErrorBodyOnStdout(int status, int exit) throws Exception {
        fake.answer(status, error("some_code", "what went wrong", null));

        Cli.Run run = run("port", "5432", "--json", "--url", fake.url());

        assertEquals(exit, run.exitCode(), run::toString);
        JsonNode body = Json.mapper().readTree(run.out());
        assertFalse(body.get("success").asBoolean(), run::toString);
        assertEquals("some_code", body.get("error").asText(), run::toString);
        assertEquals(1, run.outLines().size(), run::toString);
        assertEquals(1, run.errLines().size(), run::toString);
    }

    @Test
    void unauthorized_withoutAnyToken_saysWhereTheTokenWasLookedFor() {
        fake.answer(401, error("unauthorized", "a bearer token is required", null), Map.of("WWW-Authenticate", "Bearer"));

        Cli.Run run = run("cleanup", "--url", fake.url());

        assertEquals(Main.AUTH, run.exitCode(), run::toString);
        assertNull(fake.lastRequest().header("Authorization"), "no token to send");
        String line = run.errLines().get(0);
        assertTrue(line.contains("no token sent; looked at " + dataDir.resolve("admin.token") + " (not found)"), run::toString);
        assertTrue(line.contains("--token or PORTS_TOKEN"), run::toString);
    }

    @Test
    void unauthorized_withAGivenToken_namesWhereItCameFrom() {
        fake.answer(401, error("unauthorized", "unknown token", null));

        Cli.Run run = run("cleanup", "--url", fake.url(), "--token", "not-a-real-token");

        assertEquals(Main.AUTH, run.exitCode(), run::toString);
        assertEquals("Bearer not-a-real-token", fake.lastRequest().header("Authorization"));
        assertTrue(run.err().contains("the token from --token is not one of the daemon's tokens"), run::toString);
        assertFalse(run.err().contains("not-a-real-token"), "never print the token: " + run);
    }

    @Test
    void forbidden_withAReadOnlyToken_pointsToTheAdminToken() {
        env.put("PORTS_TOKEN", "read-only");
        fake.answer(403, error("forbidden", "this token may only read", null));

        Cli.Run run = run("release", "0b0c5a6e-3f0e-4d6c-9d0e-2f4b1b7d9a11", "--url", fake.url());

        assertEquals(Main.AUTH, run.exitCode(), run::toString);
        assertEquals("Bearer read-only", fake.lastRequest().header("Authorization"));
        assertTrue(run.err().contains("the token from PORTS_TOKEN may only read; an admin token is in " + dataDir.resolve("admin.token")), run::toString);
    }

    @Test
    void tokenFiles_adminForChanges_readTokenForReadingWhenTheAdminTokenIsMissing() throws Exception {
        Files.writeString(dataDir.resolve("read.token"), "the-read-token\n");
        fake.answer(200, "{\"total\":0}");

        assertEquals(Main.OK, run("stats", "--url", fake.url()).exitCode());
        assertEquals("Bearer the-read-token", fake.lastRequest().header("Authorization"), "GET falls back to read.token");

        fake.answer(401, error("unauthorized", "a bearer token is required", null));
        Cli.Run post = run("cleanup", "--url", fake.url());
        assertNull(fake.lastRequest().header("Authorization"), "a read-only token is never sent for a change");
        assertTrue(post.err().contains(dataDir.resolve("admin.token") + " (not found)"), post::toString);

        Files.writeString(dataDir.resolve("admin.token"), "the-admin-token\n");
        fake.answer(200, "{\"total\":0}");
        run("stats", "--url", fake.url());
        assertEquals("Bearer the-admin-token", fake.lastRequest().header("Authorization"), "admin.token first, for reading too");
    }

    @Test
    void okButNotJson_isAFailureThatSaysSomethingElseListens() {
        fake.answer(200, "hello from some other web server");

        Cli.Run run = run("list", "--url", fake.url());

        assertEquals(Main.FAILURE, run.exitCode(), run::toString);
        assertTrue(run.err().contains(fake.url() + " answered GET /ports/directory with 200 but not with JSON ('hello from some other web server')"),
                run::toString);
    }

    @Test
    void errorWithoutJsonBody_quotesWhatCameBack() {
        fake.answer(404, "Not Found");

        Cli.Run run = run("list", "--json", "--url", fake.url());

        assertEquals(Main.FAILURE, run.exitCode(), run::toString);
        assertEquals("", run.out(), "no JSON error to print: " + run);
        assertTrue(run.err().contains("with 404: 'Not Found' (is " + fake.url() + " a ports daemon of this version?)"), run::toString);
    }

    @Test
    void nothingListening_exitsThreeNamingTheUrlAndHowToStartTheDaemon() throws Exception {
        int port = closedPort();

        Cli.Run run = run("list", "--url", "http://127.0.0.1:" + port);

        assertEquals(Main.UNREACHABLE, run.exitCode(), run::toString);
        assertEquals("ports: cannot reach the ports daemon at http://127.0.0.1:" + port + " (URL from --url): connection refused; "
                + "start it with 'ports serve --port " + port + "' or point to a running one with --url or PORTS_URL", run.errLines().get(0));
    }

    @Test
    void staleDaemonFile_ofADeadProcess_isPointedOut() throws Exception {
        int port = closedPort();
        Process gone = new ProcessBuilder("true").start();
        assertTrue(gone.waitFor(10, TimeUnit.SECONDS));
        Files.writeString(dataDir.resolve("daemon.json"), "{\"url\":\"http://127.0.0.1:" + port + "\",\"pid\":" + gone.pid() + "}");

        Cli.Run run = run("stats");

        assertEquals(Main.UNREACHABLE, run.exitCode(), run::toString);
        assertTrue(run.err().contains("at http://127.0.0.1:" + port + " (URL from " + dataDir.resolve("daemon.json") + "): connection refused"),
                run::toString);
        assertTrue(run.err().contains("daemon.json names pid " + gone.pid() + ", which is not running"), run::toString);
    }

    @Test
    void urlOrder_flagThenEnvironmentThenDaemonFileThenDefault() throws Exception {
        fake.answer(200, "{\"total\":0}");
        int closed = closedPort();
        Files.writeString(dataDir.resolve("daemon.json"), "{\"url\":\"http://127.0.0.1:" + closed + "\",\"pid\":1}");

        assertEquals(Main.UNREACHABLE, run("stats").exitCode(), "daemon.json's URL is used");
        env.put("PORTS_URL", fake.url() + "/");
        assertEquals(Main.OK, run("stats").exitCode(), "PORTS_URL beats daemon.json (a trailing slash is fine)");
        Cli.Run flag = run("stats", "--url", "http://127.0.0.1:" + closed);
        assertEquals(Main.UNREACHABLE, flag.exitCode(), "--url beats PORTS_URL");
        assertTrue(flag.err().contains("(URL from --url)"), flag::toString);

        Files.delete(dataDir.resolve("daemon.json"));
        env.remove("PORTS_URL");
        Cli.Run dflt = run("stats", "--timeout", "2s");
        assertTrue(dflt.err().contains("http://127.0.0.1:8500 (the default URL; there is no " + dataDir.resolve("daemon.json") + ")")
                || dflt.exitCode() != Main.UNREACHABLE, dflt::toString);
    }

    @Test
    void badDaemonFile_saysWhatIsWrongWithIt() throws Exception {
        Files.writeString(dataDir.resolve("daemon.json"), "{not json");
        Cli.Run run = run("stats");
        assertEquals(Main.FAILURE, run.exitCode(), run::toString);
        assertTrue(run.err().contains(dataDir.resolve("daemon.json") + " is not valid JSON"), run::toString);
        assertTrue(run.err().contains("remove the file or pass --url"), run::toString);

        Files.writeString(dataDir.resolve("daemon.json"), "{\"url\":\"ftp://x\"}");
        Cli.Run bad = run("stats");
        assertTrue(bad.err().contains("invalid daemon URL 'ftp://x' from " + dataDir.resolve("daemon.json")), bad::toString);
    }

    @Test
    void slowDaemon_timesOutWithExitThree() {
        fake.answer(200, "{}").delay(3_000);

        Cli.Run run = run("stats", "--url", fake.url(), "--timeout", "1s");

        assertEquals(Main.UNREACHABLE, run.exitCode(), run::toString);
        assertTrue(run.err().contains("the ports daemon at " + fake.url() + " did not answer GET /ports/stats within 1s"), run::toString);
    }

    @Test
    void requests_haveTheContractsMethodsPathsAndBodies() throws Exception {
        fake.answer(200, "{\"success\":true}");
        String id = "0b0c5a6e-3f0e-4d6c-9d0e-2f4b1b7d9a11";
        String url = fake.url();

        run("allocate", "team/orders:db", "DATABASE", "--preferred-port", "5440", "--required", "--url", url);
        run("allocate", "orders", "rest-api", "--url", url);
        run("release", id, "--url", url);
        run("heartbeat", id, "--url", url);
        run("cleanup", "--url", url);
        run("reconcile", "--url", url);
        run("reconcile", "--apply", "--url", url);
        run("list", "--url", url);
        run("overview", "--url", url);
        run("service", "team/orders:db", "--url", url);
        run("port", "5440", "--url", url);
        run("type", "rest-api", "--url", url);
        run("stats", "--url", url);
        run("health", "--url", url);
        run("ranges", "--url", url);

        List<String> calls = fake.requests().stream().map(r -> r.method() + " " + r.rawPath()).toList();
        assertEquals(List.of("POST /ports/allocate", "POST /ports/allocate", "POST /ports/release", "POST /ports/heartbeat/" + id,
                "POST /ports/cleanup", "GET /ports/reconcile", "POST /ports/reconcile", "GET /ports/directory", "GET /ports/overview",
                "GET /ports/service/team%2Forders%3Adb", "GET /ports/port/5440", "GET /ports/type/rest-api", "GET /ports/stats",
                "GET /ports/health", "GET /ports/ranges"), calls);
        List<FakeDaemon.Request> r = fake.requests();
        assertEquals(Map.of("service_name", "team/orders:db", "service_type", "DATABASE", "preferred_port", 5440, "required", true),
                Json.mapper().readValue(r.get(0).body(), Map.class));
        assertEquals(Map.of("service_name", "orders", "service_type", "rest-api", "required", false),
                Json.mapper().readValue(r.get(1).body(), Map.class));
        assertEquals(Map.of("allocation_id", id), Json.mapper().readValue(r.get(2).body(), Map.class));
        assertEquals("application/json", r.get(0).header("Content-Type"));
        assertTrue(r.get(7).header("User-Agent").startsWith("ports-cli/"), r.get(7)::toString);
    }

    @Test
    void badArguments_neverReachTheDaemon() {
        String url = fake.url();
        for (String[] args : new String[][] {
            {"allocate", "no spaces", "DATABASE"}, {"allocate", "orders", "bad type!"}, {"allocate", "orders", "DATABASE", "--preferred-port", "0"},
            {"allocate", "orders"}, {"release", "not an id"}, {"heartbeat"}, {"port", "65536"}, {"port", "http"}, {"service", "-x-"},
            {"type", ""}, {"stats", "--timeout", "soon"}, {"list", "--url", "ftp://127.0.0.1:1"}, {"list", "--url", "http://127.0.0.1:8500/ports"},
            {"list", "--token", " "}, {"completion", "fish"}, {"reconcile", "--apply", "now"}}) {
            List<String> all = new ArrayList<>(Arrays.asList(args));
            if (!Arrays.asList(args).contains("--url")) {
                all.addAll(List.of("--url", url));
            }
            Cli.Run run = run(all.toArray(String[]::new));
            assertEquals(Main.USAGE, run.exitCode(), () -> String.join(" ", args) + ": " + run);
            assertEquals("", run.out(), run::toString);
            assertEquals(1, run.errLines().size(), run::toString);
            assertTrue(run.err().contains("(see 'ports " + args[0] + " --help')"), run::toString);
        }
        assertEquals(List.of(), fake.requests(), "no bad argument reaches the daemon");
    }

    private static int closedPort() throws Exception {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }
}
