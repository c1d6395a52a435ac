package io.ports.server.cli;

import com.fasterxml.jackson.databind.JsonNode;
import io.ports.core.HostClaim;
import io.ports.core.HostReservations;
import io.ports.core.PortRange;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code reserve} in this JVM, with holds short enough to return; see {@link ReserveProcessTest} for signals. */
class ReserveCommandTest {
    private Path lockDir;

    @BeforeEach
    void createLockDir() throws Exception {
        lockDir = Cli.tempDir("ports-reserve-test");
    }

    @AfterEach
    void deleteLockDir() {
        Cli.deleteTree(lockDir);
    }

    @Test
    void reserve_withShortHold_printsJsonLineAndReleasesThePortsWhenDone() throws Exception {
        PortRange range = Cli.freeRange(5);

        Cli.Run run = Cli.run("reserve", "--range", range.toString(), "--count", "2", "--hold", "100ms", "--json",
                "--lock-dir", lockDir.toString(), "--strategy", "random");

        assertEquals(Main.OK, run.exitCode(), run::toString);
        assertEquals(1, run.outLines().size(), run::toString);
        JsonNode json = Json.mapper().readTree(run.out());
        assertEquals(range.toString(), json.get("range").asText());
        assertEquals("random", json.get("strategy").asText());
        assertEquals("100ms", json.get("hold").asText());
        assertEquals(ProcessHandle.current().pid(), json.get("pid").asLong());
        assertTrue(json.get("lock_file").asText().startsWith(lockDir.toRealPath().toString())
                || json.get("lock_file").asText().startsWith(lockDir.toAbsolutePath().toString()), run::toString);
        Set<Integer> ports = new HashSet<>();
        json.get("ports").forEach(p -> ports.add(p.asInt()));
        assertEquals(2, ports.size(), run::toString);
        try (HostReservations host = HostReservations.open(lockDir)) {
            for (int p : ports) {
                assertTrue(range.contains(p), run::toString);
                assertTrue(!host.isClaimed(p), "port " + p + " released after the hold");
            }
        }
    }

    @Test
    void reserve_plainOutput_printsOnePortPerLine() {
        PortRange range = Cli.freeRange(3);

        Cli.Run run = Cli.run("reserve", "--range", range.toString(), "--count", "3", "--hold", "0", "--lock-dir", lockDir.toString());

        assertEquals(Main.OK, run.exitCode(), run::toString);
        assertEquals(List.of(Integer.toString(range.start()), Integer.toString(range.start() + 1), Integer.toString(range.end())),
                run.outLines(), run::toString);
    }

    @Test
    void reserve_rangeAlreadyClaimed_printsOneLineAndExitsOne() {
        PortRange range = Cli.freeRange(2);
        List<HostClaim> claims = new ArrayList<>();
        try (HostReservations host = HostReservations.open(lockDir)) {
            for (int p : range) {
                HostClaim c = host.tryClaim(p);
                assertNotNull(c, "claim of port " + p);
                claims.add(c);
            }
            try {
                Cli.Run run = Cli.run("reserve", "--range", range.toString(), "--count", "1", "--hold", "1s", "--lock-dir", lockDir.toString());

                assertEquals(Main.FAILURE, run.exitCode(), run::toString);
                assertEquals("", run.out(), run::toString);
                assertEquals(1, run.errLines().size(), run::toString);
                assertTrue(run.errLines().get(0).startsWith("ports: no free port"), run::toString);
                assertTrue(run.errLines().get(0).contains(range.toString()), run::toString);
            } finally {
                claims.forEach(HostClaim::close);
            }
        }
    }
}
