package io.ports.manager.lab;

import io.ports.core.testsupport.Jvm;
import io.ports.nat.testsupport.NatLab;
import io.ports.nat.testsupport.Peers;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * PortManager behind a real NAT gateway: miniupnpd (PCP, NAT-PMP, UPnP IGD) in ports-nat's
 * {@link NatLab}. The node runs as a child JVM in the LAN namespace ({@link NodeLabMain}); the
 * outside is a child JVM in the WAN namespace ({@link OutsideMain}: the dial-back reachability check,
 * and the JDK's WebSocket client). Mappings are checked on the gateway (its nftables DNAT rules),
 * reachability with real TCP connections from the WAN side. An extra nftables rule on the router drops
 * one service's port, as a firewall beyond the NAT would. Needs root; skipped without it, required on CI.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ManagerNatLabTest {
    static NatLab lab;
    static Jvm outside;
    static Jvm node;

    @BeforeAll
    static void start() throws Exception {
        lab = NatLab.start();
        try {
            outside = Jvm.start(List.of("ip", "netns", "exec", lab.wan), OutsideMain.class, lab.file("outside.log").toString());
            outside.await("READY", 60);
            node = Jvm.start(lab.lanPrefix(), NodeLabMain.class, lab.file("node.log").toString());
            node.await("READY", 60);
        } catch (Exception | Error e) {
            stop();
            throw e;
        }
    }

    @AfterAll
    static void stop() {
        try {
            for (Jvm j : new Jvm[] {node, outside}) {
                if (j != null) {
                    try {
                        j.send("exit");
                        j.await("BYE", 20);
                    } catch (Exception | Error e) {
                        System.out.println("a lab child did not exit cleanly: " + e);
                    }
                    j.close();
                }
            }
            for (String log : List.of("node.log", "outside.log")) {
                try {
                    System.out.println("---- " + log + " (last lines) ----");
                    System.out.print(Peers.tail(Files.readString(lab.file(log)), 40));
                } catch (Exception e) {
                    System.out.println("(no " + log + ": " + e + ")");
                }
            }
        } finally {
            node = null;
            outside = null;
            if (lab != null) {
                lab.close();
                lab = null;
            }
        }
    }

    private static Path config(String name, String... lines) throws Exception {
        List<String> all = new ArrayList<>(List.of("lock-dir=" + lab.file("locks"), "event-loops.threads=1", "health-check-interval=1h",
                "shutdown-timeout=2s", "heartbeat-interval=1s", "dynamic-range=25000-29000", "node-id=lab-node"));
        all.addAll(List.of(lines));
        return Files.writeString(lab.file(name), String.join("\n", all) + "\n");
    }

    /** Sends {@code start FILE}; returns the NODE lines by service, or the FAILED line as the key "FAILED". */
    private static Map<String, String[]> startNode(Path config) throws Exception {
        node.send("start " + config);
        Map<String, String[]> services = new HashMap<>();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(90);
        while (System.nanoTime() < deadline) {
            String line = node.poll(TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime()));
            if (line == null) {
                break;
            }
            if (line.startsWith("NODE ")) {
                String[] f = line.substring(5).split(" ");
                services.put(f[0], f);
            } else if (line.equals("STARTED")) {
                return services;
            } else if (line.startsWith("FAILED ")) {
                services.put("FAILED", new String[] {line.substring(7)});
                return services;
            }
        }
        return fail("the node did not answer 'start' within 90 s (alive: " + node.process().isAlive() + ")");
    }

    private static String closeNode() throws Exception {
        node.send("close");
        return node.await("CLOSED", 60);
    }

    private static void eventually(long seconds, String what, Check check) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        while (!check.ok()) {
            if (System.nanoTime() > deadline) {
                fail(what + " not within " + seconds + " s; gateway rules:\n" + lab.natRules());
            }
            Thread.sleep(100);
        }
    }

    interface Check {
        boolean ok() throws Exception;
    }

    private static String rtr(String... nft) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("ip", "netns", "exec", lab.rtr, "nft"));
        cmd.addAll(List.of(nft));
        Peers.Result r = Peers.run(10, cmd);
        assertTrue(r.ok(), String.join(" ", cmd) + ": " + r.output());
        return r.output();
    }

    /** Deletes the router's forward rules that drop {@code port} (by handle). */
    private static void undropPort(int port) throws Exception {
        for (String line : rtr("-a", "list", "chain", "inet", "filter", "forward").split("\n")) {
            if (line.contains("dport " + port + " drop") && line.contains("# handle ")) {
                rtr("delete", "rule", "inet", "filter", "forward", "handle", line.substring(line.indexOf("# handle ") + 9).trim());
            }
        }
    }

    @Test
    @Order(1)
    void start_mapsEveryService_checksFromOutside_andTunnelsTheFilteredOne_thenCloseLeavesNothing() throws Exception {
        // a firewall beyond the NAT drops the database port: mapped on the gateway, yet unreachable
        rtr("insert", "rule", "inet", "filter", "forward", "tcp", "dport", "25432", "drop");
        try {
            Path conf = config("tunnel.properties", "nat-traversal=true", "reachability.check=http://" + NatLab.STUN + ":" + OutsideMain.PORT,
                    "reachability.timeout=1500ms", "tunnel.ports=8443", "services.db.type=CUSTOM", "services.db.port=25432",
                    "services.db.required=true", "services.api.type=CUSTOM", "services.api.port=28081", "services.api.required=true");
            Map<String, String[]> s = startNode(conf);
            assertFalse(s.containsKey("FAILED"), () -> "start failed: " + s.get("FAILED")[0]);
            // NODE name port route endpoint via url checked directly
            String[] api = s.get("api");
            assertEquals("NAT", api[2], String.join(" ", api));
            assertEquals(NatLab.WAN_ADDRESS + ":28081", api[3]);
            assertTrue(List.of("PCP", "NAT-PMP", "UPnP_IGD").contains(api[4]), api[4]);
            assertEquals("OPEN", api[6], "the dial-back reached the mapped api port");
            String[] db = s.get("db");
            assertEquals("TUNNEL", db[2], String.join(" ", db));
            assertEquals(NatLab.WAN_ADDRESS + ":8443", db[3], "the tunnel's port, mapped on the gateway");
            assertTrue(db[4].startsWith("WebSocket_tunnel_(port_mapped_via_"), db[4]);
            assertEquals("ws://" + NatLab.WAN_ADDRESS + ":8443/tunnel?target=127.0.0.1:25432", db[5]);
            assertEquals("OPEN", db[6], "the tunnel was found open from outside");
            assertEquals("FILTERED", db[7], "the database port itself was found filtered");

            // the gateway's side: every port mapped
            for (int port : new int[] {25432, 28081, 8443}) {
                assertTrue(lab.forwards("tcp", port, port), "no DNAT rule for " + port + ":\n" + lab.natRules());
            }
            // the outside's side: api directly, db not directly but through the tunnel, with the JDK's WebSocket client
            assertEquals("hello api", lab.connectFromWan(NatLab.WAN_ADDRESS, 28081));
            assertEquals("", lab.connectFromWan(NatLab.WAN_ADDRESS, 25432), "the firewall drops the database port");
            outside.send("ws " + db[5] + " - ping");
            assertEquals("hello db|ping", outside.await("WS ", 30), "the database through the tunnel");

            String closed = closeNode();
            assertTrue(closed.contains("started=[]"), "close() started threads: " + closed);
            assertTrue(closed.endsWith("leaks=none"), "close() left behind: " + closed);
            for (int port : new int[] {25432, 28081, 8443}) {
                eventually(10, "the mapping of " + port + " deleted", () -> !lab.natRules().contains("dport " + port + " "));
            }
        } finally {
            undropPort(25432);
        }
    }

    @Test
    @Order(2)
    void aListenerThatCannotBind_afterAMappingWasMade_deletesTheMapping_andReleasesThePorts() throws Exception {
        // db is allocated, listening and mapped; then api's listener cannot bind (10.77.9.9 is no address of this host)
        Path conf = config("rollback.properties", "nat-traversal=true", "services.db.type=CUSTOM", "services.db.port=25433",
                "services.db.required=true", "services.api.type=CUSTOM", "services.api.port=28082", "services.api.required=true",
                "services.api.host=10.77.9.9");
        Map<String, String[]> s = startNode(conf);
        assertTrue(s.containsKey("FAILED"), "the start should have failed: " + s.keySet());
        String failure = s.get("FAILED")[0];
        assertTrue(failure.startsWith("starting service 'api' failed while starting its listener on port 28082 of 10.77.9.9: "), failure);
        assertTrue(failure.contains("everything started before was undone"), failure);
        String log = Files.readString(lab.file("node.log"));
        assertTrue(log.contains("mapped db TCP 25433 -> " + NatLab.WAN_ADDRESS + ":25433"), "db was mapped before api failed:\n" + Peers.tail(log, 30));
        assertTrue(log.matches("(?s).*deleted the .+ mapping of db port 25433.*"), "and its mapping deleted:\n" + Peers.tail(log, 30));
        eventually(10, "db's mapping gone from the gateway", () -> !lab.natRules().contains("dport 25433 "));
        node.send("leaks");
        assertEquals("none", node.await("LEAKS", 20), "ports (locks, sockets) and threads released after the failed start");
    }
}
