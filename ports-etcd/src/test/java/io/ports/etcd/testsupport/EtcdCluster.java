package io.ports.etcd.testsupport;

import io.ports.core.testsupport.PeerRuns;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Debian's etcd (3.4) as real members on loopback: one member, or a cluster of three, each in its
 * own run directory under {@code $TMPDIR/ports-etcd} with free client and peer ports picked at run
 * time and fast raft timers (heartbeat 10 ms, election 100 ms) unless asked for etcd's defaults.
 *
 * <p>Each member's run directory holds an {@code owner.lock} this JVM keeps locked while the member
 * runs, and {@code etcd.pid}; a run directory whose lock can be taken belongs to a JVM that died, and
 * {@link #start} first kills that member (only if its command line names that directory) and deletes
 * the directory ({@link PeerRuns}). Members are killed by pid ({@link #kill}) and started again on
 * their data directory ({@link #restart}).
 */
public final class EtcdCluster implements AutoCloseable {
    public static final Path ROOT = Path.of(System.getProperty("java.io.tmpdir"), "ports-etcd");

    private final List<Member> members = new ArrayList<>();
    private final Tls tls;
    private final boolean fastTimers;

    /**
     * Client TLS of the members: the CA that signed the server certificate, the server's certificate and
     * key, and, when {@code clientCa} is set, mutual TLS (clients need a certificate that CA signed).
     */
    public record Tls(Path ca, Path serverCert, Path serverKey, Path clientCa) {
    }
    private final String token = "ports-test-" + ProcessHandle.current().pid() + "-" + System.nanoTime();

    /** One member: its directory, ports and process. */
    private static final class Member {
        final String name;
        final Path dir;
        final FileChannel lockChannel;
        final FileLock lock;
        int clientPort;
        int peerPort;
        Process process;
        Thread hook;

        Member(String name, Path dir, FileChannel lockChannel, FileLock lock) {
            this.name = name;
            this.dir = dir;
            this.lockChannel = lockChannel;
            this.lock = lock;
        }
    }

    private EtcdCluster(Tls tls, boolean fastTimers) {
        this.tls = tls;
        this.fastTimers = fastTimers;
    }

    /** The etcd binary, or null. */
    public static Path etcd() {
        return find("etcd");
    }

    /** The etcdctl binary, or null. */
    public static Path etcdctl() {
        return find("etcdctl");
    }

    private static Path find(String name) {
        for (String d : List.of("/usr/bin", "/usr/sbin", "/usr/local/bin")) {
            Path p = Path.of(d, name);
            if (Files.isExecutable(p)) {
                return p;
            }
        }
        return null;
    }

    /** Skips without etcd on a developer machine; fails on CI (CI=true), where it must be installed. */
    public static void require() {
        boolean present = etcd() != null && etcdctl() != null;
        if (!present && "true".equals(System.getenv("CI"))) {
            throw new AssertionError("etcd/etcdctl are missing on CI: scripts/test must install the Debian packages etcd-server and etcd-client");
        }
        assumeTrue(present, "etcd is not installed (apt-get install etcd-server etcd-client); the tests against a real etcd are skipped");
    }

    /** Starts {@code size} members (1 or 3) and waits until the cluster takes a linearizable read. */
    public static EtcdCluster start(int size) throws IOException, InterruptedException {
        return start(size, null);
    }

    /** As {@link #start(int)}, with https client URLs when {@code tls} is given. */
    public static EtcdCluster start(int size, Tls tls) throws IOException, InterruptedException {
        return start(size, tls, true);
    }

    /**
     * As {@link #start(int, Tls)}; {@code fastTimers} false keeps etcd's default raft timers (heartbeat
     * 100 ms, election 1 s), which ride out a loaded machine better (benchmarks), at the price of slower
     * elections.
     */
    public static EtcdCluster start(int size, Tls tls, boolean fastTimers) throws IOException, InterruptedException {
        require();
        Files.createDirectories(ROOT);
        PeerRuns.cleanLeftovers(ROOT, "etcd.pid", "etcd");
        EtcdCluster c = new EtcdCluster(tls, fastTimers);
        try {
            for (int attempt = 1; ; attempt++) {
                c.create(size);
                for (Member m : c.members) {
                    c.launch(m, true);
                }
                if (c.awaitHealthy(15_000)) {
                    return c;
                }
                if (attempt >= 3) {
                    throw new IllegalStateException("etcd (" + size + " members) did not become healthy in 3 attempts; logs:\n" + c.logs());
                }
                c.destroy(); // probably lost a race for a port: try other ports
            }
        } catch (IOException | InterruptedException | RuntimeException | Error e) {
            c.close();
            throw e;
        }
    }

    private void create(int size) throws IOException {
        Set<Integer> taken = new HashSet<>();
        for (int i = 1; i <= size; i++) {
            Path dir = Files.createTempDirectory(ROOT, "run-");
            FileChannel ch = FileChannel.open(dir.resolve("owner.lock"), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
            Member m = new Member("m" + i, dir, ch, ch.lock());
            m.clientPort = freePort(taken);
            m.peerPort = freePort(taken);
            members.add(m);
        }
    }

    private void launch(Member m, boolean fresh) throws IOException {
        String cluster = members.stream().map(x -> x.name + "=http://127.0.0.1:" + x.peerPort).collect(Collectors.joining(","));
        String client = (tls != null ? "https" : "http") + "://127.0.0.1:" + m.clientPort;
        String peer = "http://127.0.0.1:" + m.peerPort;
        List<String> cmd = List.of(etcd().toString(), "--name", m.name, "--data-dir", m.dir.resolve("data").toString(),
                "--listen-client-urls", client, "--advertise-client-urls", client,
                "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
                "--initial-cluster", cluster, "--initial-cluster-token", token,
                "--initial-cluster-state", fresh ? "new" : "existing",
                "--logger", "zap", "--log-level", "warn");
        cmd = new ArrayList<>(cmd);
        if (fastTimers) {
            cmd.addAll(List.of("--heartbeat-interval=10", "--election-timeout=100"));
        }
        if (tls != null) {
            cmd.addAll(List.of("--cert-file", tls.serverCert().toString(), "--key-file", tls.serverKey().toString()));
            if (tls.clientCa() != null) {
                cmd.addAll(List.of("--client-cert-auth", "--trusted-ca-file", tls.clientCa().toString()));
            }
        }
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(m.dir.resolve("etcd.log").toFile()));
        pb.environment().remove("ETCDCTL_API");
        m.process = pb.start();
        Files.writeString(m.dir.resolve("etcd.pid"), Long.toString(m.process.pid()));
        Process p = m.process;
        m.hook = new Thread(p::destroyForcibly, "etcd-killer-" + m.name);
        Runtime.getRuntime().addShutdownHook(m.hook);
    }

    private static int freePort(Set<Integer> taken) throws IOException {
        for (int i = 0; i < 50; i++) {
            int candidate = ThreadLocalRandom.current().nextInt(20_000, 60_000);
            if (taken.contains(candidate)) {
                continue;
            }
            try (ServerSocket s = new ServerSocket(candidate, 1, InetAddress.getLoopbackAddress())) {
                taken.add(candidate);
                return candidate;
            } catch (IOException busy) {
                // next
            }
        }
        throw new IOException("no free port for etcd found in 50 tries");
    }

    /** Waits until every running member answers and the cluster has a leader (a linearizable read). */
    public boolean awaitHealthy(long millis) throws IOException, InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(millis);
        while (System.nanoTime() < deadline) {
            List<Member> running = members.stream().filter(m -> m.process != null && m.process.isAlive()).toList();
            if (running.size() < members.stream().filter(m -> m.process != null).count()) {
                return false; // a member died at start
            }
            if (etcdctl(running, "endpoint", "health").exit == 0) {
                return true;
            }
            Thread.sleep(50);
        }
        return false;
    }

    /** The result of one etcdctl run. */
    public record Result(int exit, String output) {
    }

    /** Runs etcdctl (API v3) against every running member, bounded to 10 s. */
    public Result etcdctl(String... args) throws IOException, InterruptedException {
        return etcdctl(members.stream().filter(m -> m.process != null && m.process.isAlive()).toList(), args);
    }

    private Result etcdctl(List<Member> targets, String... args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of(etcdctl().toString(),
                "--endpoints=" + targets.stream().map(m -> "127.0.0.1:" + m.clientPort).collect(Collectors.joining(",")),
                "--dial-timeout=1s", "--command-timeout=2s"));
        if (tls != null) {
            cmd.add("--cacert=" + tls.ca());
            if (tls.clientCa() != null) {
                cmd.add("--cert=" + tls.serverCert()); // signed by the same test CA: good as a client certificate too
                cmd.add("--key=" + tls.serverKey());
            }
        }
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        pb.environment().put("ETCDCTL_API", "3");
        Process p = pb.start();
        try {
            byte[] out = p.getInputStream().readAllBytes();
            if (!p.waitFor(10, TimeUnit.SECONDS)) {
                return new Result(-1, "etcdctl timed out");
            }
            return new Result(p.exitValue(), new String(out, StandardCharsets.UTF_8));
        } finally {
            p.destroyForcibly();
        }
    }

    /** The client endpoints, comma-separated, as {@code http://127.0.0.1:PORT,...}. */
    public String endpoints() {
        return members.stream().map(m -> (tls != null ? "https" : "http") + "://127.0.0.1:" + m.clientPort).collect(Collectors.joining(","));
    }

    /** {@code etcd://127.0.0.1:P1,127.0.0.1:P2,...}: the store URI of this cluster. */
    public String uri() {
        return "etcd://" + members.stream().map(m -> "127.0.0.1:" + m.clientPort).collect(Collectors.joining(","));
    }

    public int size() {
        return members.size();
    }

    /** The pid of member {@code i} (0-based). */
    public long pid(int i) {
        return members.get(i).process.pid();
    }

    public boolean isRunning(int i) {
        Process p = members.get(i).process;
        return p != null && p.isAlive();
    }

    /** Kills member {@code i} with SIGKILL, by its pid, and waits until it is gone. */
    public void kill(int i) throws InterruptedException {
        Member m = members.get(i);
        Process p = m.process;
        if (p == null) {
            return;
        }
        p.destroyForcibly();
        if (!p.waitFor(10, TimeUnit.SECONDS)) {
            throw new IllegalStateException("etcd member " + m.name + " (pid " + p.pid() + ") did not die within 10 s of SIGKILL");
        }
        removeHook(m);
    }

    /** Starts member {@code i} again on its data directory and ports (after {@link #kill}). */
    public void restart(int i) throws IOException {
        Member m = members.get(i);
        if (m.process != null && m.process.isAlive()) {
            throw new IllegalStateException("etcd member " + m.name + " is running");
        }
        launch(m, false);
    }

    private static void removeHook(Member m) {
        if (m.hook != null) {
            try {
                Runtime.getRuntime().removeShutdownHook(m.hook);
            } catch (IllegalStateException shuttingDown) {
                // the hook runs anyway
            }
            m.hook = null;
        }
    }

    /** Every member's log. */
    public String logs() {
        StringBuilder b = new StringBuilder();
        for (Member m : members) {
            b.append("---- etcd ").append(m.name).append(" (client ").append(m.clientPort).append(") ----\n");
            try {
                String log = Files.readString(m.dir.resolve("etcd.log"));
                String[] lines = log.split("\n");
                for (int i = Math.max(0, lines.length - 30); i < lines.length; i++) {
                    b.append(lines[i]).append('\n');
                }
            } catch (IOException e) {
                b.append("(no log: ").append(e).append(")\n");
            }
        }
        return b.toString();
    }

    private void destroy() throws InterruptedException {
        for (Member m : members) {
            Process p = m.process;
            if (p != null) {
                p.destroyForcibly();
                p.waitFor(10, TimeUnit.SECONDS);
            }
            removeHook(m);
            try {
                m.lock.release();
                m.lockChannel.close();
            } catch (IOException ignored) {
                // deleted next
            }
            PeerRuns.deleteTree(m.dir);
        }
        members.clear();
    }

    /** Kills every member, prints the tail of their logs, deletes the run directories. */
    @Override
    public void close() {
        System.out.println(logs());
        try {
            destroy();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            members.forEach(m -> {
                if (m.process != null) {
                    m.process.destroyForcibly();
                }
            });
        }
        PeerRuns.deleteEmptyRoot(ROOT);
    }
}
