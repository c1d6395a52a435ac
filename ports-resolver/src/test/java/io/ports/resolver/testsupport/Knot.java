package io.ports.resolver.testsupport;

import io.ports.core.testsupport.PeerRuns;
import org.xbill.DNS.DClass;
import org.xbill.DNS.Message;
import org.xbill.DNS.Name;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Record;
import org.xbill.DNS.Section;
import org.xbill.DNS.TSIG;
import org.xbill.DNS.Type;
import org.xbill.DNS.Update;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Debian's knotd as the real authoritative server of the zone {@value #ZONE}, on 127.0.0.1 and ::1
 * at a free port, everything in a fresh directory under {@code $TMPDIR/ports-resolver-knot}.
 *
 * <p>Each run directory holds an {@code owner.lock} that this JVM keeps locked while the server
 * runs. A run directory whose lock can be taken belongs to a JVM that died: {@link #start} first
 * kills that run's knotd (only if {@code /proc/PID/cmdline} names that directory's config) and
 * deletes the directory. knot's mod-stats counts the queries it answers ({@link #stats()}).
 */
public final class Knot implements AutoCloseable {
    public static final String ZONE = "cluster.test.";
    public static final Path ROOT = Path.of(System.getProperty("java.io.tmpdir"), "ports-resolver-knot");
    private static final String KEY = "testkey";

    private final Path dir;
    private final FileChannel lockChannel;
    private final FileLock lock;
    private final String secret;
    private final Path knotc;
    private Process process;
    private int port;
    private Thread shutdownHook;

    private Knot(Path dir, FileChannel lockChannel, FileLock lock, String secret, Path knotc) {
        this.dir = dir;
        this.lockChannel = lockChannel;
        this.lock = lock;
        this.secret = secret;
        this.knotc = knotc;
    }

    /** The knotd binary, or null. */
    public static Path knotd() {
        return find("knotd");
    }

    private static Path find(String name) {
        for (String d : List.of("/usr/sbin", "/usr/bin", "/usr/local/sbin", "/usr/local/bin")) {
            Path p = Path.of(d, name);
            if (Files.isExecutable(p)) {
                return p;
            }
        }
        return null;
    }

    /** Skips without knot on a developer machine; fails on CI (CI=true), where it must be installed. */
    public static void require() {
        boolean present = knotd() != null && find("knotc") != null;
        if (!present && "true".equals(System.getenv("CI"))) {
            throw new AssertionError("knotd/knotc are missing on CI: scripts/test must install the Debian packages knot and knot-dnsutils");
        }
        assumeTrue(present, "knot is not installed (apt-get install knot knot-dnsutils); the DNS tests against a real server are skipped");
    }

    /** Starts knotd serving {@code zoneFile} (the text of the {@value #ZONE} zone file), ready to answer. */
    public static Knot start(String zoneFile) throws IOException, InterruptedException {
        require();
        Files.createDirectories(ROOT);
        PeerRuns.cleanLeftovers(ROOT, "knot.pid", "knotd");
        Path dir = Files.createTempDirectory(ROOT, "run-");
        FileChannel ch = FileChannel.open(dir.resolve("owner.lock"), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
        FileLock lock = ch.lock();
        byte[] key = new byte[32];
        new SecureRandom().nextBytes(key);
        Knot knot = new Knot(dir, ch, lock, Base64.getEncoder().encodeToString(key), find("knotc"));
        try {
            Files.createDirectories(dir.resolve("db"));
            Files.writeString(dir.resolve("cluster.test.zone"), zoneFile);
            knot.launch();
            return knot;
        } catch (IOException | InterruptedException | RuntimeException | Error e) {
            knot.close();
            throw e;
        }
    }

    private void launch() throws IOException, InterruptedException {
        for (int attempt = 1; attempt <= 8; attempt++) {
            port = freePort();
            Files.writeString(dir.resolve("knot.conf"), config(port));
            Path logFile = dir.resolve("knot.log");
            process = new ProcessBuilder(knotd().toString(), "-c", dir.resolve("knot.conf").toString())
                    .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(logFile.toFile())).start();
            Process p = process;
            shutdownHook = new Thread(() -> p.destroyForcibly(), "knot-killer");
            Runtime.getRuntime().addShutdownHook(shutdownHook);
            if (awaitReady(5_000)) {
                return;
            }
            stopProcess(); // probably lost a race for the port: try another one
        }
        throw new IllegalStateException("knotd did not start in 8 attempts; its log:\n" + log());
    }

