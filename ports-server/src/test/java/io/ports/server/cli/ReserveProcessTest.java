package io.ports.server.cli;

import com.fasterxml.jackson.databind.JsonNode;
import io.ports.core.HostClaim;
import io.ports.core.HostReservations;
import io.ports.core.PortRange;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/** {@code ports reserve} as its own process: the ports are claimed while it runs and released when it stops. */
class ReserveProcessTest {
    private static final long STARTUP_SECONDS = 20;
    private static final long EXIT_SECONDS = 20;

    private Path lockDir;
    private Path workDir;
    private final List<Process> processes = new ArrayList<>();
    private final ExecutorService readers = Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "reserve-stdout");
        t.setDaemon(true);
        return t;
    });

    @BeforeEach
    void createDirs() throws Exception {
        lockDir = Cli.tempDir("ports-process-lock");
        workDir = Cli.tempDir("ports-process-out");
    }

    @AfterEach
    void stopEverything() throws Exception {
        try {
            for (Process p : processes) {
                if (p.isAlive()) {
                    p.destroyForcibly();
                    p.waitFor(EXIT_SECONDS, TimeUnit.SECONDS);
                }
            }
        } finally {
            readers.shutdownNow();
            Cli.deleteTree(lockDir);
            Cli.deleteTree(workDir);
        }
    }

    @Test
    void reserve_json_claimsThePortsUntilSigtermThenReleasesThem() throws Exception {
        PortRange range = Cli.freeRange(10);
        Process process = start("reserve", "--range", range.toString(), "--count", "3", "--json",
                "--lock-dir", lockDir.toString(), "--hold", "60s");

        String line = firstLine(process);
        JsonNode json = Json.mapper().readTree(line);
        assertEquals(process.pid(), json.get("pid").asLong(), line);
        assertEquals("1m", json.get("hold").asText(), "hold in its shortest form: " + line);
        Set<Integer> ports = new HashSet<>();
        json.get("ports").forEach(p -> ports.add(p.asInt()));
        assertEquals(3, ports.size(), "3 distinct ports: " + line);

        try (HostReservations host = HostReservations.open(lockDir)) {
            for (int p : ports) {
                assertTrue(range.contains(p), "port " + p + " in " + range);
                assertTrue(host.isClaimed(p), "port " + p + " claimed while reserve runs");
            }

            process.destroy(); // SIGTERM: the shutdown hook releases the ports
            assertTrue(process.waitFor(EXIT_SECONDS, TimeUnit.SECONDS), "reserve exits on SIGTERM");

            for (int p : ports) {
                HostClaim claim = host.tryClaim(p);
                assertNotNull(claim, "port " + p + " claimable after reserve stopped");
                claim.close();
            }
        }
        assertFalse(stderr().contains("Exception"), stderr());
    }

    @Test
    void reserve_withOneSecondHold_exitsByItselfWithCodeZeroAndReleasesThePorts() throws Exception {
        PortRange range = Cli.freeRange(10);
        Process process = start("reserve", "--range", range.toString(), "--count", "3",
                "--lock-dir", lockDir.toString(), "--hold", "1s");

        if (!process.waitFor(STARTUP_SECONDS + EXIT_SECONDS, TimeUnit.SECONDS)) {
            fail("reserve --hold 1s still running; stderr: " + stderr());
        }
        assertEquals(0, process.exitValue(), stderr());
        List<String> lines;
        try (BufferedReader out = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
            lines = out.lines().toList();
        }
        assertEquals(3, lines.size(), "one port per line: " + lines);
        try (HostReservations host = HostReservations.open(lockDir)) {
            for (String l : lines) {
                int p = Integer.parseInt(l);
                assertTrue(range.contains(p), "port " + p + " in " + range);
                assertFalse(host.isClaimed(p), "port " + p + " released");
            }
        }
    }

    private Process start(String... args) throws IOException {
        List<String> command = new ArrayList<>(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"),
                Main.class.getName()));
        command.addAll(List.of(args));
        Process p = new ProcessBuilder(command)
                .redirectError(workDir.resolve("stderr.txt").toFile())
                .redirectInput(ProcessBuilder.Redirect.PIPE)
                .start();
        processes.add(p);
        return p;
    }

    /** The first line of stdout, waiting at most {@link #STARTUP_SECONDS}. */
    private String firstLine(Process process) throws Exception {
        BufferedReader out = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
        Future<String> line = readers.submit(out::readLine);
        try {
            String l = line.get(STARTUP_SECONDS, TimeUnit.SECONDS);
            if (l == null) {
                fail("reserve printed nothing and exited with " + process.waitFor() + "; stderr: " + stderr());
            }
            return l;
        } catch (TimeoutException e) {
            process.destroyForcibly();
            throw new AssertionError("reserve printed nothing within " + STARTUP_SECONDS + " s; stderr: " + stderr(), e);
        }
    }

    private String stderr() {
        try {
            Path f = workDir.resolve("stderr.txt");
            return Files.exists(f) ? Files.readString(f) : "";
        } catch (IOException e) {
            return "(stderr unreadable: " + e + ")";
        }
    }
}
