package io.ports.core.testsupport;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;

/** Starts a child JVM on the test class path and reads its output line by line with bounded waits. */
public final class Jvm implements AutoCloseable {
    private final Process process;
    private final BlockingQueue<String> lines = new ArrayBlockingQueue<>(10_000);

    private Jvm(Process process) {
        this.process = process;
        Thread t = new Thread(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
                String line;
                while ((line = r.readLine()) != null) {
                    lines.offer(line);
                }
            } catch (IOException ignored) {
                // the process is gone
            }
        }, "jvm-reader-" + process.pid());
        t.setDaemon(true);
        t.start();
    }

    /** {@code prefix} (for example {@code setpriv ...}) may be empty. */
    public static Jvm start(List<String> prefix, Class<?> main, String... args) throws IOException {
        List<String> cmd = new ArrayList<>(prefix);
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.add("-Xshare:auto");
        cmd.add("-XX:TieredStopAtLevel=1");
        // a child that records JFR events (ThreadStarts) keeps its repository under the module's target/, not in /tmp,
        // where JFR would leave an empty directory per JVM
        cmd.add("-XX:FlightRecorderOptions=repository=" + Path.of("target", "jfr").toAbsolutePath());
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add(main.getName());
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.INHERIT);
        return new Jvm(pb.start());
    }

    public static Jvm start(Class<?> main, String... args) throws IOException {
        return start(List.of(), main, args);
    }

    public Process process() {
        return process;
    }

    /** The next line starting with {@code prefix} (other lines are skipped), or an AssertionError after {@code seconds}. */
    public String await(String prefix, long seconds) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        while (true) {
            long left = deadline - System.nanoTime();
            String line = left > 0 ? lines.poll(left, TimeUnit.NANOSECONDS) : null;
            if (line == null) {
                throw new AssertionError("child " + process.pid() + " printed no line starting with '" + prefix + "' within "
                        + seconds + " s (alive: " + process.isAlive() + ")");
            }
            if (line.startsWith(prefix)) {
                return line.substring(prefix.length()).trim();
            }
        }
    }

    /** The next line, or null when none comes within {@code millis}. */
    public String poll(long millis) throws InterruptedException {
        return millis <= 0 ? lines.poll() : lines.poll(millis, TimeUnit.MILLISECONDS);
    }

    public void send(String line) throws IOException {
        process.getOutputStream().write((line + "\n").getBytes(StandardCharsets.UTF_8));
        process.getOutputStream().flush();
    }

    /** Kills the child (SIGKILL) if it still runs and waits for it, bounded. */
    @Override
    public void close() {
        if (process.isAlive()) {
            process.destroyForcibly();
        }
        try {
            process.waitFor(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
