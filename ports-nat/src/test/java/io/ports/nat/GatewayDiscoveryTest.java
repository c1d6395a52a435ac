package io.ports.nat;

import io.ports.core.PortLease;
import io.ports.core.Protocol;
import io.ports.nat.testsupport.FakeUdpServer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.DatagramSocket;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Finding the gateway, and the errors when there is none or it speaks nothing. */
class GatewayDiscoveryTest extends NatTestSupport {
    static final String ROUTES = String.join("\n",
            "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT",
            "eth0\t0001A8C0\t00000000\t0001\t0\t0\t100\t00FFFFFF\t0\t0\t0",
            "wlan0\t00000000\t0101A8C0\t0003\t0\t0\t600\t00000000\t0\t0\t0",
            "eth0\t00000000\t0100A8C0\t0003\t0\t0\t100\t00000000\t0\t0\t0",
            "tun0\t00000000\t00000000\t0001\t0\t0\t50\t00000000\t0\t0\t0", "");

    @Test
    void routeTable_picksTheDefaultRouteWithTheLowestMetric() throws Exception {
        Optional<RouteTable.DefaultRoute> r = RouteTable.parse(ROUTES);
        assertTrue(r.isPresent());
        assertEquals(InetAddress.getByName("192.168.0.1"), r.get().gateway());
        assertEquals("eth0", r.get().interfaceName());
        assertEquals(100, r.get().metric());
    }

    @Test
    void routeTable_withoutDefaultRoute_isEmpty() {
        assertTrue(RouteTable.parse(ROUTES.lines().filter(l -> !l.contains("\t00000000\t0") || l.startsWith("Iface"))
                .reduce("", (a, b) -> a + b + "\n")).isEmpty());
        assertTrue(RouteTable.parse("Iface\tDestination\tGateway\n").isEmpty());
    }

    @Test
    void routeTable_ofThisHost_parses() throws Exception {
        // whatever this host has: it must not throw
        RouteTable.defaultRoute(RouteTable.PROC_NET_ROUTE);
    }

    @Test
    void noDefaultGateway_failsAtOnceSayingSo(@TempDir Path dir) throws Exception {
        Path routes = dir.resolve("route");
        Files.writeString(routes, "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n"
                + "eth0\t0001A8C0\t00000000\t0001\t0\t0\t100\t00FFFFFF\t0\t0\t0\n");
        try (NatTraversal nat = NatTraversal.builder(loops).routeTable(routes).build(); PortLease lease = lease("nogw", Protocol.TCP)) {
            NoPortMapperException e = assertInstanceOf(NoPortMapperException.class, failure(nat.map(lease)));
            assertTrue(e.getMessage().startsWith("no default gateway: " + routes + " has no default route"), e.getMessage());
            assertNull(e.gateway());
            assertTrue(e.findings().isEmpty());
        }
        try (NatTraversal nat = NatTraversal.builder(loops).routeTable(dir.resolve("missing")).build()) {
            assertTrue(failure(nat.probe()).getMessage().contains("cannot read"));
        }
    }

    @Test
    void gatewaySpeakingNone_failsAfterTheProbe_sayingWhatEachProbeFound() throws Exception {
        int closed;
        try (DatagramSocket s = new DatagramSocket(0, InetAddress.getLoopbackAddress())) {
            closed = s.getLocalPort();
        }
        try (FakeUdpServer silentSsdp = FakeUdpServer.silent();
             NatTraversal nat = NatTraversal.builder(loops).gateway(InetAddress.getLoopbackAddress()).pmpPort(closed)
                     .ssdpPort(silentSsdp.address().getPort()).ssdpMulticast(false).probeTimeout(Duration.ofMillis(600)).build()) {
            NoPortMapperException e = assertInstanceOf(NoPortMapperException.class, failure(nat.probe()));
            assertEquals(InetAddress.getLoopbackAddress(), e.gateway());
            assertEquals(3, e.findings().size(), e.findings().toString());
            Map<MappingProtocol, String> f = e.findings();
            assertTrue(f.get(MappingProtocol.PCP).contains("ICMP port unreachable"), f.toString());
            assertTrue(f.get(MappingProtocol.NAT_PMP).contains("ICMP port unreachable"), f.toString());
            assertTrue(f.get(MappingProtocol.UPNP).contains("no SSDP answer"), f.toString());
            assertTrue(e.getMessage().contains("answered none of PCP, NAT-PMP, UPnP IGD"), e.getMessage());
            assertTrue(silentSsdp.requests() >= 5, "M-SEARCH for every search target, repeated: " + silentSsdp.requests());
        }
        try (FakeUdpServer silent = FakeUdpServer.silent();
             NatTraversal nat = NatTraversal.builder(loops).gateway(InetAddress.getLoopbackAddress()).pmpPort(silent.address().getPort())
                     .protocols(MappingProtocol.NAT_PMP).probeTimeout(Duration.ofMillis(600)).build()) {
            NoPortMapperException e = assertInstanceOf(NoPortMapperException.class, failure(nat.probe()));
            assertTrue(e.findings().get(MappingProtocol.NAT_PMP).contains("no answer from gateway"), e.findings().toString());
            assertTrue(silent.requests() >= 2, "retransmitted within the probe time: " + silent.requests());
        }
    }

    @Test
    void close_isIdempotent_andLaterCallsFailCleanly() throws Exception {
        NatTraversal nat = NatTraversal.builder(loops).gateway(InetAddress.getLoopbackAddress()).build();
        nat.close();
        nat.close();
        try (PortLease lease = lease("after-close", Protocol.TCP)) {
            assertTrue(failure(nat.map(lease)).getMessage().contains("closed"));
        }
        assertTrue(failure(nat.probe()).getMessage().contains("closed"));
    }

    @Test
    void builder_rejectsNonsense() {
        assertThrows(IllegalArgumentException.class, () -> NatTraversal.builder(loops).lifetime(Duration.ZERO));
        assertThrows(IllegalArgumentException.class, () -> NatTraversal.builder(loops).retransmission(Duration.ofMillis(250), 0));
        assertThrows(IllegalArgumentException.class, () -> NatTraversal.builder(loops).probeTimeout(Duration.ofSeconds(-1)));
        assertThrows(NullPointerException.class, () -> NatTraversal.builder(null));
    }
}
