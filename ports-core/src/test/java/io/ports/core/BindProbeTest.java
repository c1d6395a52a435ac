package io.ports.core;

import io.ports.core.testsupport.Jvm;
import io.ports.core.testsupport.ProbeMain;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.DatagramSocket;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.EnumSet;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

class BindProbeTest {
    private final BindProbe probe = BindProbe.wildcard();

    /** A port nobody had a moment ago: the kernel's pick, released. */
    private static int somePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    @Test
    void probe_unusedPort_isFree() throws IOException {
        int p = somePort();
        ProbeResult r = probe.probe(p);
        assertEquals(ProbeResult.Status.FREE, r.status(), r.toString());
        assertTrue(probe.isFree(p));
    }

    @Test
    void probe_tcpListenerOnIpv4Loopback_isInUseForTcp() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 50, InetAddress.getByName("127.0.0.1"))) {
            ProbeResult r = probe.probe(s.getLocalPort());
            assertEquals(ProbeResult.Status.IN_USE, r.status(), r.toString());
            assertEquals(Protocol.TCP, r.protocol());
        }
    }

    @Test
    void probe_tcpListenerOnIpv6Loopback_isInUse() throws IOException {
        assumeTrue(probe.ipv6Available(), "this host has no IPv6");
        try (ServerSocket s = new ServerSocket(0, 50, InetAddress.getByName("::1"))) {
            assertEquals(ProbeResult.Status.IN_USE, probe.probe(s.getLocalPort()).status());
        }
    }

    @Test
    void probe_listenerOnIpv4Wildcard_isInUse() throws IOException {
        try (ServerSocket s = new ServerSocket()) {
            s.bind(new InetSocketAddress(InetAddress.getByName("0.0.0.0"), 0));
            assertEquals(ProbeResult.Status.IN_USE, probe.probe(s.getLocalPort()).status());
        }
    }

    @Test
    void probe_udpSocket_isInUseForUdpOnly() throws IOException {
        try (DatagramSocket d = new DatagramSocket(new InetSocketAddress(InetAddress.getByName("127.0.0.1"), 0))) {
            int p = d.getLocalPort();
            ProbeResult r = probe.probe(p);
            assertEquals(ProbeResult.Status.IN_USE, r.status(), r.toString());
            assertEquals(Protocol.UDP, r.protocol());
            assertEquals(ProbeResult.Status.FREE, probe.probe(p, EnumSet.of(Protocol.TCP)).status());
        }
    }

    @Test
    void probe_addressNotOnThisHost_isAddressNotAvailable() throws IOException {
        // TEST-NET-1 (RFC 5737): never assigned to a host; binding sends nothing.
        ProbeResult r = BindProbe.on(InetAddress.getByName("192.0.2.1")).probe(somePort());
        assertEquals(ProbeResult.Status.ADDRESS_NOT_AVAILABLE, r.status(), r.toString());
        assertEquals("192.0.2.1", r.address());
    }

    @Test
    void probe_privilegedPortWithoutTheRight_isPermissionDenied() throws Exception {
        int unprivilegedStart = Integer.parseInt(Files.readString(Path.of("/proc/sys/net/ipv4/ip_unprivileged_port_start")).trim());
        boolean root = "root".equals(System.getProperty("user.name"));
        if (!root) {
            assumeTrue(unprivilegedStart > 1, "this host lets anybody bind low ports");
            assertEquals(ProbeResult.Status.PERMISSION_DENIED, probe.probe(1).status());
            return;
        }
        // As root, run the probe in a child without CAP_NET_BIND_SERVICE.
        assumeTrue(Files.isExecutable(Path.of("/usr/bin/setpriv")) || !"true".equals(System.getenv("CI")),
                "setpriv (util-linux) is needed to drop CAP_NET_BIND_SERVICE");
        try (Jvm child = Jvm.start(List.of("/usr/bin/setpriv", "--bounding-set", "-net_bind_service"), ProbeMain.class, "1")) {
            assertEquals("PERMISSION_DENIED", child.await("RESULT", 30));
        }
    }

    @Test
    void probe_badInput_isRejected() {
        assertThrows(IllegalArgumentException.class, () -> probe.probe(0));
        assertThrows(IllegalArgumentException.class, () -> probe.probe(65536));
        assertThrows(IllegalArgumentException.class, () -> probe.probe(8080, EnumSet.noneOf(Protocol.class)));
        assertThrows(IllegalArgumentException.class, BindProbe::on);
    }

    @Test
    void wildcard_isDualStackWhereTheHostHasIpv6() {
        List<InetAddress> a = probe.addresses();
        assertEquals(1, a.size());
        assertTrue(a.get(0).isAnyLocalAddress());
        assertEquals(probe.ipv6Available(), a.get(0) instanceof Inet6Address);
    }
}
