package io.ports.resolver;

import io.ports.resolver.testsupport.UdpForwarder;
import org.junit.jupiter.api.Test;
import org.xbill.DNS.ARecord;
import org.xbill.DNS.DClass;
import org.xbill.DNS.Flags;
import org.xbill.DNS.Message;
import org.xbill.DNS.Name;
import org.xbill.DNS.Record;
import org.xbill.DNS.Section;
import org.xbill.DNS.Type;

import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketTimeoutException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.IntStream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The shared UDP sockets: many questions multiplexed on one socket by id, forged answers dropped,
 * rotation by count and by age, close releasing every socket. Against knotd (through the
 * {@link UdpForwarder} where the test must see source ports and ids, or hold answers back), and an
 * in-process fake server for forgeries aimed at the other questions of a shared socket.
 */
class UdpSocketPoolTest extends KnotTestSupport {

    private static final Duration LONG = Duration.ofSeconds(60);

    @Test
    void questionsInFlightTogether_shareOneSocket_eachWithItsOwnId_andGetTheirOwnAnswers() throws Exception {
        try (UdpForwarder fwd = new UdpForwarder(knot.v4());
             PortsResolver r = resolver().servers(fwd.address()).udpSockets(1).udpSocketRotation(1000, LONG)
                     .familyPreference(FamilyPreference.IPV4_ONLY).build()) {
            // nothing is answered before all 64 questions were sent: they are all in flight on the socket at once
            fwd.holdUntil(() -> r.statistics().queries() >= 64);
            List<CompletionStage<List<InetAddress>>> stages = new ArrayList<>();
            for (int i = 1; i <= 64; i++) {
                stages.add(r.resolve("p" + i + ".cluster.test."));
            }
            for (int i = 1; i <= 64; i++) {
                assertEquals(List.of("10.8.0." + i), ips(await(stages.get(i - 1))), "p" + i);
            }
            List<int[]> seen = fwd.seen();
            assertEquals(64, seen.size());
            assertEquals(1, seen.stream().mapToInt(q -> q[0]).distinct().count(), "one source port for all");
            assertEquals(64, seen.stream().mapToInt(q -> q[1]).distinct().count(), "no two questions in flight share an id");
            assertEquals(64, r.statistics().queries(), "no retries");
            assertEquals(64, fwd.forwarded());
            assertEquals(1, r.udpSockets().openedSockets());
            assertEquals(1, r.udpSockets().openSockets());
        }
    }

    @Test
    void defaultPool_spreadsQuestionsOverAFewLongLivedPorts() throws Exception {
        try (UdpForwarder fwd = new UdpForwarder(knot.v4());
             PortsResolver r = resolver().servers(fwd.address()).familyPreference(FamilyPreference.IPV4_ONLY).build()) {
            for (int i = 1; i <= 40; i++) {
                assertEquals(List.of("10.8.0." + i), ips(await(r.resolve("p" + i + ".cluster.test."))));
            }
            Set<Integer> ports = fwd.seen().stream().map(q -> q[0]).collect(Collectors.toSet());
            // 4 sockets, each picked at random: all 40 on one has a chance of 4^-39
            assertTrue(ports.size() >= 2 && ports.size() <= 4, "ports " + ports);
            assertEquals(ports, new HashSet<>(r.udpSockets().localPorts()), "the ports used are the sockets still open");
            assertEquals(40, fwd.seen().stream().map(q -> q[0] + ":" + q[1]).distinct().count());
        }
    }

