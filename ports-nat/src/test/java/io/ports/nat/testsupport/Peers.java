package io.ports.nat.testsupport;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Finding the peer binaries and privileges the real-peer tests need: skipped with a reason on a
 * developer machine, a failure on CI ({@code CI=true}), where scripts/test installs everything and
 * runs as root.
 */
public final class Peers {
    private Peers() {
    }

    public static boolean onCi() {
        return "true".equals(System.getenv("CI"));
    }

    /** The first executable {@code name} in the usual directories, or null. */
    public static Path find(String name) {
        for (String d : List.of("/usr/sbin", "/usr/bin", "/sbin", "/bin", "/usr/local/sbin", "/usr/local/bin")) {
            Path p = Path.of(d, name);
            if (Files.isExecutable(p)) {
                return p;
            }
        }
        return null;
    }

    /** Skips (or fails on CI) unless every binary is there; {@code packages} names the Debian packages to install. */
    public static void requireBinaries(String packages, String... names) {
        List<String> missing = new ArrayList<>();
        for (String n : names) {
            if (find(n) == null) {
                missing.add(n);
            }
        }
        if (!missing.isEmpty() && onCi()) {
            throw new AssertionError(String.join(", ", missing) + " missing on CI: scripts/test must install the Debian packages " + packages);
        }
        assumeTrue(missing.isEmpty(), String.join(", ", missing) + " not installed (apt-get install " + packages
                + "); the tests against the real peer are skipped");
    }

    public static boolean isRoot() {
        try {
            return Files.readString(Path.of("/proc/self/status")).lines()
                    .filter(l -> l.startsWith("Uid:")).findFirst()
                    .map(l -> l.split("\\s+")[2].equals("0")).orElse(false);
        } catch (IOException e) {
            return false;
        }
    }

    /** Skips (or fails on CI) unless root: creating network namespaces needs CAP_SYS_ADMIN and CAP_NET_ADMIN. */
    public static void requireRoot(String what) {
        boolean root = isRoot();
        if (!root && onCi()) {
            throw new AssertionError(what + " need root (network namespaces), and CI runs as root: something dropped the privilege");
        }
        assumeTrue(root, what + " need root to create network namespaces; run as root (CI does) to include them");
    }

    /** The result of {@link #run}. */
    public record Result(int exitCode, String output) {
        public boolean ok() {
            return exitCode == 0;
        }
    }

    /** Runs a command, stdout and stderr together, killed after {@code seconds}. */
    public static Result run(long seconds, List<String> command) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        p.getOutputStream().close();
        byte[][] out = new byte[1][];
        Thread reader = new Thread(() -> {
            try {
                out[0] = p.getInputStream().readAllBytes();
            } catch (IOException e) {
                out[0] = new byte[0];
            }
        }, "cmd-reader");
        reader.setDaemon(true);
        reader.start();
        if (!p.waitFor(seconds, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            p.waitFor(5, TimeUnit.SECONDS);
            reader.join(2000);
            return new Result(-1, "(killed after " + seconds + " s) " + (out[0] == null ? "" : new String(out[0], StandardCharsets.UTF_8)));
        }
        reader.join(5000);
        return new Result(p.exitValue(), out[0] == null ? "" : new String(out[0], StandardCharsets.UTF_8));
    }

    public static Result run(long seconds, String... command) throws IOException, InterruptedException {
        return run(seconds, List.of(command));
    }

    /** Runs a command and fails with its output unless it exits 0. */
    public static String check(long seconds, String... command) throws IOException, InterruptedException {
        Result r = run(seconds, command);
        if (!r.ok()) {
            throw new IllegalStateException(String.join(" ", command) + " exited " + r.exitCode() + ": " + r.output());
        }
        return r.output();
    }

    /** Waits (bounded) until the process is gone or a zombie. */
    public static void awaitGone(long pid, long millis) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(millis);
        while (System.nanoTime() < deadline) {
            Path status = Path.of("/proc", Long.toString(pid), "status");
            try {
                String s = Files.readString(status);
                if (s.lines().anyMatch(l -> l.startsWith("State:") && l.contains("Z"))) {
                    return;
                }
            } catch (IOException gone) {
                return;
            }
            Thread.sleep(20);
        }
    }

    /** The last {@code n} lines of {@code text}. */
    public static String tail(String text, int n) {
        String[] lines = text.split("\n");
        StringBuilder s = new StringBuilder();
        for (int i = Math.max(0, lines.length - n); i < lines.length; i++) {
            s.append(lines[i]).append('\n');
        }
        return s.toString();
    }
}