    private boolean awaitReady(long millis) throws IOException, InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(millis);
        byte[] query = Message.newQuery(Record.newRecord(Name.fromString(ZONE), Type.SOA, DClass.IN)).toWire();
        try (DatagramSocket s = new DatagramSocket(0, InetAddress.getLoopbackAddress())) {
            s.setSoTimeout(100);
            while (System.nanoTime() < deadline) {
                if (!process.isAlive()) {
                    return false;
                }
                s.send(new DatagramPacket(query, query.length, v4()));
                try {
                    DatagramPacket reply = new DatagramPacket(new byte[4096], 4096);
                    s.receive(reply);
                    Message m = new Message(java.util.Arrays.copyOf(reply.getData(), reply.getLength()));
                    if (m.getRcode() == Rcode.NOERROR && !m.getSection(Section.ANSWER).isEmpty()) {
                        return true;
                    }
                } catch (SocketTimeoutException e) {
                    // not yet
                } catch (java.net.PortUnreachableException e) {
                    Thread.sleep(20);
                }
            }
        }
        return false;
    }

    private static int freePort() throws IOException {
        for (int i = 0; i < 50; i++) {
            int candidate = ThreadLocalRandom.current().nextInt(20_000, 60_000);
            if (free(candidate)) {
                return candidate;
            }
        }
        throw new IOException("no free port for knotd found in 50 tries");
    }

    private static boolean free(int port) {
        for (InetAddress a : List.of(InetAddress.getLoopbackAddress(), ipv6Loopback())) {
            try (ServerSocket tcp = new ServerSocket(port, 1, a); DatagramSocket udp = new DatagramSocket(port, a)) {
                if (tcp.getLocalPort() != udp.getLocalPort()) {
                    return false;
                }
            } catch (IOException e) {
                return false;
            }
        }
        return true;
    }

    private static InetAddress ipv6Loopback() {
        try {
            return InetAddress.getByName("::1");
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    private String config(int port) {
        String d = dir.toString();
        return "server:\n"
                + "  rundir: \"" + d + "\"\n"
                + "  pidfile: \"" + d + "/knot.pid\"\n"
                + "  listen: [ 127.0.0.1@" + port + ", ::1@" + port + " ]\n"
                + "  udp-workers: 1\n  tcp-workers: 1\n  background-workers: 1\n"
                + "database:\n  storage: \"" + d + "/db\"\n"
                + "control:\n  listen: \"" + d + "/knot.sock\"\n"
                + "log:\n  - target: stderr\n    any: info\n"
                + "key:\n  - id: " + KEY + "\n    algorithm: hmac-sha256\n    secret: " + secret + "\n"
                + "acl:\n  - id: update_acl\n    address: [ 127.0.0.0/8, ::1 ]\n    key: " + KEY + "\n    action: update\n"
                + "mod-stats:\n  - id: counts\n    request-protocol: on\n    query-type: on\n    server-operation: on\n"
                + "template:\n  - id: default\n    storage: \"" + d + "\"\n    file: \"%s.zone\"\n    global-module: mod-stats/counts\n"
                + "zone:\n  - domain: " + ZONE + "\n    acl: update_acl\n";
    }

    public int port() {
        return port;
    }

    public InetSocketAddress v4() {
        return new InetSocketAddress(InetAddress.getLoopbackAddress(), port);
    }

    public InetSocketAddress v6() {
        return new InetSocketAddress(ipv6Loopback(), port);
    }

    public boolean isRunning() {
        return process != null && process.isAlive();
    }

    /**
     * knot's mod-stats counters ({@code knotc stats}), for example {@code query-type[A]},
     * {@code request-protocol[udp4]}, {@code request-protocol[tcp4]}, {@code server-operation[query]}.
     * A counter never incremented is absent.
     */
    public Map<String, Long> stats() throws IOException, InterruptedException {
        Process p = new ProcessBuilder(knotc.toString(), "-c", dir.resolve("knot.conf").toString(), "stats")
                .redirectErrorStream(true).start();
        String out;
        try {
            out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!p.waitFor(10, TimeUnit.SECONDS) || p.exitValue() != 0) {
                throw new IllegalStateException("knotc stats failed: " + out);
            }
        } finally {
            p.destroyForcibly();
        }
        Map<String, Long> counters = new HashMap<>();
        for (String line : out.split("\n")) {
            int eq = line.indexOf(" = ");
            if (line.startsWith("mod-stats.") && eq > 0) {
                counters.put(line.substring("mod-stats.".length(), eq), Long.parseLong(line.substring(eq + 3).strip()));
            }
        }
        return counters;
    }

    /** The TSIG key name (without the trailing dot) that may update the zone. */
    public String tsigKeyName() {
        return KEY;
    }

    /** The TSIG key's base64 secret, for processes of a test that update the zone themselves. */
    public String tsigSecret() {
        return secret;
    }

    /** One mod-stats counter, 0 when absent. */
    public long count(String counter) throws IOException, InterruptedException {
        return stats().getOrDefault(counter, 0L);
    }

    /** Sends an RFC 2136 UPDATE of {@value #ZONE}, signed with the TSIG key, over TCP; fails unless NOERROR. */
    public void update(Consumer<Update> changes) throws IOException {
        Update u = new Update(Name.fromString(ZONE));
        changes.accept(u);
        u.setTSIG(new TSIG(TSIG.HMAC_SHA256, Name.fromString(KEY + "."), secret));
        byte[] wire = u.toWire(Message.MAXLENGTH);
        try (Socket s = new Socket()) {
            s.connect(v4(), 5_000);
            s.setSoTimeout(5_000);
            DataOutputStream out = new DataOutputStream(s.getOutputStream());
            out.writeShort(wire.length);
            out.write(wire);
            out.flush();
            DataInputStream in = new DataInputStream(s.getInputStream());
            byte[] reply = new byte[in.readUnsignedShort()];
            in.readFully(reply);
            Message m = new Message(reply);
            if (m.getRcode() != Rcode.NOERROR) {
                throw new IllegalStateException("UPDATE refused by knot: " + Rcode.string(m.getRcode()) + "\n" + log());
            }
        }
    }

    /** Starts knotd again after {@link #stop()}, on the same port, with the zone as knotd last wrote it. */
    public void restart() throws IOException, InterruptedException {
        if (isRunning()) {
            throw new IllegalStateException("knotd is running");
        }
        Path logFile = dir.resolve("knot.log");
        process = new ProcessBuilder(knotd().toString(), "-c", dir.resolve("knot.conf").toString())
                .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(logFile.toFile())).start();
        Process p = process;
        shutdownHook = new Thread(() -> p.destroyForcibly(), "knot-killer");
        Runtime.getRuntime().addShutdownHook(shutdownHook);
        if (!awaitReady(5_000)) {
            throw new IllegalStateException("knotd did not come back on port " + port + "; its log:\n" + log());
        }
    }

    /** Stops knotd: SIGTERM, then SIGKILL after 5 s; waits until it is gone. The directory stays until {@link #close()}. */
    public void stop() throws InterruptedException {
        stopProcess();
    }

    private void stopProcess() throws InterruptedException {
        Process p = process;
        if (p == null) {
            return;
        }
        p.destroy(); // SIGTERM
        if (!p.waitFor(5, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            p.waitFor(5, TimeUnit.SECONDS);
        }
        if (shutdownHook != null) {
            try {
                Runtime.getRuntime().removeShutdownHook(shutdownHook);
            } catch (IllegalStateException shuttingDown) {
                // the hook runs anyway
            }
            shutdownHook = null;
        }
    }

    /** The server's log so far. */
    public String log() {
        try {
            return Files.readString(dir.resolve("knot.log"));
        } catch (IOException e) {
            return "(no log: " + e + ")";
        }
    }

    /** Stops knotd, prints the tail of its log, deletes the run directory, releases the lock. */
    @Override
    public void close() {
        try {
            stopProcess();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            if (process != null) {
                process.destroyForcibly();
            }
        }
        String log = log();
        String[] lines = log.split("\n");
        System.out.println("---- knotd log (last lines) ----");
        for (int i = Math.max(0, lines.length - 40); i < lines.length; i++) {
            System.out.println(lines[i]);
        }
        try {
            lock.release();
            lockChannel.close();
        } catch (IOException ignored) {
            // deleted next
        }
        PeerRuns.deleteTree(dir);
        PeerRuns.deleteEmptyRoot(ROOT);
    }
}
