package io.ports.server.cli;

import com.fasterxml.jackson.databind.JsonNode;
import io.ports.core.HostClaim;
import io.ports.core.HostReservations;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

class CheckCommandTest {
    private Path lockDir;

    @BeforeEach
    void createLockDir() throws Exception {
        lockDir = Cli.tempDir("ports-check-test");
    }

    @AfterEach
    void deleteLockDir() {
        Cli.deleteTree(lockDir);
    }

    @Test
    void check_freePort_reportsFreeAndExitsZero() {
        int port = Cli.freeRange(1).start();

        Cli.Run run = Cli.run("check", Integer.toString(port), "--lock-dir", lockDir.toString());

        assertEquals(Main.OK, run.exitCode(), run::toString);
        assertEquals(java.util.List.of(port + " free"), run.outLines(), run::toString);
        assertEquals("", run.err(), run::toString);
    }

    @Test
    void check_portBoundByServer_reportsInUseWithOwner() throws Exception {
        int port = Cli.freeRange(1).start();
        try (ServerSocket server = new ServerSocket()) {
            server.setReuseAddress(true);
            server.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port));

            Cli.Run run = Cli.run("check", Integer.toString(port), "--lock-dir", lockDir.toString());

            assertEquals(Main.FAILURE, run.exitCode(), run::toString);
            String line = run.outLines().get(0);
            assertTrue(line.startsWith(port + " in use"), run::toString);
            assertTrue(line.contains("LISTEN by pid " + ProcessHandle.current().pid()), run::toString);
            assertEquals("", run.err(), run::toString);
        }
    }

    @Test
    void check_portClaimedThroughHostReservations_reportsReserved() {
        int port = Cli.freeRange(1).start();
        try (HostReservations host = HostReservations.open(lockDir)) {
            HostClaim claim = host.tryClaim(port);
            assertNotNull(claim, "claim of port " + port);
            try {
                Cli.Run run = Cli.run("check", Integer.toString(port), "--lock-dir", lockDir.toString());

                assertEquals(Main.FAILURE, run.exitCode(), run::toString);
                assertTrue(run.outLines().get(0).startsWith(port + " reserved"), run::toString);
            } finally {
                claim.close();
            }
        }
    }

    @Test
    void check_severalPortsAsJson_reportsEachStatusOnOneLine() throws Exception {
        var range = Cli.freeRange(2);
        int free = range.start();
        int busy = range.end();
        try (ServerSocket server = new ServerSocket()) {
            server.setReuseAddress(true);
            server.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), busy));

            Cli.Run run = Cli.run("check", "--json", "--lock-dir", lockDir.toString(), Integer.toString(free), Integer.toString(busy));

            assertEquals(Main.FAILURE, run.exitCode(), run::toString);
            assertEquals(1, run.outLines().size(), run::toString);
            JsonNode json = Json.mapper().readTree(run.out());
            assertEquals(false, json.get("all_free").asBoolean());
            assertEquals(free, json.get("ports").get(0).get("port").asInt());
            assertEquals("free", json.get("ports").get(0).get("status").asText());
            JsonNode used = json.get("ports").get(1);
            assertEquals(busy, used.get("port").asInt());
            assertEquals("in_use", used.get("status").asText());
            assertTrue(used.get("owners").toString().contains("pid " + ProcessHandle.current().pid()), run::toString);
        }
    }

    @Test
    void check_lockDirectoryUnusable_printsOneLineAndExitsOne() throws Exception {
        Path notADirectory = java.nio.file.Files.createFile(lockDir.resolve("a-file"));

        Cli.Run run = Cli.run("check", "20000", "--lock-dir", notADirectory.toString());

        assertEquals(Main.FAILURE, run.exitCode(), run::toString);
        assertEquals("", run.out(), run::toString);
        assertEquals(1, run.errLines().size(), run::toString);
        assertTrue(run.errLines().get(0).startsWith("ports: cannot open the host-wide lock file " + notADirectory), run::toString);
    }

    @Test
    void check_allFreeAsJson_exitsZero() throws Exception {
        int port = Cli.freeRange(1).start();

        Cli.Run run = Cli.run("check", Integer.toString(port), "--json", "--lock-dir", lockDir.toString());

        assertEquals(Main.OK, run.exitCode(), run::toString);
        JsonNode json = Json.mapper().readTree(run.out());
        assertTrue(json.get("all_free").asBoolean(), run::toString);
    }
}
