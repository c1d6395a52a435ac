package io.ports.nat.testsupport;

import io.ports.core.testsupport.PeerRuns;

import java.io.IOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * coturn ({@code turnserver}) as a STUN-only server, configured as ../shared/PEERS.md describes:
 * always with {@code -c FILE}, log to stdout, RFC 5780 on when two addresses of one family and an
 * alternate port are given. Everything lives in a fresh directory under
 * {@code $TMPDIR/ports-nat-coturn}, whose {@code owner.lock} this JVM holds while the server runs; a
 * run directory whose lock is free belongs to a crashed JVM and is cleaned (its turnserver killed if
 * {@code /proc/PID/cmdline} names that run's config) before a new server starts.
 */
public final class Coturn implements AutoCloseable {
    public static final Path ROOT = Path.of(System.getProperty("java.io.tmpdir"), "ports-nat-coturn");

    private final Path dir;
    private final FileChannel lockChannel;
    private final FileLock lock;
    private final List<String> prefix;
    private final List<String> addresses;
    private final boolean rfc5780;
    private Process process;
    private int port;

    private Coturn(Path dir, FileChannel ch, FileLock lock, List<String> prefix, List<String> addresses, boolean rfc5780) {
        this.dir = dir;
        this.lockChannel = ch;
        this.lock = lock;
        this.prefix = prefix;
        this.addresses = addresses;
        this.rfc5780 = rfc5780;
    }

    public static void require() {
        Peers.requireBinaries("coturn", "turnserver");
    }

    /** On 127.0.0.1, 127.0.0.2 and ::1 at a free port (alternate port +1), ready to answer. */
    public static Coturn loopback(boolean rfc5780) throws IOException, InterruptedException {
        require();
        Coturn c = create(List.of(), List.of("127.0.0.1", "127.0.0.2", "::1"), rfc5780);
        try {
            for (int attempt = 1; attempt <= 8; attempt++) {
                int p = freePortPair();
                if (c.launch(p) && c.awaitLoopbackReady(10_000)) {
                    return c;
                }
                c.stopProcess(); // lost a race for the port, most likely: try another
            }
            throw new IllegalStateException("turnserver did not start in 8 attempts; its log:\n" + c.log());
        } catch (IOException | InterruptedException | RuntimeException | Error e) {
            c.close();
            throw e;
        }
    }

    /**
     * Inside a network namespace ({@code prefix} is {@code ip netns exec NS}) on the given addresses
     * and {@code port} (alternate +1). Readiness is read from {@code ss} in that namespace.
     */
    public static Coturn inNamespace(String namespace, List<String> addresses, int port) throws IOException, InterruptedException {
        require();
        Coturn c = create(List.of("ip", "netns", "exec", namespace), addresses, true);
        try {
            if (!c.launch(port) || !c.awaitListening(namespace, 10_000)) {
                throw new IllegalStateException("turnserver did not start in namespace " + namespace + "; its log:\n" + c.log());
            }
            return c;
        } catch (IOException | InterruptedException | RuntimeException | Error e) {
            c.close();
            throw e;
        }
    }

    private static Coturn create(List<String> prefix, List<String> addresses, boolean rfc5780) throws IOException {
        Files.createDirectories(ROOT);
        PeerRuns.cleanLeftovers(ROOT, "turn.pid", "turnserver");
        Path dir = Files.createTempDirectory(ROOT, "run-");
        FileChannel ch = FileChannel.open(dir.resolve("owner.lock"), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
        return new Coturn(dir, ch, ch.lock(), prefix, addresses, rfc5780);
    }

    private boolean launch(int port) throws IOException, InterruptedException {
        this.port = port;
        StringBuilder conf = new StringBuilder();
        for (String a : addresses) {
            conf.append("listening-ip=").append(a).append('\n');
        }
        conf.append("listening-port=").append(port).append('\n')
                .append("alt-listening-port=").append(port + 1).append('\n')
                .append("stun-only\nno-tls\nno-dtls\nno-cli\nfingerprint\nlog-file=stdout\nsimple-log\n")
                .append("userdb=").append(dir.resolve("turndb")).append('\n')
                .append("pidfile=").append(dir.resolve("turn.pid")).append('\n');
        if (!rfc5780) {
            conf.append("no-rfc5780\n");
        }
        Files.writeString(dir.resolve("turnserver.conf"), conf);
        List<String> cmd = new ArrayList<>(prefix);
        cmd.add(Peers.find("turnserver").toString());
        cmd.add("-c");
        cmd.add(dir.resolve("turnserver.conf").toString());
        process = new ProcessBuilder(cmd).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(dir.resolve("turn.log").toFile())).start();
        return process.isAlive();
    }

    private boolean addressInUse() {
        return log().contains("Address already in use");
    }

    private boolean awaitLoopbackReady(long millis) throws IOException, InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(millis);
        byte[] req = ByteBuffer.allocate(20).putShort((short) 1).putShort((short) 0).putInt(0x2112A442).putLong(42).putInt(7).array();
        try (DatagramSocket s = new DatagramSocket(0, InetAddress.getLoopbackAddress())) {
            s.setSoTimeout(100);
            while (System.nanoTime() < deadline) {
                if (!process.isAlive() || addressInUse()) {
                    return false;
                }
                s.send(new DatagramPacket(req, req.length, new InetSocketAddress(InetAddress.getLoopbackAddress(), port)));
                try {
                    DatagramPacket reply = new DatagramPacket(new byte[1500], 1500);
                    s.receive(reply);
                    if (reply.getLength() >= 20 && reply.getData()[0] == 0x01 && reply.getData()[1] == 0x01) {
                        return true;
                    }
                } catch (SocketTimeoutException | java.net.PortUnreachableException e) {
                    Thread.sleep(20);
                }
            }
        }
        return false;
    }

    private boolean awaitListening(String namespace, long millis) throws IOException, InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(millis);
        while (System.nanoTime() < deadline) {
            if (!process.isAlive() || addressInUse()) {
                return false;
            }
            Peers.Result r = Peers.run(5, "ip", "netns", "exec", namespace, "ss", "-Hlun");
            boolean all = true;
            for (String a : addresses) {
                all &= r.output().contains(a + ":" + port) && r.output().contains(a + ":" + (port + 1));
            }
            if (all) {
                return true;
            }
            Thread.sleep(50);
        }
        return false;
    }

    private static int freePortPair() throws IOException {
        for (int i = 0; i < 100; i++) {
            int p = ThreadLocalRandom.current().nextInt(20_000, 60_000);
            if (free(p) && free(p + 1)) {
                return p;
            }
        }
        throw new IOException("no free pair of ports for turnserver found in 100 tries");
    }

    private static boolean free(int port) {
        for (String a : List.of("127.0.0.1", "127.0.0.2", "::1")) {
            try (ServerSocket tcp = new ServerSocket(port, 1, InetAddress.getByName(a));
                 DatagramSocket udp = new DatagramSocket(port, InetAddress.getByName(a))) {
                if (tcp.getLocalPort() != udp.getLocalPort()) {
                    return false;
                }
            } catch (IOException e) {
                return false;
            }
        }
        return true;
    }

    public int port() {
        return port;
    }

    public InetSocketAddress v4() {
        return address("127.0.0.1", port);
    }

    public InetSocketAddress v6() {
        return address("::1", port);
    }

    public InetSocketAddress address(String host, int port) {
        try {
            return new InetSocketAddress(InetAddress.getByName(host), port);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    public String log() {
        try {
            return Files.readString(dir.resolve("turn.log"));
        } catch (IOException e) {
            return "(no log: " + e + ")";
        }
    }

    private void stopProcess() throws InterruptedException {
        Process p = process;
        if (p == null) {
            return;
        }
        p.destroy();
        if (!p.waitFor(5, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            p.waitFor(5, TimeUnit.SECONDS);
        }
        process = null;
    }

    /** Stops turnserver, prints the tail of its log, deletes the run directory. Idempotent. */
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
        if (!lockChannel.isOpen()) {
            return;
        }
        System.out.println("---- turnserver " + addresses + ":" + port + " log (last lines) ----");
        System.out.print(Peers.tail(log(), 15));
        try {
            lock.release();
            lockChannel.close();
        } catch (IOException ignored) {
            // deleted next
        }
        PeerRuns.deleteTree(dir);
        PeerRuns.deleteEmptyRoot(ROOT);
    }

    @Override
    public String toString() {
        return "coturn " + addresses + " port " + port + (rfc5780 ? " (RFC 5780)" : "");
    }
}
