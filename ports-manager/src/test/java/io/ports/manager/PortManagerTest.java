package io.ports.manager;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.ports.core.HostReservations;
import io.ports.core.PortLease;
import io.ports.core.PortsException;
import io.ports.core.EventLoops;
import io.ports.core.registry.AllocationStatus;
import io.ports.core.testsupport.ThreadStarts;
import io.ports.listener.ListenerManager;
import io.ports.listener.ListenerOptions;
import io.ports.listener.tunnel.TunnelClient;
import io.ports.listener.tunnel.TunnelClientOptions;
import io.ports.manager.testsupport.Leaks;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class PortManagerTest {
    @TempDir
    Path dir;

    @ChannelHandler.Sharable
    static final class Echo extends ChannelInboundHandlerAdapter {
        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ctx.writeAndFlush((ByteBuf) msg);
        }
    }

    private PortConfig config(Map<String, String> extra) {
        Map<String, String> m = new HashMap<>(Map.of(
                "lock-dir", dir.resolve("locks").toString(), "event-loops.threads", "1", "heartbeat-interval", "100ms",
                "health-check-interval", "1h", "shutdown-timeout", "2s",
                "services.db.type", "database", "services.raft.type", "database", "services.admin.type", "rest-api"));
        m.putAll(extra);
        return PortConfig.fromMap(m, Map.of());
    }

    private static String echo(int port, String text) throws IOException {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress("127.0.0.1", port), 5000);
            s.setSoTimeout(5000);
            s.getOutputStream().write(text.getBytes(StandardCharsets.UTF_8));
            return new String(s.getInputStream().readNBytes(text.length()), StandardCharsets.UTF_8);
        }
    }

    private static long threadsNamed(String prefix) {
        return Thread.getAllStackTraces().keySet().stream().filter(t -> t.isAlive() && t.getName().startsWith(prefix)).count();
    }

    @Test
    void startServices_allocatesListensRegistersAndHeartbeats_thenCloseUndoesAll() throws Exception {
        NodePorts node;
        Leaks before = Leaks.now();
        PortManager pm = PortManager.create(config(Map.of()));
        try {
            node = pm.startServices(Map.of("db", new Echo(), "raft", new Echo()));
            assertEquals(3, node.services().size());
            assertEquals("hello", echo(node.port("db"), "hello"));
            assertEquals("raft", echo(node.port("raft"), "raft"));
            assertTrue(node.services().get("admin").localEndpoints().isEmpty(), "admin has no pipeline: allocated and registered, not listening");
            for (NodePorts.ServicePorts s : node.services().values()) {
                assertEquals(AllocationStatus.ACTIVE, pm.registry().find(s.allocationId().orElseThrow()).orElseThrow().status());
            }
            for (int i = 0; i < 100 && pm.registry().statistics().heartbeats() < 3; i++) { // bounded: 100 x 50 ms
                Thread.sleep(50);
            }
            assertTrue(pm.registry().statistics().heartbeats() >= 3, "heartbeats run on the event loops");
            String report = pm.report().format();
            assertTrue(report.contains("db") && report.contains("raft") && report.contains("admin"), report);
            assertThrows(IllegalArgumentException.class, () -> node.port("nope"));
            assertFalse(Leaks.now().beyond(before).isEmpty(), "a running node holds threads, sockets and locks");
        } finally {
            List<String> started = ThreadStarts.during(pm::close);
            assertTrue(started.stream().allMatch(n -> n.startsWith("ports-io-")), "threads started by close(): " + started);
            pm.close(); // safe twice
        }
        for (int i = 0; i < 50 && !Leaks.now().ourThreads().isEmpty(); i++) { // bounded: 50 x 10 ms for threads that are ending
            Thread.sleep(10);
        }
        assertEquals("", Leaks.now().beyond(before), "left behind by close()");
        try (HostReservations h = HostReservations.open(dir.resolve("locks"))) {
            for (NodePorts.ServicePorts s : node.services().values()) {
                assertFalse(h.isClaimed(s.port()), "port " + s.port() + " still claimed after close");
            }
        }
        assertThrows(IOException.class, () -> echo(node.port("db"), "x"), "the listener is gone");
        for (int i = 0; i < 100 && threadsNamed("ports-io-") > 0; i++) {
            Thread.sleep(20);
        }
        assertEquals(0, threadsNamed("ports-io-"), "event loop threads left after close");
        assertEquals(0, threadsNamed("ports-registry-writer"));
        assertThrows(IllegalStateException.class, () -> pm.allocate("x", "CUSTOM"));
    }

    @Test
    void aFailingStep_rollsBackWhatWasDone_andSaysWhichServiceAndStep() throws Exception {
        try (ServerSocket squatter = new ServerSocket(0, 50, InetAddress.getByName("127.0.0.1"))) {
            int taken = squatter.getLocalPort();
            PortConfig c = config(Map.of("services.raft.port", Integer.toString(taken), "services.raft.required", "true"));
            try (PortManager pm = PortManager.create(c)) {
                PortsException e = assertThrows(PortsException.class, () -> pm.startServices(Map.of("db", new Echo(), "raft", new Echo())));
                assertTrue(e.getMessage().contains("starting service 'raft' failed while allocating a port")
                        && e.getMessage().contains("required port " + taken), e.getMessage());
                assertTrue(pm.report().entries().isEmpty(), "the db lease was released: " + pm.report().format());
                assertEquals(0, pm.registry().stats().active() + pm.registry().stats().reserved(), "the db record was released");
            }
        }
    }

    @Test
    void externalAddress_fromCoturn_andAClearErrorWithoutServers() throws Exception {
        try (io.ports.nat.testsupport.Coturn coturn = io.ports.nat.testsupport.Coturn.loopback(false);
             PortManager pm = PortManager.create(config(Map.of("stun.servers", "127.0.0.1:" + coturn.port())))) {
            PortLease lease = pm.allocate("gossip", "CUSTOM");
            var binding = pm.externalAddress(lease).toCompletableFuture().get(30, java.util.concurrent.TimeUnit.SECONDS);
            assertEquals(new InetSocketAddress("127.0.0.1", lease.port()), binding.mapped(), "on loopback the mapping is the leased port itself");
        }
        try (PortManager pm = PortManager.create(config(Map.of()))) {
            IllegalStateException e = assertThrows(IllegalStateException.class, pm::externalAddress);
            assertTrue(e.getMessage().contains("stun.servers"), e.getMessage());
        }
    }

    @Test
    void seedDesignCalls_allocateListenResolve() throws Exception {
        try (PortManager pm = PortManager.create(config(Map.of()))) {
            PortLease lease = pm.allocate(io.ports.core.ServiceType.CUSTOM);
            assertTrue(pm.config().dynamicRange().contains(lease.port()), "CUSTOM comes from the dynamic range");
            var listener = pm.listen(lease, new Echo());
            assertEquals("seed", echo(listener.port(), "seed"));
            var endpoint = pm.resolveBlocking("127.0.0.1:5432");
            assertEquals(5432, endpoint.port());
            assertThrows(IllegalArgumentException.class, () -> pm.startServices(Map.of("unknown", new Echo())));
        }
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
            return s.getLocalPort();
        }
    }

    /**
     * The fallback decision on loopback with a real dial-back service: "db" listens on 127.0.0.2 only, so
     * the check (which connects to 127.0.0.1, where this node's request came from) finds it REFUSED and
     * the node serves it through the tunnel; "api" listens everywhere and is found OPEN, directly.
     */
    @Test
    void reachabilityCheck_findsAServiceUnreachable_andServesItThroughTheTunnel_endToEnd() throws Exception {
        int tunnelPort = freePort();
        try (EventLoops loops = EventLoops.builder().threads(1).threadNamePrefix("outside").build();
             ListenerManager outside = new ListenerManager(loops);
             DialBackServer check = DialBackServer.start(outside, "127.0.0.1:0", Duration.ofSeconds(1))) {
            PortConfig c = config(Map.of("services.db.host", "127.0.0.2", "reachability.check", "http://127.0.0.1:" + check.port(),
                    "tunnel.ports", Integer.toString(tunnelPort), "tunnel.token", "letmein"));
            try (PortManager pm = PortManager.start(c, Map.of("db", new Echo(), "raft", new Echo()))) {
                NodePorts node = pm.nodePorts();
                NodePorts.External db = node.external("db").orElseThrow();
                assertEquals(NodePorts.Route.TUNNEL, db.route(), node.format());
                assertEquals(new InetSocketAddress("127.0.0.1", tunnelPort), db.endpoint());
                assertEquals(java.net.URI.create("ws://127.0.0.1:" + tunnelPort + "/tunnel?target=127.0.0.2:" + node.port("db")), db.tunnelUrl().orElseThrow());
                assertEquals(java.util.Optional.of(io.ports.nat.FirewallProber.Reachability.REFUSED), db.directly(), node.format());
                assertEquals(java.util.Optional.of(io.ports.nat.FirewallProber.Reachability.OPEN), db.checked());
                NodePorts.External raft = node.external("raft").orElseThrow();
                assertEquals(NodePorts.Route.DIRECT, raft.route(), node.format());
                assertEquals(new InetSocketAddress("127.0.0.1", node.port("raft")), raft.endpoint());
                assertTrue(node.external("admin").isEmpty(), "admin listens nowhere: nothing to reach");
                assertEquals(db.tunnelUrl().orElseThrow().toString(),
                        pm.registry().find(node.services().get("db").allocationId().orElseThrow()).orElseThrow().metadata().get("tunnel"),
                        "the registry record carries the tunnel URL for peers");

                // a client outside: our TunnelClient, pointed at the URL the node reported
                TunnelClientOptions o = TunnelClientOptions.builder("ws://127.0.0.1:" + tunnelPort + "/tunnel")
                        .target("127.0.0.2:" + node.port("db")).bearerToken("letmein").build();
                try (TunnelClient client = TunnelClient.start(outside, "127.0.0.1:0", ListenerOptions.defaults(), o)) {
                    assertEquals("through the tunnel", echo(client.port(), "through the tunnel"));
                }
            }
        }
    }

    @Test
    void aTunnelThatCannotBind_failsTheStart_andUndoesEverything() throws Exception {
        try (EventLoops loops = EventLoops.builder().threads(1).threadNamePrefix("outside").build();
             ListenerManager outside = new ListenerManager(loops);
             DialBackServer check = DialBackServer.start(outside, "127.0.0.1:0", Duration.ofSeconds(1));
             ServerSocket squatter = new ServerSocket(0, 1, InetAddress.getByName("0.0.0.0"))) {
            PortConfig c = config(Map.of("services.db.host", "127.0.0.2", "reachability.check", "http://127.0.0.1:" + check.port(),
                    "tunnel.ports", Integer.toString(squatter.getLocalPort())));
            try (PortManager pm = PortManager.create(c)) {
                PortsException e = assertThrows(PortsException.class, () -> pm.startServices(Map.of("db", new Echo(), "raft", new Echo())));
                assertTrue(e.getMessage().startsWith("starting the node failed while checking reachability through http://127.0.0.1:"), e.getMessage());
                assertTrue(e.getMessage().contains("no firewall-friendly port could serve [db]") && e.getMessage().contains(squatter.getLocalPort() + ": "),
                        e.getMessage());
                assertTrue(pm.report().entries().isEmpty(), "every lease released: " + pm.report().format());
                assertEquals(0, outside.listeners().size() - 1, "only the dial-back listener runs in the outside manager");
                assertEquals(0, pm.registry().stats().active() + pm.registry().stats().reserved());
            }
        }
    }

    @Test
    void aReachabilityCheckThatCannotBeReached_failsTheStart_andUndoesEverything() throws Exception {
        int closed = freePort(); // nothing listens there
        PortConfig c = config(Map.of("reachability.check", "http://127.0.0.1:" + closed));
        try (PortManager pm = PortManager.create(c)) {
            PortsException e = assertThrows(PortsException.class, () -> pm.startServices(Map.of("db", new Echo(), "raft", new Echo())));
            assertTrue(e.getMessage().startsWith("starting the node failed while checking reachability through http://127.0.0.1:" + closed
                    + ": cannot reach the reachability check"), e.getMessage());
            assertTrue(pm.report().entries().isEmpty(), "every lease released: " + pm.report().format());
            assertEquals(0, pm.registry().stats().active() + pm.registry().stats().reserved());
        }
    }

    @Test
    void aNatMappingThatFails_undoesTheServicesStartedBefore_andNamesTheStep() throws Exception {
        // a "gateway" on loopback that speaks no mapping protocol: PCP and NAT-PMP get ICMP port unreachable, SSDP silence
        PortConfig c = config(Map.of("nat-traversal", "true", "nat.gateway", "127.0.0.1"));
        Leaks before = Leaks.now();
        try (PortManager pm = PortManager.create(c)) {
            PortsException e = assertThrows(PortsException.class, () -> pm.startServices(Map.of("db", new Echo(), "raft", new Echo())));
            String first = c.services().keySet().iterator().next();
            assertTrue(e.getMessage().startsWith("starting service '" + first + "' failed while mapping port "), e.getMessage());
            assertTrue(e.getMessage().contains("through NAT") && e.getMessage().contains("127.0.0.1"), e.getMessage());
            assertTrue(pm.report().entries().isEmpty(), "the lease released: " + pm.report().format());
        }
        assertEquals("", Leaks.now().beyond(before).replaceAll("threads \\[[^]]*](; )?", ""), "sockets and locks left after the failed start");
    }

    @Test
    void dialBackServer_refusesBadRequests_withWhatWouldBeValid() throws Exception {
        try (EventLoops loops = EventLoops.builder().threads(1).threadNamePrefix("outside").build();
             ListenerManager outside = new ListenerManager(loops);
             DialBackServer check = DialBackServer.start(outside, "127.0.0.1:0", Duration.ofSeconds(1))) {
            assertTrue(get(check.port(), "/v1/reachability?ports=abc").startsWith("400 "), "a bad port");
            assertTrue(get(check.port(), "/v1/reachability?ports=abc").contains("abc"), "names the bad value");
            assertTrue(get(check.port(), "/v1/reachability").contains("?ports=5432,8443"), "says what is expected");
            assertTrue(get(check.port(), "/other").startsWith("404 "));
            int open = check.port();
            String ok = get(check.port(), "/v1/reachability?ports=" + open);
            assertTrue(ok.startsWith("200 ") && ok.contains("\"observed\":\"127.0.0.1\"") && ok.contains("\"reachability\":\"OPEN\""), ok);
        }
    }

    private static String get(int port, String path) throws IOException {
        java.net.HttpURLConnection c = (java.net.HttpURLConnection) new java.net.URL("http://127.0.0.1:" + port + path).openConnection();
        c.setConnectTimeout(5000);
        c.setReadTimeout(10000);
        int code = c.getResponseCode();
        java.io.InputStream in = code < 400 ? c.getInputStream() : c.getErrorStream();
        String body = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        c.disconnect();
        return code + " " + body;
    }
}
