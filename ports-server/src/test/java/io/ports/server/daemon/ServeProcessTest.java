package io.ports.server.daemon;

import com.fasterxml.jackson.databind.JsonNode;
import io.ports.server.cli.Main;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code ports serve} as its own process: it prints where it listens and (first start only) the tokens,
 * SIGTERM closes it cleanly (daemon.json removed), and a restart on the same data dir, after SIGTERM or
 * after kill -9, still has every allocation.
 */
@Timeout(180)
class ServeProcessTest {
    private static final long START_SECONDS = 60;
    private Path root;
    private final List<Process> processes = new ArrayList<>();
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    @BeforeEach
    void dirs() throws IOException {
        root = Files.createTempDirectory("ports-serve-test");
    }

    @AfterEach
    void stop() throws InterruptedException {
        for (Process p : processes) {
            if (p.isAlive()) {
                p.destroyForcibly();
                p.waitFor(20, TimeUnit.SECONDS);
            }
        }
        TestDaemon.deleteTree(root);
    }

    /** A running child: its process and the lines it printed. */
    private record Child(Process process, BlockingQueue<String> lines) {
        String await(String prefix) throws InterruptedException {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(START_SECONDS);
            while (System.nanoTime() < deadline) {
                String l = lines.poll(500, TimeUnit.MILLISECONDS);
                if (l != null && l.startsWith(prefix)) {
                    return l;
                }
                if (l == null && !process.isAlive() && lines.isEmpty()) {
                    break;
                }
            }
            throw new AssertionError("no line starting with '" + prefix + "' within " + START_SECONDS + " s (alive: " + process.isAlive() + ")");
        }
    }

    private Child serve() throws IOException {
        return serve(null, null, "--data-dir", root.resolve("data").toString());
    }

