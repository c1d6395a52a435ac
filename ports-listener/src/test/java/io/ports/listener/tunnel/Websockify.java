package io.ports.listener.tunnel;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Debian's websockify 0.10 as a real peer: started on a free loopback port, ready once it accepts a
 * TCP connection, stopped with its per-connection child processes. Its output goes to a log file
 * that is printed when it stops (surefire keeps it with the test's output).
 */
final class Websockify implements AutoCloseable {
    static final Path BINARY = Path.of("/usr/bin/websockify");
    static final Path PYTHON = Path.of("/usr/bin/python3");

    private final Process process;
    private final Path log;
    final int port;
    private final java.util.concurrent.atomic.AtomicBoolean closed = new java.util.concurrent.atomic.AtomicBoolean();

    private Websockify(Process process, Path log, int port) {
        this.process = process;
        this.log = log;
        this.port = port;
    }

    /** Skips without websockify on a developer machine; fails on CI (CI=true), where scripts/test installs it. */
    static void require() {
        boolean present = Files.isExecutable(BINARY) && Files.isExecutable(PYTHON);
        if (!present && "true".equals(System.getenv("CI"))) {
            throw new AssertionError("websockify is missing on CI: scripts/test must install the Debian package websockify");
        }
        assumeTrue(present, "websockify is not installed (apt-get install websockify); these interoperability tests are skipped");
    }

    /** Starts {@code websockify [options] 127.0.0.1:PORT target}. */
    static Websockify start(String target, String... options) throws IOException, InterruptedException {
        int port = freePort();
        Path log = Files.createTempFile("websockify-", ".log");
        List<String> cmd = new ArrayList<>(List.of(BINARY.toString()));
        cmd.addAll(List.of(options));
        cmd.add("127.0.0.1:" + port);
        cmd.add(target);
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        Websockify w = new Websockify(p, log, port);
        try {
            for (int i = 0; i < 100; i++) { // bounded: 100 x 100 ms
                if (!p.isAlive()) {
                    throw new IOException("websockify exited with " + p.exitValue() + ": " + Files.readString(log));
                }
                try (Socket s = new Socket()) {
                    s.connect(new InetSocketAddress("127.0.0.1", port), 200);
                    return w;
                } catch (IOException notYet) {
                    Thread.sleep(100);
                }
            }
            throw new IOException("websockify did not listen on port " + port + " within 10 s: " + Files.readString(log));
        } catch (IOException | InterruptedException | RuntimeException e) {
            w.close();
            throw e;
        }
    }

    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    boolean isAlive() {
        return process.isAlive();
    }

    /** Kills websockify and its children at once, like a crash. */
    void kill() throws InterruptedException {
        process.descendants().forEach(ProcessHandle::destroyForcibly);
        process.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
    }

    String log() throws IOException {
        return Files.readString(log, StandardCharsets.UTF_8);
    }

    @Override
    public void close() throws IOException {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
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
            System.out.println("---- websockify on port " + port + " ----\n" + log());
        } finally {
            Files.deleteIfExists(log);
        }
    }
}
