package io.ports.nat;

import io.ports.nat.testsupport.NatLab;
import io.ports.nat.testsupport.Peers;
import org.junit.jupiter.api.Test;

import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link NatLab#joinHost()}, which the NAT benchmarks use to reach the lab's gateway from a JVM that
 * cannot run under {@code ip netns exec}: this JVM's namespace gets a link onto the LAN, the gateway
 * answers it there, SSDP multicast is routed into the lab, the LAN namespace's own client keeps
 * working, and closing the lab removes the link and its routes. Needs root; skipped without it,
 * required on CI.
 */
class NatLabHostLinkTest {
    @Test
    void joinHost_putsThisNamespaceOnTheLan_andCloseRemovesTheLinkAndRoutes() throws Exception {
        String link;
        try (NatLab lab = NatLab.start()) {
            link = lab.joinHost();
            assertSame(link, lab.joinHost(), "a second call changes nothing");
            assertEquals(link, lab.hostLink());
            assertTrue(link.startsWith(NatLab.PREFIX + ProcessHandle.current().pid() + "-"), link);
            assertTrue(Peers.check(10, "ip", "-4", "addr", "show", "dev", link).contains("inet " + NatLab.HOST_CLIENT + "/24"));
            assertTrue(Peers.check(10, "ip", "route", "get", NatLab.SSDP_GROUP).contains("dev " + link),
                    "SSDP multicast from this namespace goes into the lab");
            assertTrue(Peers.check(10, "ip", "route", "get", NatLab.STUN).contains("via " + NatLab.GATEWAY + " dev " + link));

            // the gateway answers this JVM: a NAT-PMP external address request from 10.77.1.3
            try (DatagramSocket s = new DatagramSocket(new InetSocketAddress(NatLab.HOST_CLIENT, 0))) {
                s.setSoTimeout(1000);
                DatagramPacket answer = new DatagramPacket(new byte[64], 64);
                boolean answered = false;
                for (int i = 0; i < 5 && !answered; i++) { // UDP: a few tries, 1 s each
                    s.send(new DatagramPacket(new byte[] {0, 0}, 2, new InetSocketAddress(NatLab.GATEWAY, 5351)));
                    try {
                        s.receive(answer);
                        answered = true;
                    } catch (java.net.SocketTimeoutException retry) {
                        // next try
                    }
                }
                assertTrue(answered, "no NAT-PMP answer to " + NatLab.HOST_CLIENT + " in 5 tries");
                byte[] r = answer.getData();
                assertEquals(12, answer.getLength());
                assertEquals(128, r[1] & 0xFF, "opcode");
                assertEquals(0, r[2] | r[3], "result code");
                assertEquals(NatLab.WAN_ADDRESS, InetAddress.getByAddress(Arrays.copyOfRange(r, 8, 12)).getHostAddress());
            }
            // the LAN namespace's client (now behind the bridge) still reaches the gateway
            String list = lab.upnpList();
            assertTrue(list.contains("ExternalIPAddress = " + NatLab.WAN_ADDRESS), list);
        }
        assertFalse(Files.exists(Path.of("/sys/class/net", link)), link + " is gone with the lab");
        String routes = Peers.check(10, "ip", "route", "show");
        assertFalse(routes.contains(link), routes);
        assertFalse(Peers.check(10, "ip", "route", "show", NatLab.SSDP_GROUP).contains(link));
    }
}
