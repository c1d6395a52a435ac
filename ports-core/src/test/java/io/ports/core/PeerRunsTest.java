package io.ports.core;

import io.ports.core.testsupport.PeerRuns;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class PeerRunsTest {
    @TempDir
    Path root;

    private static Process fakeServer(String name, Path run) throws Exception {
        // cmdline: bash -c "sleep 60; exit 0" NAME RUN_DIR
        return new ProcessBuilder("bash", "-c", "sleep 60; exit 0", name, run.toString()).start(); // two commands: bash stays
    }

    @Test
    void crashedRun_isKilledAndDeleted_liveRunsAndStrangersAreNot() throws Exception {
        Path crashed = Files.createDirectory(root.resolve("run-crashed"));
        Path live = Files.createDirectory(root.resolve("run-live"));
        Path otherPid = Files.createDirectory(root.resolve("run-stranger"));
        Process leftover = fakeServer("fakepeerd", crashed);
        Process liveServer = fakeServer("fakepeerd", live);
        Process stranger = fakeServer("fakepeerd", root.resolve("elsewhere"));
        try (FileChannel ch = FileChannel.open(live.resolve("owner.lock"), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
             FileLock held = ch.lock()) {
            Files.writeString(crashed.resolve("peer.pid"), Long.toString(leftover.pid()));
            Files.writeString(live.resolve("peer.pid"), Long.toString(liveServer.pid()));
            Files.writeString(otherPid.resolve("peer.pid"), Long.toString(stranger.pid())); // names a process of another dir

            PeerRuns.cleanLeftovers(root, "peer.pid", "fakepeerd");

            assertTrue(leftover.waitFor(10, TimeUnit.SECONDS), "the crashed run's server was killed");
            assertFalse(Files.exists(crashed));
            assertTrue(liveServer.isAlive() && Files.exists(live), "a run whose owner lives is left alone");
            assertTrue(stranger.isAlive(), "a process whose command line does not name the run is never killed");
            assertFalse(Files.exists(otherPid), "the dead run's directory is deleted anyway");
            assertTrue(held.isValid());
        } finally {
            for (Process p : new Process[] {leftover, liveServer, stranger}) {
                p.descendants().forEach(ProcessHandle::destroyForcibly); // bash's sleep, or it outlives the test
                p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            }
        }
    }
}