    @Test
    void rotation_afterMaxQueries_movesToANewPort_andClosesTheOldSocket() throws Exception {
        try (UdpForwarder fwd = new UdpForwarder(knot.v4());
             PortsResolver r = resolver().servers(fwd.address()).udpSockets(1).udpSocketRotation(5, LONG)
                     .familyPreference(FamilyPreference.IPV4_ONLY).build()) {
            for (int i = 1; i <= 12; i++) {
                assertEquals(List.of("10.8.0." + i), ips(await(r.resolve("p" + i + ".cluster.test."))));
                if (i == 4) { // all but a tenth (at least one) of 5 taken: the successor is opened ahead, off the loop
                    eventually(() -> r.udpSockets().openSockets() == 2 && r.udpSockets().openedSockets() == 2,
                            "a spare beside the current socket, which still has one question left");
                }
            }
            List<Integer> ports = fwd.seen().stream().map(q -> q[0]).collect(Collectors.toList());
            assertEquals(12, ports.size());
            for (int block = 0; block < 3; block++) {
                int from = block * 5;
                List<Integer> mine = ports.subList(from, Math.min(from + 5, 12));
                assertEquals(1, new HashSet<>(mine).size(), "questions " + (from + 1) + "-" + (from + mine.size())
                        + " share a socket: " + ports);
            }
            // each socket was opened while the one before it was still open: they cannot share a port
            assertNotEquals(ports.get(0), ports.get(5), ports.toString());
            assertNotEquals(ports.get(5), ports.get(10), ports.toString());
            eventually(() -> r.udpSockets().openedSockets() == 3, "three sockets opened");
            assertEquals(3, r.udpSockets().openedSockets(), "the third socket has taken 2 of 5: no fourth");
            eventually(() -> r.udpSockets().openSockets() == 1, "the used-up sockets close after their last answer");
            assertEquals(List.of(ports.get(10)), r.udpSockets().localPorts());
        }
    }

    @Test
    void oneQuestionPerSocket_everyQuestionHasItsOwnPortAndRandomId() throws Exception {
        try (UdpForwarder fwd = new UdpForwarder(knot.v4());
             PortsResolver r = resolver().servers(fwd.address()).udpSockets(1).udpSocketRotation(1, LONG)
                     .familyPreference(FamilyPreference.IPV4_ONLY).build()) {
            for (int i = 1; i <= 6; i++) {
                await(r.resolve("node" + i + ".cluster.test"));
            }
            List<int[]> seen = fwd.seen();
            assertEquals(6, seen.size());
            for (int i = 1; i < 6; i++) {
                assertNotEquals(seen.get(i - 1)[0], seen.get(i)[0], "question " + (i + 1) + " on a new socket");
            }
            long ids = seen.stream().mapToInt(q -> q[1]).distinct().count();
            assertTrue(ids >= 2, "random 16-bit ids: six equal by chance is practically impossible; distinct: " + ids);
            // one per question and the next one opened ahead: 7, or more if a question came before its spare was
            // ready (the spare is built off the loop) and opened one on the loop
            eventually(() -> r.udpSockets().openedSockets() >= 7, "one per question, and the next one opened ahead: "
                    + r.udpSockets().openedSockets());
            eventually(() -> r.udpSockets().openSockets() == 1, "only the socket opened ahead stays open");
        }
    }

    @Test
    void rotation_afterMaxAge_retiresABusySocketWithoutLosingItsAnswer_andAnIdleOneCloses() throws Exception {
        try (UdpForwarder fwd = new UdpForwarder(knot.v4());
             PortsResolver r = resolver().servers(fwd.address()).timeout(Duration.ofSeconds(3)).udpSockets(1)
                     .udpSocketRotation(1000, Duration.ofMillis(300)).familyPreference(FamilyPreference.IPV4_ONLY).build()) {
            long start = System.nanoTime();
            fwd.holdUntil(() -> System.nanoTime() - start > TimeUnit.MILLISECONDS.toNanos(600)); // past the age
            assertEquals(List.of("10.8.0.1"), ips(await(r.resolve("p1.cluster.test."))));
            assertEquals(1, r.statistics().queries(), "answered on the retired socket, no retry");
            eventually(() -> r.udpSockets().openSockets() == 0, "the retired socket closes after its last answer");

            fwd.holdUntil(() -> true);
            assertEquals(List.of("10.8.0.2"), ips(await(r.resolve("p2.cluster.test."))));
            assertEquals(2, r.udpSockets().openedSockets(), "the next question opened a new socket");
            eventually(() -> r.udpSockets().openSockets() == 0, "an idle socket closes when it is maxAge old");
            List<int[]> seen = fwd.seen();
            assertEquals(2, seen.size());
        }
    }