    /**
     * {@code serve --port 0 --lock-dir ... --heartbeat-timeout 5m} plus {@code args}, with {@code PORTS_DATA_DIR} set to
     * {@code dataDirEnv} (or removed, if null) and {@code -Duser.home=home} (if not null).
     */
    private Child serve(Path dataDirEnv, Path home, String... args) throws IOException {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-XX:TieredStopAtLevel=1"));
        if (home != null) {
            cmd.add("-Duser.home=" + home);
        }
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), Main.class.getName(), "serve", "--port", "0",
                "--lock-dir", root.resolve("locks").toString(), "--heartbeat-timeout", "5m"));
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectError(root.resolve("stderr-" + processes.size() + ".txt").toFile());
        pb.environment().remove(DaemonConfig.DATA_DIR_ENV);
        if (dataDirEnv != null) {
            pb.environment().put(DaemonConfig.DATA_DIR_ENV, dataDirEnv.toString());
        }
        Process p = pb.start();
        processes.add(p);
        BlockingQueue<String> lines = new ArrayBlockingQueue<>(1000);
        Thread t = new Thread(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
                for (String l; (l = r.readLine()) != null; ) {
                    lines.offer(l);
                }
            } catch (IOException ignored) {
                // gone
            }
        }, "serve-stdout");
        t.setDaemon(true);
        t.start();
        return new Child(p, lines);
    }

    private static URI url(String listeningLine) {
        String s = listeningLine.substring("ports daemon listening on ".length());
        return URI.create(s.substring(0, s.indexOf(' ')));
    }

    private JsonNode call(String method, URI uri, String body, String token, int expect) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(20))
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
        if (token != null) {
            b.header("Authorization", "Bearer " + token);
        }
        HttpResponse<String> r = http.send(b.build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(expect, r.statusCode(), method + " " + uri + ": " + r.body());
        return JsonCodec.MAPPER.readTree(r.body());
    }

    @Test
    void serve_withoutDataDir_usesPortsDataDirEnv_elseDotPortsInTheHome() throws Exception {
        Path env = root.resolve("from-env");
        Path home = root.resolve("home");
        Files.createDirectories(home);
        // PORTS_DATA_DIR wins over the home
        Child a = serve(env, home);
        String line = a.await("ports daemon listening on ");
        assertTrue(line.contains("(data dir " + env.toAbsolutePath().normalize() + ","), line);
        call("GET", url(line).resolve("/ports/stats"), null, null, 200);
        assertTrue(Files.isRegularFile(env.resolve("admin.token")), "the tokens are in $PORTS_DATA_DIR");
        assertFalse(Files.exists(home.resolve(".ports")), "nothing in the home");
        a.process().destroy();
        assertTrue(a.process().waitFor(30, TimeUnit.SECONDS));
        // without it: ~/.ports
        Child b = serve(null, home);
        line = b.await("ports daemon listening on ");
        assertTrue(line.contains("(data dir " + home.resolve(".ports").toAbsolutePath().normalize() + ","), line);
        assertTrue(Files.isRegularFile(home.resolve(".ports/admin.token")), "the tokens are in ~/.ports");
        assertTrue(Files.isRegularFile(home.resolve(".ports/daemon.json")));
        b.process().destroy();
        assertTrue(b.process().waitFor(30, TimeUnit.SECONDS));
    }

    @Test
    void serve_restartAfterSigtermAndAfterKill9_keepsEveryAllocation() throws Exception {
        Child first = serve();
        URI url = url(first.await("ports daemon listening on "));
        String adminLine = first.await("admin token ");
        String token = adminLine.substring(adminLine.lastIndexOf(' ') + 1);
        assertEquals(Files.readString(root.resolve("data/admin.token")).strip(), token, "the printed token is the file's");
        first.await("read-only token ");
        JsonNode daemonJson = JsonCodec.MAPPER.readTree(Files.readString(root.resolve("data/daemon.json")));
        assertEquals(url.toString(), daemonJson.get("url").asText());
        assertEquals(first.process().pid(), daemonJson.get("pid").asLong());

        Map<String, Integer> allocated = new HashMap<>();
        for (String svc : List.of("orders-db", "billing-api", "cache-1")) {
            JsonNode a = call("POST", url.resolve("/ports/allocate"), "{\"service_name\":\"" + svc + "\",\"service_type\":\"dynamic\"}", token, 201)
                    .get("allocation");
            allocated.put(a.get("allocation_id").asText(), a.get("port").asInt());
            assertEquals(300_000, a.get("heartbeat_timeout_ms").asLong(), "--heartbeat-timeout 5m: " + a);
        }
        String released = allocated.keySet().iterator().next();
        call("POST", url.resolve("/ports/release"), "{\"allocation_id\":\"" + released + "\"}", token, 200);
        String beat = allocated.keySet().stream().filter(id -> !id.equals(released)).findFirst().orElseThrow();
        call("POST", url.resolve("/ports/heartbeat/" + beat), null, token, 200);

        first.process().destroy(); // SIGTERM
        assertTrue(first.process().waitFor(30, TimeUnit.SECONDS), "serve stops on SIGTERM");
        assertFalse(Files.exists(root.resolve("data/daemon.json")), "a clean stop removes daemon.json");
        assertTrue(Files.readString(root.resolve("stderr-0.txt")).contains("daemon stopped"));

        Child second = serve();
        URI url2 = url(second.await("ports daemon listening on "));
        expectAll(url2, allocated, released, beat);
        assertTrue(second.lines().stream().noneMatch(l -> l.startsWith("admin token")), "tokens are printed at the first start only");

        second.process().destroyForcibly(); // kill -9: no shutdown hook runs
        assertTrue(second.process().waitFor(30, TimeUnit.SECONDS));
        assertTrue(Files.exists(root.resolve("data/daemon.json")), "kill -9 leaves daemon.json behind");

        Child third = serve();
        URI url3 = url(third.await("ports daemon listening on "));
        expectAll(url3, allocated, released, beat);
        assertEquals(third.process().pid(), JsonCodec.MAPPER.readTree(Files.readString(root.resolve("data/daemon.json"))).get("pid").asLong(),
                "a stale daemon.json is replaced");
        // the restarted daemon still allocates, and never a port its records hold
        JsonNode fresh = call("POST", url3.resolve("/ports/allocate"), "{\"service_name\":\"after-restart\",\"service_type\":\"dynamic\"}", token, 201);
        int port = fresh.get("allocation").get("port").asInt();
        for (Map.Entry<String, Integer> e : allocated.entrySet()) {
            if (!e.getKey().equals(released)) {
                assertTrue(port != e.getValue(), "new port " + port + " is not a live record's");
            }
        }
        third.process().destroy();
        assertTrue(third.process().waitFor(30, TimeUnit.SECONDS));
    }

    private void expectAll(URI url, Map<String, Integer> allocated, String released, String beat) throws Exception {
        JsonNode dir = call("GET", url.resolve("/ports/directory"), null, null, 200);
        Map<String, JsonNode> byId = new HashMap<>();
        dir.get("allocations").forEach(a -> byId.put(a.get("allocation_id").asText(), a));
        for (Map.Entry<String, Integer> e : allocated.entrySet()) {
            JsonNode a = byId.get(e.getKey());
            assertTrue(a != null, "allocation " + e.getKey() + " survived the restart: " + dir);
            assertEquals((int) e.getValue(), a.get("port").asInt());
            String want = e.getKey().equals(released) ? "RELEASED" : e.getKey().equals(beat) ? "ACTIVE" : "RESERVED";
            assertEquals(want, a.get("status").asText(), a.toString());
        }
        for (Map.Entry<String, Integer> e : allocated.entrySet()) {
            if (!e.getKey().equals(released)) {
                JsonNode byPort = call("GET", url.resolve("/ports/port/" + e.getValue()), null, null, 200);
                assertEquals(e.getKey(), byPort.get("allocation").get("allocation_id").asText());
            }
        }
    }

    @Test
    void serve_badOptions_exit2WithOneLine() {
        String[][] cases = {
            {"serve", "--port", "70000"},
            {"serve", "--port", "http"},
            {"serve", "--bind", "db.example.com"},
            {"serve", "--rate-limit", "-3"},
            {"serve", "--cors-origin", "ops.example/x"},
            {"serve", "--nonsense"},
            {"serve", "--heartbeat-timeout", "2d"},
            {"serve", "--heartbeat-timeout", "soon"},
        };
        for (String[] args : cases) {
            StringWriter out = new StringWriter();
            StringWriter err = new StringWriter();
            int code = Main.newCommandLine(new PrintWriter(out, true), new PrintWriter(err, true)).execute(args);
            assertEquals(Main.USAGE, code, String.join(" ", args) + ": " + err);
            assertEquals(1, err.toString().strip().lines().count(), "one line: " + err);
            assertTrue(err.toString().startsWith("ports: "), err.toString());
        }
        StringWriter err = new StringWriter();
        Main.newCommandLine(new PrintWriter(new StringWriter(), true), new PrintWriter(err, true)).execute("serve", "--port", "70000");
        assertTrue(err.toString().contains("1-65535"), err.toString());
    }

    @Test
    void serve_secondDaemonOnTheSameDataDir_exit1_andTheFirstKeepsRunning() throws Exception {
        try (TestDaemon first = new TestDaemon()) {
            StringWriter err = new StringWriter();
            int code = Main.newCommandLine(new PrintWriter(new StringWriter(), true), new PrintWriter(err, true)).execute("serve",
                    "--port", "0", "--data-dir", first.root.resolve("data").toString(), "--lock-dir", first.root.resolve("locks").toString());
            assertEquals(Main.FAILURE, code, err.toString());
            assertEquals(1, err.toString().strip().lines().count(), err.toString());
            assertTrue(err.toString().contains(first.root.resolve("data").resolve("registry").toString()), "names the store: " + err);
            assertEquals(200, first.get("/ports/stats").status(), "the first daemon is unharmed");
            assertTrue(Files.exists(first.root.resolve("data/daemon.json")), "and its daemon.json stays");
        }
    }

    @Test
    void serve_portTaken_exit1NamingTheHolder() throws Exception {
        try (ServerSocket taken = new ServerSocket()) {
            taken.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
            StringWriter err = new StringWriter();
            int code = Main.newCommandLine(new PrintWriter(new StringWriter(), true), new PrintWriter(err, true)).execute("serve",
                    "--port", Integer.toString(taken.getLocalPort()), "--data-dir", root.resolve("data").toString(),
                    "--lock-dir", root.resolve("locks").toString());
            assertEquals(Main.FAILURE, code, err.toString());
            String e = err.toString().strip();
            assertEquals(1, e.lines().count(), e);
            assertTrue(e.contains("address already in use") && e.contains("pid " + ProcessHandle.current().pid()), e);
            assertFalse(Files.exists(root.resolve("data/daemon.json")));
        }
    }
}
