package io.ports.nat.stun;

import io.ports.core.EventLoops;
import io.ports.core.PortAllocator;
import io.ports.core.PortLease;
import io.ports.core.PortRequest;
import io.ports.core.Protocol;
import io.ports.core.ServiceType;
import io.ports.nat.NatTimeoutException;
import io.ports.nat.NatTraversalException;
import io.ports.nat.testsupport.Coturn;
import io.ports.nat.testsupport.FakeUdpServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.OutputStream;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The STUN client against Debian's coturn on loopback (RFC 5780 on: 127.0.0.1 and 127.0.0.2, port and
 * port + 1; a second coturn without RFC 5780), plus in-process fakes for what coturn will not do on
 * demand: silence, garbage, error responses, redirects.
 */
class CoturnStunTest {
    static Coturn coturn;
    static Coturn plain;
    static EventLoops loops;

    @BeforeAll
    static void start() throws Exception {
        Coturn.require();
        loops = EventLoops.builder().threads(2).threadNamePrefix("stun-test").build();
        coturn = Coturn.loopback(true);
        plain = Coturn.loopback(false);
    }

    @AfterAll
    static void stop() {
        try {
            if (coturn != null) {
                coturn.close();
            }
            if (plain != null) {
                plain.close();
            }
        } finally {
            if (loops != null) {
                loops.close();
            }
        }
    }

    /** A client with a short RTO, so failures come in about a second. */
    static StunClient.Builder client(InetSocketAddress... servers) {
        return StunClient.builder(loops).servers(List.of(servers)).rto(Duration.ofMillis(20)).tcpTimeout(Duration.ofSeconds(2))
                .filteringSends(2, 4);
    }

