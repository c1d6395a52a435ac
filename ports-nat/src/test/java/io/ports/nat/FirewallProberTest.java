package io.ports.nat;

import io.ports.core.EventLoops;
import io.ports.core.testsupport.Jvm;
import io.ports.nat.testsupport.ProberMain;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

class FirewallProberTest {
    private static EventLoops loops;

    @BeforeAll
    static void start() {
        loops = EventLoops.builder().threads(1).build();
    }

    @AfterAll
    static void stop() {
        loops.close();
    }

    private static int closedPort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
            return s.getLocalPort();
        }
    }

    @Test
    void openAndRefused_onLoopback_withTheTimeEachTook() throws Exception {
        try (ServerSocket open = new ServerSocket(0, 50, InetAddress.getByName("127.0.0.1"))) {
            int closed = closedPort();
            FirewallProber p = FirewallProber.builder(loops).build();
            FirewallProber.Report r = p.probe(List.of("127.0.0.1:" + open.getLocalPort(), "127.0.0.1:" + closed, "[::1]:" + closed))
                    .toCompletableFuture().get(30, TimeUnit.SECONDS);
            assertEquals(List.of(FirewallProber.Reachability.OPEN, FirewallProber.Reachability.REFUSED, FirewallProber.Reachability.REFUSED),
                    r.results().stream().map(FirewallProber.Result::reachability).toList());
            assertTrue(r.results().stream().allMatch(x -> !x.elapsed().isNegative()));
            assertEquals(1, r.open().size());
        }
    }

    @Test
    void firstReachable_keepsTheOrderOfTheCandidates() throws Exception {
        try (ServerSocket a = new ServerSocket(0, 50, InetAddress.getByName("127.0.0.1"));
             ServerSocket b = new ServerSocket(0, 50, InetAddress.getByName("127.0.0.1"))) {
            FirewallProber p = FirewallProber.builder(loops).concurrency(1).build();
            String first = "127.0.0.1:" + closedPort();
            var got = p.firstReachable(List.of(first, "127.0.0.1:" + b.getLocalPort(), "127.0.0.1:" + a.getLocalPort()))
                    .toCompletableFuture().get(30, TimeUnit.SECONDS);
            assertEquals("127.0.0.1:" + b.getLocalPort(), got.orElseThrow().endpoint());
            assertTrue(p.firstReachable(List.of(first)).toCompletableFuture().get(30, TimeUnit.SECONDS).isEmpty());
        }
    }

    @Test
    void results_areCachedForTheConfiguredTime() throws Exception {
        AtomicLong now = new AtomicLong();
        FirewallProber p = FirewallProber.builder(loops).cacheFor(Duration.ofSeconds(30)).ticker(now::get).build();
        String endpoint;
        try (ServerSocket s = new ServerSocket(0, 50, InetAddress.getByName("127.0.0.1"))) {
            endpoint = "127.0.0.1:" + s.getLocalPort();
            assertTrue(p.probe(List.of(endpoint)).toCompletableFuture().get(30, TimeUnit.SECONDS).results().get(0).isOpen());
        }
        now.addAndGet(TimeUnit.SECONDS.toNanos(29));
        assertTrue(p.probe(List.of(endpoint)).toCompletableFuture().get(30, TimeUnit.SECONDS).results().get(0).isOpen(), "cached");
        now.addAndGet(TimeUnit.SECONDS.toNanos(2));
        assertEquals(FirewallProber.Reachability.REFUSED,
                p.probe(List.of(endpoint)).toCompletableFuture().get(30, TimeUnit.SECONDS).results().get(0).reachability());
    }

    @Test
    void invalidEndpointsAndOptions_areRejectedBeforeAnyProbe() {
        FirewallProber p = FirewallProber.builder(loops).build();
        for (String bad : new String[] {"", "host", "host:0", "host:99999", "::1:80", "[::zz]:80", "a b:80"}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> p.probe(List.of("127.0.0.1:1", bad)));
            assertTrue(e.getMessage().startsWith("invalid endpoint '" + bad + "'") && e.getMessage().contains("HOST:PORT"), e.getMessage());
        }
        assertThrows(IllegalArgumentException.class, () -> FirewallProber.builder(loops).timeout(Duration.ZERO));
        assertThrows(IllegalArgumentException.class, () -> FirewallProber.builder(loops).concurrency(0));
    }

    /**
     * Filtered and unreachable for real, inside a network namespace the test makes: an nft rule drops
     * the SYNs to one port (filtered: the probe times out), and with only loopback there is no route to
     * any other network (unreachable: refused by the kernel at once, no packet leaves the namespace).
     */
    @Test
    void filteredAndUnreachable_inANamespace() throws Exception {
        boolean root = "root".equals(System.getProperty("user.name"));
        if (!root) {
            assumeTrue(false, "network namespaces need root; CI runs as root and requires this test");
        }
        String ns = "pfw-" + ProcessHandle.current().pid();
        run("ip", "netns", "del", ns); // leftover of a crashed run, if any
        try {
            run0("ip", "netns", "add", ns);
            run0("ip", "-n", ns, "link", "set", "lo", "up");
            run0("ip", "netns", "exec", ns, "nft", "add table inet ports_test");
            run0("ip", "netns", "exec", ns, "nft", "add chain inet ports_test out { type filter hook output priority 0 ; }");
            run0("ip", "netns", "exec", ns, "nft", "add rule inet ports_test out tcp dport 9 drop");
            try (Jvm child = Jvm.start(List.of("ip", "netns", "exec", ns), ProberMain.class, "800", "127.0.0.1:9", "10.77.0.1:80", "127.0.0.1:10")) {
                Map<String, String> got = new HashMap<>();
                String line;
                while (!(line = child.await("", 60)).equals("DONE")) {
                    if (line.startsWith("RESULT ")) {
                        String[] f = line.split(" ");
                        got.put(f[1], f[2]);
                    } else if (line.startsWith("FIRST ")) {
                        assertEquals("FIRST none", line);
                    }
                }
                assertEquals(Map.of("127.0.0.1:9", "FILTERED", "10.77.0.1:80", "UNREACHABLE", "127.0.0.1:10", "REFUSED"), got);
            }
        } finally {
            run("ip", "netns", "del", ns);
        }
    }

    private static int run(String... cmd) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        if (!p.waitFor(30, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            return -1;
        }
        return p.exitValue();
    }

    private static void run0(String... cmd) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        assertTrue(p.waitFor(30, TimeUnit.SECONDS) && p.exitValue() == 0, String.join(" ", cmd) + " failed: " + out);
    }
}
