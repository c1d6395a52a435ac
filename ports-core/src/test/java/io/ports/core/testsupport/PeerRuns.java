package io.ports.core.testsupport;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * The crash-safe run directories of the tests' peer servers (knotd, turnserver, ...). A test makes
 * {@code ROOT/run-*}, keeps {@code owner.lock} in it locked while its server runs, and writes the
 * server's pid file there. A run directory whose lock can be taken belongs to a JVM that died:
 * {@link #cleanLeftovers} kills that run's server (only when {@code /proc/PID/cmdline} names both the
 * binary and that directory, so no unrelated process is ever touched) and deletes the directory.
 */
public final class PeerRuns {
    private PeerRuns() {
    }

    /** Kills and deletes what crashed earlier runs left under {@code root}; never touches a live run. */
    public static void cleanLeftovers(Path root, String pidFile, String binary) {
        List<Path> runs = new ArrayList<>();
        try (Stream<Path> s = Files.list(root)) {
            s.filter(p -> p.getFileName().toString().startsWith("run-")).forEach(runs::add);
        } catch (IOException e) {
            return; // no root yet
        }
        for (Path run : runs) {
            try (FileChannel ch = FileChannel.open(run.resolve("owner.lock"), StandardOpenOption.CREATE, StandardOpenOption.WRITE)) {
                FileLock l = ch.tryLock();
                if (l == null) {
                    continue; // its JVM is alive
                }
                try {
                    killLeftover(run, pidFile, binary);
                } finally {
                    l.release();
                }
            } catch (OverlappingFileLockException | IOException mine) {
                continue; // this JVM's own live run, or not ours to judge
            }
            deleteTree(run);
        }
    }

    private static void killLeftover(Path run, String pidFile, String binary) {
        try {
            long pid = Long.parseLong(Files.readString(run.resolve(pidFile)).strip());
            String cmdline = Files.readString(Path.of("/proc", Long.toString(pid), "cmdline")).replace('\0', ' ');
            if (cmdline.contains(binary) && cmdline.contains(run.toString())) {
                ProcessHandle.of(pid).ifPresent(h -> {
                    System.out.println("killing " + binary + " " + pid + " left by a crashed run in " + run);
                    h.descendants().forEach(ProcessHandle::destroyForcibly);
                    h.destroy();
                    try {
                        h.onExit().get(5, TimeUnit.SECONDS);
                    } catch (Exception e) {
                        h.destroyForcibly();
                    }
                });
            }
        } catch (IOException | NumberFormatException nothingToKill) {
            // no pid file, or no such process
        }
    }

    /**
     * Deletes the root of a peer's run directories once it is empty (its last run deleted); a root another run
     * still uses, or that holds a crashed run's leftovers to clean at the next start, stays.
     */
    public static void deleteEmptyRoot(Path root) {
        try {
            Files.deleteIfExists(root);
        } catch (IOException notEmpty) {
            // another run is live, or left something to clean next time
        }
    }

    /** Deletes a directory tree, best effort. */
    public static void deleteTree(Path root) {
        if (root == null || !Files.exists(root)) {
            return;
        }
        try (Stream<Path> s = Files.walk(root)) {
            s.sorted(Comparator.reverseOrder()).forEach(p -> {
                try {
                    Files.deleteIfExists(p);
                } catch (IOException ignored) {
                    // best effort
                }
            });
        } catch (IOException ignored) {
            // best effort
        }
    }
}
