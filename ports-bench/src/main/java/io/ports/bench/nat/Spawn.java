package io.ports.bench.nat;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Runs a reference client as a process, the way a script or an operator would: {@link ProcessBuilder},
 * stdout and stderr together in one pipe read to the end, then the exit code. Every run is bounded: a
 * watchdog thread kills the process after the timeout (the job of coreutils' {@code timeout}, without
 * the extra exec in the measured path), and the run then fails with what the client printed. The
 * same path serves the spawn baselines ({@code true}, a client printing its usage), so that what
 * spawning costs is measured exactly as it is paid by the clients.
 */
final class Spawn implements AutoCloseable {
    /** What a run printed and how it ended. */
    record Result(List<String> command, int exitCode, String output, boolean killed) {
        /** Fails unless the client exited with {@code code} and printed {@code expected}. */
        Result require(int code, String expected) {
            if (killed) {
                throw new IllegalStateException(String.join(" ", command) + " did not finish within the timeout and was killed; it printed: "
                        + output);
            }
            if (exitCode != code || !output.contains(expected)) {
                throw new IllegalStateException(String.join(" ", command) + " exited " + exitCode + " (expected " + code + ") and printed '"
                        + output.trim() + "' (expected it to contain '" + expected + "')");
            }
            return this;
        }
    }

    private final ScheduledExecutorService watchdog = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "spawn-watchdog");
        t.setDaemon(true);
        return t;
    });
    private final long timeoutMillis;

    Spawn(long timeoutMillis) {
        this.timeoutMillis = timeoutMillis;
    }

    Result run(List<String> command) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        p.getOutputStream().close();
        AtomicBoolean killed = new AtomicBoolean();
        ScheduledFuture<?> kill = watchdog.schedule(() -> {
            killed.set(true);
            p.destroyForcibly();
        }, timeoutMillis, TimeUnit.MILLISECONDS);
        byte[] out;
        try (InputStream in = p.getInputStream()) {
            out = in.readAllBytes(); // EOF when the client exits (or is killed)
        }
        int code = p.waitFor();
        kill.cancel(false);
        return new Result(command, code, new String(out, StandardCharsets.UTF_8), killed.get());
    }

    /** The absolute path of {@code name} in the usual directories, or a failure naming the Debian package to install. */
    static String require(String name, String debianPackage) {
        for (String d : List.of("/usr/bin", "/usr/sbin", "/bin", "/sbin", "/usr/local/bin", "/usr/local/sbin")) {
            Path p = Path.of(d, name);
            if (Files.isExecutable(p)) {
                return p.toString();
            }
        }
        throw new IllegalStateException(name + " is not installed: apt-get install " + debianPackage
                + " (scripts/test installs it on a fresh Debian machine)");
    }

    static List<String> command(String... parts) {
        return new ArrayList<>(List.of(parts));
    }

    @Override
    public void close() {
        watchdog.shutdownNow();
    }
}
