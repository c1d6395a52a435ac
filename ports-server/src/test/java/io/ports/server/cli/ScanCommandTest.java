package io.ports.server.cli;

import com.fasterxml.jackson.databind.JsonNode;
import io.ports.core.HostClaim;
import io.ports.core.HostReservations;
import io.ports.core.PortRange;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ScanCommandTest {
    private Path lockDir;

    @BeforeEach
    void createLockDir() throws Exception {
        lockDir = Cli.tempDir("ports-scan-test");
    }

    @AfterEach
    void deleteLockDir() {
        Cli.deleteTree(lockDir);
    }

    @Test
    void scan_rangeWithOnePortInUse_summarisesAndCompactsFreePorts() throws Exception {
        PortRange range = Cli.freeRange(6);
        int s = range.start();
        int busy = s + 2;
        try (ServerSocket server = new ServerSocket()) {
            server.setReuseAddress(true);
            server.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), busy));

            Cli.Run run = Cli.run("scan", range.toString(), "--lock-dir", lockDir.toString());

            assertEquals(Main.OK, run.exitCode(), run::toString);
            List<String> lines = run.outLines();
            assertEquals(range + ": 6 ports, 5 free, 1 in use, 0 reserved", lines.get(0), run::toString);
            assertEquals("free: " + s + "-" + (s + 1) + ", " + (s + 3) + "-" + (s + 5), lines.get(1), run::toString);
            assertEquals("used:", lines.get(2), run::toString);
            assertTrue(lines.get(3).startsWith("  " + busy + " in use"), run::toString);
            assertTrue(lines.get(3).contains("by pid " + ProcessHandle.current().pid()), run::toString);
            assertEquals(4, lines.size(), run::toString);
            assertEquals("", run.err(), "no progress bar off a terminal: " + run);
        }
    }

    @Test
    void scan_onATerminal_drawsTheProgressBarOnStderr_andErasesIt() throws Exception {
        PortRange range = Cli.freeRange(20);
        java.util.function.BooleanSupplier savedInteractive = ScanCommand.interactive;
        long savedInterval = ScanCommand.progressIntervalNanos;
        ScanCommand.interactive = () -> true;   // as with a console
        ScanCommand.progressIntervalNanos = 0;  // every step drawn, however fast the scan
        Cli.Run run;
        try {
            run = Cli.run("scan", range.toString(), "--lock-dir", lockDir.toString());
        } finally {
            ScanCommand.interactive = savedInteractive;
            ScanCommand.progressIntervalNanos = savedInterval;
        }
        assertEquals(Main.OK, run.exitCode(), run::toString);
        assertEquals(range + ": 20 ports, 20 free, 0 in use, 0 reserved", run.outLines().get(0), "the result on stdout: " + run);
        String err = run.err();
        assertTrue(!err.contains("\n"), "one line, redrawn: " + err);
        String[] draws = err.split("\r");
        // "", then one drawing per port, then the erasing blanks and "" after the last \r
        assertTrue(err.startsWith("\rscanning " + range + " [#"), err);
        assertTrue(err.contains("\rscanning " + range + " [" + "#".repeat(15) + " ".repeat(15) + "] 10/20"), "half way: " + err);
        assertTrue(err.contains("\rscanning " + range + " [" + "#".repeat(30) + "] 20/20"), "done: " + err);
        assertTrue(err.matches("(?s).*20/20\r +\r"), "erased at the end: " + err);
        assertEquals(20, java.util.Arrays.stream(draws).filter(d -> d.startsWith("scanning ")).count(), err);
    }

    @Test
    void scan_rangeWithPortInUseAndPortReserved_countsAndListsBoth() throws Exception {
        PortRange range = Cli.freeRange(5);
        int s = range.start();
        int busy = s + 1;
        int reserved = s + 4;
        try (ServerSocket server = new ServerSocket(); HostReservations host = HostReservations.open(lockDir)) {
            server.setReuseAddress(true);
            server.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), busy));
            HostClaim claim = host.tryClaim(reserved);
            assertNotNull(claim);
            try {
                Cli.Run run = Cli.run("scan", range.toString(), "--lock-dir", lockDir.toString());

                assertEquals(Main.OK, run.exitCode(), run::toString);
                List<String> lines = run.outLines();
                assertEquals(range + ": 5 ports, 3 free, 1 in use, 1 reserved", lines.get(0), run::toString);
                assertEquals("free: " + s + ", " + (s + 2) + "-" + (s + 3), lines.get(1), run::toString);
                assertTrue(lines.get(3).startsWith("  " + busy + " in use"), run::toString);
                assertTrue(lines.get(4).startsWith("  " + reserved + " reserved"), run::toString);
            } finally {
                claim.close();
            }
        }
    }

    @Test
    void scan_json_reportsCountsFreeRangesAndOwnersOnOneLine() throws Exception {
        PortRange range = Cli.freeRange(4);
        int s = range.start();
        int busy = range.end();
        try (ServerSocket server = new ServerSocket()) {
            server.setReuseAddress(true);
            server.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), busy));

            Cli.Run run = Cli.run("scan", range.toString(), "--json", "--lock-dir", lockDir.toString());

            assertEquals(Main.OK, run.exitCode(), run::toString);
            assertEquals(1, run.outLines().size(), run::toString);
            JsonNode json = Json.mapper().readTree(run.out());
            assertEquals(range.toString(), json.get("range").asText());
            assertEquals(4, json.get("size").asInt());
            assertEquals(3, json.get("free").asInt());
            assertEquals(1, json.get("in_use").asInt());
            assertEquals(0, json.get("reserved").asInt());
            assertEquals(s + "-" + (s + 2), json.get("free_ranges").get(0).asText());
            assertEquals(1, json.get("free_ranges").size());
            JsonNode used = json.get("used").get(0);
            assertEquals(busy, used.get("port").asInt());
            assertEquals("in_use", used.get("status").asText());
            assertTrue(used.get("owners").toString().contains("pid " + ProcessHandle.current().pid()), run::toString);
        }
    }
}
