package io.ports.bench.tunnel;

import io.ports.core.testsupport.PeerRuns;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Debian's websockify (0.10, package {@code websockify}) as the benchmarks' peer:
 * {@code websockify --log-file=RUN/websockify.log 127.0.0.1:PORT TARGET}, its default mode (a
 * process forked per connection; numpy unmasks the frames), started on a free loopback port and
 * ready once it accepts a TCP connection (polled every 50 ms, at most 10 s).
 *
 * <p>Each run has its directory {@code java.io.tmpdir/ports-bench-websockify/run-*} holding
 * {@code owner.lock} (locked while websockify runs), {@code websockify.pid} and the log. A run
 * directory whose lock can be taken was left by a JVM that died; {@link #start} first kills that
 * websockify and its children (only when its command line names the run directory) and deletes the
 * directory ({@link PeerRuns}). {@link #close} stops websockify and every child, then deletes the
 * directory.
 */
final class WebsockifyProcess implements AutoCloseable {
    static final Path BINARY = Path.of("/usr/bin/websockify");
    static final Path ROOT = Path.of(System.getProperty("java.io.tmpdir"), "ports-bench-websockify");

    private final Process process;
    private final Path dir;
    private final FileChannel lockChannel;
    private final FileLock lock;
    final int port;
    private boolean closed;

    private WebsockifyProcess(Process process, Path dir, FileChannel lockChannel, FileLock lock, int port) {
        this.process = process;
        this.dir = dir;
        this.lockChannel = lockChannel;
        this.lock = lock;
        this.port = port;
    }

    /** Starts websockify in front of {@code target} ({@code host:port}); fails naming the cause, after cleaning up. */
    static WebsockifyProcess start(String target) throws IOException, InterruptedException {
        if (!Files.isExecutable(BINARY)) {
            throw new IllegalStateException(BINARY + " is missing: install the Debian package websockify "
                    + "(apt-get install websockify) to run the websockify rows, or leave them out with -p path=ours,direct");
        }
        Files.createDirectories(ROOT);
        PeerRuns.cleanLeftovers(ROOT, "websockify.pid", "websockify");
        Path dir = Files.createTempDirectory(ROOT, "run-");
        FileChannel ch = FileChannel.open(dir.resolve("owner.lock"), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
        FileLock lock = ch.lock();
        int port = freePort();
        Path out = dir.resolve("stdout.log");
        List<String> cmd = List.of(BINARY.toString(), "--log-file=" + dir.resolve("websockify.log"), "127.0.0.1:" + port, target);
        Process p;
        try {
            p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(out.toFile()).start();
        } catch (IOException e) {
            lock.release();
            ch.close();
            PeerRuns.deleteTree(dir);
            throw e;
        }
        WebsockifyProcess w = new WebsockifyProcess(p, dir, ch, lock, port);
        try {
            Files.writeString(dir.resolve("websockify.pid"), Long.toString(p.pid()));
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (true) { // bounded by the deadline
                if (!p.isAlive()) {
                    throw new IOException("websockify exited with " + p.exitValue() + ": " + w.log());
                }
                try (Socket s = new Socket()) {
                    s.connect(new InetSocketAddress("127.0.0.1", port), 200);
                    break;
                } catch (IOException notYet) {
                    if (System.nanoTime() > deadline) {
                        throw new IOException("websockify did not listen on 127.0.0.1:" + port + " within 10 s: " + w.log());
                    }
                    Thread.sleep(50);
                }
            }
            System.out.println("websockify pid " + p.pid() + " on 127.0.0.1:" + port + " -> " + target + ", CPUs " + cpus(p.pid()));
            return w;
        } catch (IOException | InterruptedException | RuntimeException e) {
            w.close();
            throw e;
        }
    }

    /** The CPUs a process may run on ({@code Cpus_allowed_list} of {@code /proc/PID/status}). */
    static String cpus(long pid) {
        try {
            for (String line : Files.readAllLines(Path.of("/proc", Long.toString(pid), "status"))) {
                if (line.startsWith("Cpus_allowed_list:")) {
                    return line.substring(line.indexOf(':') + 1).strip();
                }
            }
        } catch (IOException ignored) {
            // gone
        }
        return "?";
    }

    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, EchoTarget.LOOPBACK)) {
            return s.getLocalPort();
        }
    }

    long pid() {
        return process.pid();
    }

    boolean isAlive() {
        return process.isAlive();
    }

    /** Its processes now: the server and the children of the connections still open. */
    long processes() {
        return 1 + process.descendants().count();
    }

    String log() {
        StringBuilder b = new StringBuilder();
        for (String f : List.of("stdout.log", "websockify.log")) {
            try {
                String s = Files.readString(dir.resolve(f), StandardCharsets.UTF_8);
                b.append(s.length() > 4000 ? "..." + s.substring(s.length() - 4000) : s);
            } catch (IOException ignored) {
                // not written
            }
        }
        return b.toString();
    }

    /** Stops websockify (SIGTERM, then SIGKILL after 5 s) and its children; deletes the run directory, and the root when it is empty. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        try {
            List<ProcessHandle> children = process.descendants().toList();
            process.destroy();
            try {
                if (!process.waitFor(5, TimeUnit.SECONDS)) {
                    process.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                process.destroyForcibly();
            }
            children.forEach(ProcessHandle::destroyForcibly);
            process.descendants().forEach(ProcessHandle::destroyForcibly); // forked while it stopped
        } finally {
            try {
                lock.release();
                lockChannel.close();
            } catch (IOException ignored) {
                // the directory goes anyway
            }
            PeerRuns.deleteTree(dir);
            PeerRuns.deleteEmptyRoot(ROOT);
        }
    }
}