    static <T> T await(CompletionStage<T> stage) throws Exception {
        try {
            return stage.toCompletableFuture().get(30, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            throw new AssertionError("expected success, got " + e.getCause(), e.getCause());
        }
    }

    static Throwable failure(CompletionStage<?> stage) throws Exception {
        try {
            Object v = stage.toCompletableFuture().get(30, TimeUnit.SECONDS);
            return fail("expected a failure, got " + v);
        } catch (ExecutionException e) {
            return io.ports.nat.internal.NatUtil.unwrap(e.getCause());
        }
    }

    @Test
    void binding_udpIpv4_mapsToTheLocalEndpointOnLoopback() throws Exception {
        try (StunClient stun = client(coturn.v4()).build()) {
            StunBinding b = await(stun.binding());
            assertEquals(Protocol.UDP, b.transport());
            assertEquals(InetAddress.getByName("127.0.0.1"), b.mapped().getAddress());
            assertEquals(b.local(), b.mapped(), "no NAT on loopback: the server sees our own endpoint");
            assertFalse(b.translated());
            assertEquals(coturn.v4(), b.server());
            assertTrue(b.software() != null && b.software().contains("Coturn"), "SOFTWARE: " + b.software());
            assertEquals(coturn.address("127.0.0.2", coturn.port() + 1), b.otherAddress(), "RFC 5780 OTHER-ADDRESS");
        }
    }

    @Test
    void binding_udpIpv6_mapsToTheLocalEndpoint() throws Exception {
        try (StunClient stun = client(coturn.v6()).build()) {
            StunBinding b = await(stun.binding(Protocol.UDP));
            assertEquals(InetAddress.getByName("::1"), b.mapped().getAddress());
            assertEquals(b.local().getPort(), b.mapped().getPort());
        }
    }

    @Test
    void binding_tcpIpv4AndIpv6_mapToTheLocalEndpoint() throws Exception {
        try (StunClient stun = client(coturn.v4()).build()) {
            StunBinding b = await(stun.binding(Protocol.TCP));
            assertEquals(Protocol.TCP, b.transport());
            assertEquals(b.local(), b.mapped());
            assertEquals(1, b.sends());
        }
        try (StunClient stun = client(coturn.v6()).build()) {
            StunBinding b = await(stun.binding(Protocol.TCP));
            assertEquals(InetAddress.getByName("::1"), b.mapped().getAddress());
            assertEquals(b.local().getPort(), b.mapped().getPort());
        }
    }

    @Test
    void binding_fromTheLeasedPort_overUdpAndTcp_reportsThatPort() throws Exception {
        try (PortAllocator ports = PortAllocator.builder().hostWide(false).build();
             PortLease lease = ports.allocate(PortRequest.builder("stun-test", ServiceType.DYNAMIC)
                     .protocols(Set.of(Protocol.TCP, Protocol.UDP)).build());
             StunClient stun = client(coturn.v4()).build()) {
            StunBinding udp = await(stun.binding(lease, Protocol.UDP));
            assertEquals(lease.port(), udp.local().getPort());
            assertEquals(lease.port(), udp.mapped().getPort());
            StunBinding tcp = await(stun.binding(lease, Protocol.TCP));
            assertEquals(lease.port(), tcp.local().getPort(), "TCP left from the leased port although the lease holds it");
            assertEquals(lease.port(), tcp.mapped().getPort());
        }
    }

    @Test
    void natBehavior_rfc5780Server_reportsNoNatAndEndpointIndependentFiltering() throws Exception {
        try (StunClient stun = client(coturn.v4()).build()) {
            NatBehavior nat = await(stun.natBehavior());
            assertEquals(NatBehavior.Method.RFC_5780, nat.method(), nat.detail());
            assertFalse(nat.translated(), nat.detail());
            assertEquals(NatBehavior.Mapping.ENDPOINT_INDEPENDENT, nat.mapping(), nat.detail());
            // CHANGE-REQUEST(ip+port) is answered from 127.0.0.2:port+1 and nothing filters it on loopback
            assertEquals(NatBehavior.Filtering.ENDPOINT_INDEPENDENT, nat.filtering(), nat.detail());
            assertTrue(nat.detail().contains("127.0.0.2:" + (coturn.port() + 1)), nat.detail());
        }
    }

    @Test
    void natBehavior_twoPlainServers_comparesTheirMappings() throws Exception {
        try (StunClient stun = client(plain.v4(), plain.address("127.0.0.2", plain.port())).build()) {
            NatBehavior nat = await(stun.natBehavior());
            assertEquals(NatBehavior.Method.SERVER_COMPARISON, nat.method(), nat.detail());
            assertEquals(NatBehavior.Mapping.ENDPOINT_INDEPENDENT, nat.mapping(), nat.detail());
            assertEquals(NatBehavior.Filtering.UNKNOWN, nat.filtering());
        }
        try (StunClient stun = client(plain.v4()).build()) {
            NatBehavior nat = await(stun.natBehavior());
            assertEquals(NatBehavior.Method.SINGLE_SERVER, nat.method(), nat.detail());
            assertEquals(NatBehavior.Mapping.UNKNOWN, nat.mapping());
        }
    }

    @Test
    void binding_silentServer_timesOutNamingTheSendCount() throws Exception {
        try (FakeUdpServer silent = FakeUdpServer.silent(); StunClient stun = client(silent.address()).build()) {
            Throwable t = failure(stun.binding());
            assertInstanceOf(NatTimeoutException.class, t);
            assertEquals(7, ((NatTimeoutException) t).attempts());
            assertTrue(t.getMessage().contains("no answer after 7 sends"), t.getMessage());
            assertTrue(t.getMessage().contains(io.ports.nat.internal.NatUtil.format(silent.address())), t.getMessage());
            assertEquals(7, silent.requests(), "every retransmission reached the server");
        }
        try (FakeUdpServer silent = FakeUdpServer.silent(); StunClient stun = client(silent.address()).sends(3).lastWait(2).build()) {
            Throwable t = failure(stun.binding());
            assertTrue(t.getMessage().contains("no answer after 3 sends"), t.getMessage());
        }
    }

    @Test
    void binding_closedPorts_failAtOnceSayingNothingListens() throws Exception {
        int closed;
        try (DatagramSocket s = new DatagramSocket(0, InetAddress.getLoopbackAddress())) {
            closed = s.getLocalPort();
        }
        InetSocketAddress nobody = new InetSocketAddress(InetAddress.getLoopbackAddress(), closed);
        try (StunClient stun = StunClient.builder(loops).server(nobody).build()) { // default RTO: must not need it
            Throwable udp = failure(stun.binding());
            assertInstanceOf(NatTimeoutException.class, udp);
            assertTrue(udp.getMessage().contains("port unreachable"), udp.getMessage());
        }
        int closedTcp;
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            closedTcp = s.getLocalPort();
        }
        try (StunClient stun = client(new InetSocketAddress(InetAddress.getLoopbackAddress(), closedTcp)).build()) {
            Throwable tcp = failure(stun.binding(Protocol.TCP));
            assertTrue(tcp.getMessage().contains("connection refused"), tcp.getMessage());
        }
    }

