package io.ports.manager;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.ports.core.HostReservations;
import io.ports.core.PortLease;
import io.ports.core.PortsException;
import io.ports.core.registry.AllocationStatus;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.HashMap;
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
        } finally {
            pm.close();
            pm.close(); // safe twice
        }
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
}
