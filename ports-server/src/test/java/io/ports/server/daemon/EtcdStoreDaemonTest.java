package io.ports.server.daemon;

import com.fasterxml.jackson.databind.JsonNode;
import io.ports.etcd.testsupport.EtcdCluster;
import io.ports.server.cli.Main;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Set;
import java.util.UUID;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code ports serve --store etcd://...} and {@code ports migrate} against a real etcd member: two daemons
 * sharing one etcd see each other's allocations and never give out one port twice, the health report names
 * the store, and a file store migrates into etcd (all or nothing) and is served from there.
 */
class EtcdStoreDaemonTest {
    private static EtcdCluster etcd;

    @BeforeAll
    static void startEtcd() throws Exception {
        EtcdCluster.require();
        etcd = EtcdCluster.start(1);
    }

    @AfterAll
    static void stopEtcd() {
        if (etcd != null) {
            etcd.close();
        }
    }

    /** A store URI with a prefix of its own, so the tests do not see each other's records. */
    private static String store() {
        return etcd.uri() + "/t" + UUID.randomUUID().toString().substring(0, 8) + "/";
    }

    private record Run(int exit, String out, String err) {
    }

    private static Run cli(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int code = Main.newCommandLine(new PrintWriter(out, true), new PrintWriter(err, true)).execute(args);
        return new Run(code, out.toString(), err.toString());
    }

    @Test
    void twoDaemonsOnOneEtcd_seeEachOther_andNeverShareAPort() throws Exception {
        String uri = store();
        try (TestDaemon a = new TestDaemon(c -> c.withStore(uri));
             TestDaemon b = new TestDaemon(c -> c.withStore(uri).withCatalog(a.daemon.config().catalog()))) {
            JsonNode health = a.get("/ports/health").json().get("store");
            assertEquals("EtcdRegistryStore", health.get("kind").asText(), health.toString());
            assertTrue(health.get("shared").asBoolean(), health.toString());
            assertFalse(health.get("stale").asBoolean(), health.toString());

            // both daemons allocate from the same range, with separate host lock files: only etcd keeps them apart
            Set<Integer> ports = new HashSet<>();
            for (int i = 0; i < 6; i++) {
                TestDaemon d = i % 2 == 0 ? a : b;
                int port = d.allocate("svc-" + i, "db").get("port").asInt();
                assertTrue(ports.add(port), "port " + port + " was handed out twice: " + ports);
            }
            // what a allocated shows in b's directory through the watch (bounded wait)
            JsonNode mine = a.allocate("from-a", "web");
            String id = mine.get("allocation_id").asText();
            boolean seen = false;
            for (int i = 0; i < 100 && !seen; i++) {
                seen = b.get("/ports/directory").body().contains(id);
                if (!seen) {
                    Thread.sleep(50);
                }
            }
            assertTrue(seen, "b's directory never showed a's allocation " + id + ": " + b.get("/ports/directory").body());

            // a required port a holds is a conflict for b, and b's refusal changes nothing
            int held = mine.get("port").asInt();
            TestDaemon.Reply r = b.admin("/ports/allocate",
                    "{\"service_name\":\"thief\",\"service_type\":\"web\",\"preferred_port\":" + held + ",\"required\":true}");
            assertEquals(409, r.status(), r.body());
            assertFalse(a.get("/ports/directory").body().contains("thief"), "a refused allocation was stored");
        }
    }

    @Test
    void fileStoreMigratesIntoEtcd_andTheDaemonServesItFromThere() throws Exception {
        String uri = store();
        Path registryDir;
        String id1;
        String id2;
        Path keep = Files.createTempDirectory("ports-migrate-test");
        try {
            try (TestDaemon file = new TestDaemon(c -> c.withHeartbeatTimeout(java.time.Duration.ofMinutes(5)))) {
                id1 = file.allocate("orders-db", "db").get("allocation_id").asText();
                id2 = file.allocate("orders-web", "web").get("allocation_id").asText();
                file.daemon.close();
                // the test daemon deletes its directory at close: copy the store out first
                registryDir = keep.resolve("registry");
                copyTree(file.root.resolve("data").resolve("registry"), registryDir);
            }

            Run bad = cli("migrate", "--from", "file:" + registryDir, "--to", "nosuch://x");
            assertEquals(Main.USAGE, bad.exit(), bad.toString());
            assertTrue(bad.err().contains("--to") && bad.err().contains("nosuch"), bad.err());

            Run ok = cli("migrate", "--from", "file:" + registryDir, "--to", uri, "--json");
            assertEquals(Main.OK, ok.exit(), ok.toString());
            assertTrue(ok.out().contains("\"records\":2"), ok.out());

            // all or nothing: the same records again are refused, naming an id
            Run again = cli("migrate", "--from", "file:" + registryDir, "--to", uri);
            assertEquals(Main.FAILURE, again.exit(), again.toString());
            assertTrue(again.err().contains(id1) || again.err().contains(id2), again.err());

            try (TestDaemon onEtcd = new TestDaemon(c -> c.withStore(uri))) {
                String dir = onEtcd.get("/ports/directory").body();
                assertTrue(dir.contains(id1) && dir.contains(id2), dir);
            }
        } finally {
            TestDaemon.deleteTree(keep);
        }
    }

    @Test
    void badStoreUri_isAUsageError_andStartsNothing() throws Exception {
        Path dir = Files.createTempDirectory("ports-serve-store-test");
        try {
            Run r = cli("serve", "--port", "0", "--data-dir", dir.toString(), "--store", "etcd://127.0.0.1:notaport");
            assertEquals(Main.USAGE, r.exit(), r.toString());
            assertTrue(r.err().contains("--store"), r.err());
            assertFalse(Files.exists(dir.resolve("daemon.json")), "a refused start wrote daemon.json");
        } finally {
            TestDaemon.deleteTree(dir);
        }
    }

    private static void copyTree(Path from, Path to) throws java.io.IOException {
        try (var paths = Files.walk(from)) {
            for (Path p : paths.toList()) {
                Path target = to.resolve(from.relativize(p).toString());
                if (Files.isDirectory(p)) {
                    Files.createDirectories(target);
                } else {
                    Files.copy(p, target);
                }
            }
        }
    }
}