    @Test
    void binding_garbageAnswers_areDiscardedAndNamedInTheTimeout() throws Exception {
        byte[] random = new byte[48];
        new java.util.Random(1).nextBytes(random);
        try (FakeUdpServer garbage = FakeUdpServer.start((req, from, n) -> {
            byte[] badCookie = Arrays.copyOf(req, req.length);
            badCookie[0] = 0x01;
            badCookie[1] = 0x01;
            badCookie[4] = 0x7f;
            byte[] otherTid = StunMessage.bindingSuccess(new byte[12], from, true);
            byte[] badFingerprint = StunMessage.bindingSuccess(Arrays.copyOfRange(req, 8, 20), from, true);
            badFingerprint[badFingerprint.length - 1] ^= 0x55;
            return List.of(FakeUdpServer.Reply.of(random), FakeUdpServer.Reply.of(badCookie), FakeUdpServer.Reply.of(otherTid),
                    FakeUdpServer.Reply.of(badFingerprint));
        }); StunClient stun = client(garbage.address()).sends(2).build()) {
            Throwable t = failure(stun.binding());
            assertInstanceOf(NatTimeoutException.class, t);
            assertTrue(t.getMessage().contains("ignored"), t.getMessage());
            assertTrue(t.getMessage().contains("not STUN responses"), t.getMessage());
        }
        try (ServerSocket http = new ServerSocket(0, 5, InetAddress.getLoopbackAddress())) {
            Thread server = new Thread(() -> {
                try (Socket s = http.accept(); OutputStream out = s.getOutputStream()) {
                    out.write("HTTP/1.1 400 Bad Request\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
                    out.flush();
                    Thread.sleep(500);
                } catch (IOException | InterruptedException ignored) {
                    // the client hung up
                }
            });
            server.start();
            try (StunClient stun = client((InetSocketAddress) http.getLocalSocketAddress()).build()) {
                Throwable t = failure(stun.binding(Protocol.TCP));
                assertFalse(t instanceof NatTimeoutException);
                assertTrue(t.getMessage().contains("not STUN"), t.getMessage());
            }
            server.join(5000);
        }
    }

    @Test
    void binding_failsOverToTheNextServer() throws Exception {
        try (FakeUdpServer silent = FakeUdpServer.silent(); StunClient stun = client(silent.address(), coturn.v4()).sends(2).build()) {
            StunBinding b = await(stun.binding());
            assertEquals(coturn.v4(), b.server());
            assertEquals(2, silent.requests());
        }
    }

    @Test
    void binding_errorResponses_becomeStunErrors_andTryAlternateIsFollowed() throws Exception {
        try (FakeUdpServer error = FakeUdpServer.start((req, from, n) ->
                List.of(FakeUdpServer.Reply.of(StunMessage.bindingError(Arrays.copyOfRange(req, 8, 20), 401, "Unauthorized"))));
             StunClient stun = client(error.address()).build()) {
            Throwable t = failure(stun.binding());
            StunErrorException e = assertInstanceOf(StunErrorException.class, t);
            assertEquals(401, e.errorCode());
            assertTrue(e.getMessage().contains("Unauthenticated"), e.getMessage());
        }
        try (FakeUdpServer redirect = FakeUdpServer.start((req, from, n) ->
                List.of(FakeUdpServer.Reply.of(tryAlternate(Arrays.copyOfRange(req, 8, 20), coturn.v4()))));
             StunClient stun = client(redirect.address()).build()) {
            StunBinding b = await(stun.binding());
            assertEquals(coturn.v4(), b.server(), "followed ALTERNATE-SERVER");
        }
    }

    @Test
    void close_failsRequestsInFlight() throws Exception {
        try (FakeUdpServer silent = FakeUdpServer.silent()) {
            StunClient stun = StunClient.builder(loops).server(silent.address()).build();
            CompletionStage<StunBinding> pending = stun.binding();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
            while (silent.requests() == 0 && System.nanoTime() < deadline) {
                Thread.sleep(5);
            }
            stun.close();
            Throwable t = failure(pending);
            assertInstanceOf(NatTraversalException.class, t);
            assertNotNull(t.getMessage());
        }
    }

    /** A 300 Try Alternate error response with ALTERNATE-SERVER (IPv4). */
    static byte[] tryAlternate(byte[] tid, InetSocketAddress alternate) {
        byte[] reason = "Try Alternate".getBytes(StandardCharsets.US_ASCII); // 13 bytes, 17 with the code: pad to 20
        ByteBuffer b = ByteBuffer.allocate(20 + 4 + 20 + 4 + 8);
        b.putShort((short) 0x0111).putShort((short) (24 + 12)).putInt(StunMessage.MAGIC_COOKIE).put(tid);
        b.putShort((short) 0x0009).putShort((short) (4 + reason.length)).putShort((short) 0).put((byte) 3).put((byte) 0).put(reason)
                .put(new byte[3]);
        b.putShort((short) 0x8023).putShort((short) 8).put((byte) 0).put((byte) 1).putShort((short) alternate.getPort())
                .put(alternate.getAddress().getAddress());
        return b.array();
    }
}