    @Test
    void close_releasesEverySocket_currentAndDraining_andFailsTheQuestionsInFlight() throws Exception {
        try (DatagramSocket silent = new DatagramSocket(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0))) {
            PortsResolver r = resolver().servers((InetSocketAddress) silent.getLocalSocketAddress())
                    .timeout(Duration.ofSeconds(30)).attempts(1).udpSockets(2).udpSocketRotation(3, LONG)
                    .familyPreference(FamilyPreference.IPV4_ONLY).build();
            List<CompletionStage<List<InetAddress>>> inFlight = new ArrayList<>();
            try {
                for (int i = 1; i <= 20; i++) {
                    inFlight.add(r.resolve("p" + i + ".cluster.test."));
                }
                eventually(() -> r.statistics().queries() == 20, "20 questions sent");
                // 20 questions, 3 per socket, none answered: at least 6 used-up sockets draining, and the current ones.
                // A used-up socket's replacement opens in a task of its own, so wait until the count has settled.
                eventually(() -> {
                    try {
                        List<Integer> open = r.udpSockets().localPorts();
                        return open.size() >= 7 && open.size() == r.udpSockets().openSockets();
                    } catch (Exception e) {
                        throw new IllegalStateException(e);
                    }
                }, "at least 7 sockets open, each counted");
                List<Integer> ports = r.udpSockets().localPorts();
                r.close();
                assertEquals(0, r.udpSockets().openSockets(), "close returns when every socket is closed");
                for (CompletionStage<List<InetAddress>> s : inFlight) {
                    assertTrue(failure(s).getMessage().contains("closed"));
                }
                for (int port : ports) { // the kernel has them back
                    try (DatagramSocket again = new DatagramSocket(port)) {
                        assertEquals(port, again.getLocalPort());
                    }
                }
                assertTrue(failure(r.resolve("p21.cluster.test.")).getMessage().contains("closed"));
                assertEquals(0, r.udpSockets().openSockets(), "no socket opened after close");
            } finally {
                r.close();
            }
        }
    }

    @Test
    void forgedAnswers_aimedAtTheQuestionsOfASharedSocket_areDropped() throws Exception {
        Name a = Name.fromString("a.fake.test.");
        Name b = Name.fromString("b.fake.test.");
        try (FakeServer fake = new FakeServer();
             PortsResolver r = resolver().servers(fake.address()).timeout(Duration.ofSeconds(5)).attempts(1).udpSockets(1)
                     .udpSocketRotation(1000, LONG).familyPreference(FamilyPreference.IPV4_ONLY).build()) {
            CompletionStage<List<InetAddress>> forA = r.resolve("a.fake.test.");
            CompletionStage<List<InetAddress>> forB = r.resolve("b.fake.test.");
            Map<Name, Message> queries = fake.receive(2);
            Message qa = queries.get(a);
            Message qb = queries.get(b);
            assertEquals(fake.clientPort(a), fake.clientPort(b), "both on the one socket");
            int idA = qa.getHeader().getID();
            int idB = qb.getHeader().getID();
            assertNotEquals(idA, idB, "two questions in flight on one socket never share an id");
            int unused = IntStream.range(0, 0x10000).filter(i -> i != idA && i != idB).findFirst().getAsInt();

            fake.send(answer(idA, b, "6.6.6.6"), a);          // a's id with b's question: the other question in flight
            fake.send(answer(idB, a, "6.6.6.6"), a);          // and the other way round
            fake.send(answer(unused, a, "6.6.6.6"), a);       // an id nobody asked with
            fake.sendFromElsewhere(answer(idA, a, "6.6.6.6"), a); // right id and question, from another port
            fake.sendFromElsewhere(answer(idB, b, "6.6.6.6"), b);
            fake.send(answer(idA, a, "192.0.2.1"), a);        // the real answers, last
            fake.send(answer(idB, b, "192.0.2.2"), b);

            assertEquals(List.of("192.0.2.1"), ips(await(forA)));
            assertEquals(List.of("192.0.2.2"), ips(await(forB)));
            assertEquals(2, r.statistics().queries(), "the real answers were taken without a retry");
            assertEquals(0, r.statistics().timeouts());
        }
    }

    @Test
    void poolSettings_outOfRange_areRefusedNamingTheValue_andChangeNothing() throws Exception {
        PortsResolver.Builder b = resolver().servers(knot.v4()).familyPreference(FamilyPreference.IPV4_ONLY);
        for (int bad : new int[] {0, -1, 65}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> b.udpSockets(bad));
            assertTrue(e.getMessage().contains("udpSockets : " + bad) && e.getMessage().contains("1-64"), e.getMessage());
        }
        IllegalArgumentException count = assertThrows(IllegalArgumentException.class, () -> b.udpSocketRotation(0, LONG));
        assertTrue(count.getMessage().contains("maxQueries : 0") && count.getMessage().contains("1-65535"), count.getMessage());
        assertThrows(IllegalArgumentException.class, () -> b.udpSocketRotation(65536, LONG));
        IllegalArgumentException age = assertThrows(IllegalArgumentException.class, () -> b.udpSocketRotation(10, Duration.ZERO));
        assertTrue(age.getMessage().contains("maxAge : PT0S") && age.getMessage().contains("1 ms to 1 day"), age.getMessage());
        assertThrows(IllegalArgumentException.class, () -> b.udpSocketRotation(10, Duration.ofDays(2)));
        assertThrows(NullPointerException.class, () -> b.udpSocketRotation(10, null));
        try (PortsResolver r = b.build()) { // the defaults are untouched: 4 sockets, 1,000 questions or 10 s
            assertEquals(1_000, r.udpSockets().maxQueries);
            assertEquals(Duration.ofSeconds(10).toNanos(), r.udpSockets().maxAgeNanos);
            assertEquals(List.of("10.8.0.1"), ips(await(r.resolve("p1.cluster.test."))));
        }
    }

    private static byte[] answer(int id, Name name, String address) throws Exception {
        Message m = new Message(id);
        m.getHeader().setFlag(Flags.QR);
        m.getHeader().setFlag(Flags.AA);
        m.addRecord(Record.newRecord(name, Type.A, DClass.IN), Section.QUESTION);
        m.addRecord(new ARecord(name, DClass.IN, 300, InetAddress.getByName(address)), Section.ANSWER);
        return m.toWire();
    }

    /** An in-process DNS "server" on 127.0.0.1 that answers only what the test tells it to send. */
    private static final class FakeServer implements AutoCloseable {
        private final DatagramSocket socket = new DatagramSocket(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
        private final java.util.HashMap<Name, InetSocketAddress> clients = new java.util.HashMap<>();

        FakeServer() throws Exception {
            socket.setSoTimeout(5_000);
        }

        InetSocketAddress address() {
            return (InetSocketAddress) socket.getLocalSocketAddress();
        }

        /** The next {@code n} queries by question name; each wait at most 5 s. */
        Map<Name, Message> receive(int n) throws Exception {
            Map<Name, Message> out = new java.util.HashMap<>();
            for (int i = 0; i < n; i++) {
                DatagramPacket p = new DatagramPacket(new byte[4096], 4096);
                try {
                    socket.receive(p);
                } catch (SocketTimeoutException e) {
                    throw new AssertionError("the resolver sent " + i + " of " + n + " queries within 5 s");
                }
                Message m = new Message(Arrays.copyOf(p.getData(), p.getLength()));
                out.put(m.getQuestion().getName(), m);
                clients.put(m.getQuestion().getName(), (InetSocketAddress) p.getSocketAddress());
            }
            return out;
        }

        int clientPort(Name question) {
            return clients.get(question).getPort();
        }

        void send(byte[] message, Name toAskerOf) throws Exception {
            socket.send(new DatagramPacket(message, message.length, clients.get(toAskerOf)));
        }

        void sendFromElsewhere(byte[] message, Name toAskerOf) throws Exception {
            try (DatagramSocket elsewhere = new DatagramSocket(0, InetAddress.getLoopbackAddress())) {
                elsewhere.send(new DatagramPacket(message, message.length, clients.get(toAskerOf)));
            }
        }

        @Override
        public void close() {
            socket.close();
        }
    }
}
