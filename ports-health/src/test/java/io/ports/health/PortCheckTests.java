package io.ports.health;

import io.ports.core.PortRange;
import io.ports.core.ProbeResult;
import io.ports.core.Protocol;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

@Timeout(120)
class PortCheckTests {
    private static final PortRange SPARE = PortRange.of(31300, 31399);

    private final Children children = new Children();

    @AfterEach
    void stopChildren() {
        children.close();
    }

    @Test
    void listeningPort_isReportedWithTheListeningProcessAndItsCommand_withoutAProbe() throws Exception {
        Children.Child child = children.start();
        int port = child.listenTcp(0);

        PortStatus s = PortCheck.create().check(port, Protocol.TCP);

        assertTrue(s.isListening(), s.toString());
        assertEquals(List.of(child.pid), s.listeningProcesses().stream().map(ProcessInfo::pid).toList(), s.toString());
        assertEquals("java", s.listeningProcesses().get(0).command(), s.toString());
        assertTrue(s.listeners().get(0).localAddress().contains("127.0.0.1"), s.listeners().toString());
        assertTrue(s.probe().isEmpty(), "a listener answers the question: no probe");
        assertFalse(s.isFree());
    }

    @Test
    void portNobodyHolds_isNotListeningAndBindable() {
        int port = Children.freePort(SPARE, Set.of());

        PortStatus s = PortCheck.create().check(port, Protocol.TCP);

        assertFalse(s.isListening(), s.toString());
        assertEquals(java.util.Optional.of(true), s.bindable(), s.toString());
        assertTrue(s.isFree());
    }

    @Test
    void boundUdpSocket_servesItsPort() throws Exception {
        Children.Child child = children.start();
        int port = child.bindUdp(0);

        PortStatus udp = PortCheck.create().check(port, Protocol.UDP);

        assertTrue(udp.isListening(), udp.toString());
        assertEquals(child.pid, udp.listeningProcesses().get(0).pid());
    }

    @Test
    void tcpSocketBoundWithoutListening_holdsThePortButDoesNotServeIt() throws Exception {
        int port = Children.freePort(SPARE, Set.of());
        try (Socket held = new Socket()) {
            held.bind(new InetSocketAddress(InetAddress.getByName("127.0.0.1"), port)); // no SO_REUSEADDR, never listens

            PortStatus s = PortCheck.create().check(port, Protocol.TCP);

            assertFalse(s.isListening(), s.toString());
            assertEquals(ProbeResult.Status.IN_USE, s.probe().orElseThrow().status(), s.toString());
            assertFalse(s.isFree());
            assertTrue(PortCheck.create().newRound().snapshot().sockets(port, Protocol.TCP).isEmpty(),
                    "the kernel's tables do not list a TCP socket that is only bound: only a probe finds it");
        }
    }

    @Test
    void checkingManyPorts_readsTheSocketTablesOncePerRound() throws Exception {
        Children.Child child = children.start();
        int a = child.listenTcp(0);
        int b = child.bindUdp(0);
        int c = Children.freePort(SPARE, Set.of());
        AtomicInteger snapshots = new AtomicInteger();
        PortCheck check = PortCheck.builder().snapshots(() -> {
            snapshots.incrementAndGet();
            return SocketSnapshot.take();
        }).build();

        List<PortStatus> all = check.checkAll(List.of(PortKey.tcp(a), PortKey.udp(b), PortKey.tcp(c)), PortCheck.ProbeMode.WHEN_NOT_LISTENING);

        assertEquals(1, snapshots.get());
        assertTrue(all.get(0).isListening());
        assertTrue(all.get(1).isListening());
        assertTrue(all.get(2).isFree(), all.get(2).toString());
    }

    @Test
    void roundWithItsBudgetSpent_stillReportsListenersButSkipsProbes() throws Exception {
        Children.Child child = children.start();
        int listening = child.listenTcp(0);
        int free = Children.freePort(SPARE, Set.of());
        PortCheck.Round round = PortCheck.builder().budget(Duration.ZERO).build().newRound();

        PortStatus served = round.check(PortKey.tcp(listening), PortCheck.ProbeMode.ALWAYS);
        PortStatus idle = round.check(PortKey.tcp(free), PortCheck.ProbeMode.ALWAYS);

        assertTrue(round.expired());
        assertTrue(served.isListening());
        assertTrue(served.probe().isEmpty());
        assertTrue(idle.probe().isEmpty());
        assertEquals(2, round.skippedProbes());
        assertEquals(0, round.probes());
    }
}
