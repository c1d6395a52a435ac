package io.ports.listener;

import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelInitializer;
import io.ports.core.EventLoops;
import io.ports.core.HoldMode;
import io.ports.core.PortAllocator;
import io.ports.core.PortInUseException;
import io.ports.core.PortLease;
import io.ports.core.PortRange;
import io.ports.core.PortRequest;
import io.ports.core.PortsException;
import io.ports.core.Protocol;
import io.ports.core.ServiceType;
import io.ports.core.testsupport.Jvm;
import io.ports.listener.testsupport.BindHammer;
import io.ports.listener.testsupport.ListenMain;
import io.ports.listener.testsupport.Socat;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.io.IOException;
import java.io.InputStream;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

class ListenerManagerTest {
    private static EventLoops loops;

    @TempDir
    Path tmp;

    private ListenerManager manager;
    private final List<AutoCloseable> cleanup = new ArrayList<>();

    @BeforeAll
    static void startLoops() {
        loops = EventLoops.builder().threads(2).build();
    }

    @AfterAll
    static void stopLoops() {
        loops.close();
    }

    @BeforeEach
    void setUp() {
        manager = new ListenerManager(loops);
    }

    @AfterEach
    void tearDown() throws Exception {
        manager.close();
        for (AutoCloseable c : cleanup) {
            c.close();
        }
    }

    private static ChannelHandler echo() {
        return new EchoHandlers.Echo();
    }

    private static String roundTrip(InetSocketAddress to, String text) throws IOException {
        try (Socket s = new Socket()) {
            s.connect(to, 5000);
            s.setSoTimeout(5000);
            s.getOutputStream().write(text.getBytes(StandardCharsets.UTF_8));
            byte[] buf = s.getInputStream().readNBytes(text.length());
            return new String(buf, StandardCharsets.UTF_8);
        }
    }

    @ParameterizedTest
    @EnumSource(EventLoops.Transport.class)
    void tcp_onEveryTransport_echoesAndReportsTheRealPort(EventLoops.Transport transport) throws IOException {
        assumeTrue(transport.isAvailable(), transport + " is not available here");
        try (EventLoops own = EventLoops.builder().transport(transport).threads(1).build(); ListenerManager m = new ListenerManager(own)) {
            Listener l = m.start("127.0.0.1:0", ListenerOptions.defaults(), echo());
            assertTrue(l.port() > 0);
            assertEquals(transport, l.transport());
            assertEquals(List.of(new InetSocketAddress("127.0.0.1", l.port())), l.boundAddresses());
            assertEquals("ping", roundTrip(new InetSocketAddress("127.0.0.1", l.port()), "ping"));
            assertEquals(1, l.acceptedConnections());
        }
    }

    @Test
    void tcp_socatClient_isEchoed_andOpenConnectionsAreCounted() throws Exception {
        Socat.require();
        Listener l = manager.start("127.0.0.1:0", ListenerOptions.defaults(), echo());
        assertEquals("hello from socat\n", Socat.exchange("TCP:127.0.0.1:" + l.port(), "hello from socat\n"));
        try (Socket a = new Socket("127.0.0.1", l.port()); Socket b = new Socket("127.0.0.1", l.port())) {
            awaitOpen(l, 2);
        }
        awaitOpen(l, 0);
    }

    private static void awaitOpen(Listener l, int expected) throws InterruptedException {
        for (int i = 0; i < 200 && l.openConnections() != expected; i++) { // bounded: 200 x 10 ms
            Thread.sleep(10);
        }
        assertEquals(expected, l.openConnections());
    }

    @Test
    void dualStack_oneSocketServesIpv4AndIpv6Clients() throws IOException {
        assumeTrue(io.ports.core.BindProbe.wildcard().ipv6Available(), "this host has no IPv6");
        Listener l = manager.start("[::]:0", ListenerOptions.defaults(), echo());
        assertEquals(1, l.socketCount());
        assertEquals("v4", roundTrip(new InetSocketAddress("127.0.0.1", l.port()), "v4"));
        assertEquals("v6", roundTrip(new InetSocketAddress("::1", l.port()), "v6"));
    }

    @Test
    void ipv6Only_refusesIpv4Clients() throws IOException {
        assumeTrue(io.ports.core.BindProbe.wildcard().ipv6Available(), "this host has no IPv6");
        assumeTrue(loops.transport() != EventLoops.Transport.NIO, "ipv6Only needs a native transport");
        Listener l = manager.start("[::]:0", ListenerOptions.builder().ipv6Only(true).build(), echo());
        assertEquals("v6", roundTrip(new InetSocketAddress("::1", l.port()), "v6"));
        assertThrows(ConnectException.class, () -> roundTrip(new InetSocketAddress("127.0.0.1", l.port()), "v4"));
    }

    @Test
    void udp_socatClient_isEchoed() throws Exception {
        Socat.require();
        Listener l = manager.start("127.0.0.1:0", ListenerOptions.builder().protocol(Protocol.UDP).build(), new EchoHandlers.UdpEcho());
        assertEquals(Protocol.UDP, l.protocol());
        assertEquals("datagram\n", Socat.exchange("UDP:127.0.0.1:" + l.port(), "datagram\n"));
    }

    @Test
    void unix_socatClient_isEchoed_withPermissions_andTheFileGoesAtStop() throws Exception {
        Socat.require();
        Path sock = tmp.resolve("db.sock");
        Listener l = manager.start("unix:" + sock, ListenerOptions.builder().unixPermissions("rw-rw----").build(), echo());
        assertEquals(-1, l.port());
        assertEquals(PosixFilePermissions.fromString("rw-rw----"), Files.getPosixFilePermissions(sock));
        assertEquals("over unix\n", Socat.exchange("UNIX-CONNECT:" + sock, "over unix\n"));
        l.stop().get(10, TimeUnit.SECONDS);
        assertFalse(Files.exists(sock));
    }

    @Test
    void unix_staleSocketFile_isRemoved_butALiveOneOrARegularFileIsNot() throws Exception {
        Path stale = tmp.resolve("stale.sock");
        try (ServerSocketChannel dead = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            dead.bind(UnixDomainSocketAddress.of(stale)); // closing leaves the file behind, as a crash would
        }
        assertTrue(Files.exists(stale));
        Listener l = manager.start("unix:" + stale, ListenerOptions.defaults(), echo());
        assertTrue(l.isRunning());

        PortInUseException inUse = assertThrows(PortInUseException.class, () -> manager.start("unix:" + stale, ListenerOptions.defaults(), echo()));
        assertTrue(inUse.getMessage().contains(stale.toString()), inUse.getMessage());
        assertTrue(l.isRunning(), "the live listener was left alone");

        Path regular = Files.writeString(tmp.resolve("data.txt"), "keep me");
        PortsException e = assertThrows(PortsException.class, () -> manager.start("unix:" + regular, ListenerOptions.defaults(), echo()));
        assertTrue(e.getMessage().contains("is not a socket"), e.getMessage());
        assertEquals("keep me", Files.readString(regular));
    }

    @Test
    void reusePort_spreadsConnectionsOverSeveralSockets() throws Exception {
        Map<Channel, Integer> perSocket = new ConcurrentHashMap<>();
        ChannelHandler counting = new ChannelInitializer<Channel>() {
            @Override
            protected void initChannel(Channel ch) {
                perSocket.merge(ch.parent(), 1, Integer::sum);
            }
        };
        Listener l = manager.start("127.0.0.1:0", ListenerOptions.builder().reusePort(true).socketsPerPort(4).build(), counting);
        assertEquals(4, l.socketCount());
        assertEquals(1, l.boundAddresses().size(), "four sockets, one address");
        for (int i = 0; i < 64; i++) {
            try (Socket s = new Socket("127.0.0.1", l.port())) {
                s.getOutputStream().flush();
            }
        }
        for (int i = 0; i < 200 && l.acceptedConnections() < 64; i++) {
            Thread.sleep(10);
        }
        assertEquals(64, l.acceptedConnections());
        assertTrue(perSocket.size() > 1, "the kernel should spread 64 connections over more than one of 4 sockets: " + perSocket.values());
    }

    @Test
    void portHeldByAnotherProcess_namesThatProcess() throws Exception {
        Socat.require();
        int port;
        try (java.net.ServerSocket probe = new java.net.ServerSocket(0)) {
            port = probe.getLocalPort();
        }
        Process socat = Socat.start("TCP-LISTEN:" + port + ",bind=127.0.0.1,reuseaddr", "-");
        cleanup.add(() -> socat.destroyForcibly().waitFor(5, TimeUnit.SECONDS));
        for (int i = 0; i < 200 && !isListening(port); i++) { // bounded: 200 x 10 ms
            Thread.sleep(10);
        }
        PortInUseException e = assertThrows(PortInUseException.class,
                () -> manager.start("127.0.0.1:" + port, ListenerOptions.defaults(), echo()));
        assertTrue(e.getMessage().contains("127.0.0.1:" + port), e.getMessage());
        assertTrue(e.holder().contains("pid " + socat.pid() + " (socat)"), e.getMessage());
    }

    /** Without connecting: a connection would use up socat's one accept. */
    private static boolean isListening(int port) throws IOException {
        return !io.ports.core.BindProbe.on(InetAddress.getByName("127.0.0.1")).probe(port, java.util.EnumSet.of(Protocol.TCP)).isFree();
    }

    @Test
    void leaseHandOff_aCompetingProcessHammeringBindNeverWins() throws Exception {
        try (PortAllocator allocator = PortAllocator.builder().lockDirectory(tmp).build()) {
            PortLease lease = allocator.allocate(PortRequest.builder("db", ServiceType.tcp("t", 0, PortRange.of(27000, 27999), "test"))
                    .holdMode(HoldMode.EXCLUSIVE).build());
            try (Jvm hammer = Jvm.start(BindHammer.class, Integer.toString(lease.port()), "30000")) {
                hammer.await("STARTED", 60);
                Thread.sleep(300);                       // hammering the held port
                Listener l = manager.listen(lease, ListenerOptions.defaults(), echo());
                assertFalse(lease.isHeld(), "the listener took the port over");
                Thread.sleep(300);                       // and hammering the listening port
                assertEquals("after", roundTrip(new InetSocketAddress("127.0.0.1", l.port()), "after"));
                hammer.process().getOutputStream().close();
                String result = hammer.await("ATTEMPTS", 30);
                assertFalse(result.endsWith("won"), "the competitor bound the port: " + result);
                assertTrue(Long.parseLong(result.split(" ")[0]) > 10, "the competitor hardly tried: " + result);
                l.stop().get(10, TimeUnit.SECONDS);
                assertTrue(lease.isReleased(), "a stopped listener releases its lease");
            }
        }
    }

    /** The control: the same competitor takes a port held in SHARED mode, so the test above can fail. */
    @Test
    void sharedHold_theCompetitorWins() throws Exception {
        try (PortAllocator allocator = PortAllocator.builder().lockDirectory(tmp).build()) {
            PortLease lease = allocator.allocate(PortRequest.builder("db", ServiceType.tcp("t", 0, PortRange.of(28000, 28999), "test"))
                    .holdMode(HoldMode.SHARED).build());
            try (Jvm hammer = Jvm.start(BindHammer.class, Integer.toString(lease.port()), "30000")) {
                hammer.await("STARTED", 60);
                assertTrue(hammer.await("WON", 30).contains("reuseAddress=true"));
            }
        }
    }

    @Test
    void gracefulStop_letsAnInFlightRequestFinish_thenRefusesNewConnections() throws Exception {
        Listener l = manager.start("127.0.0.1:0", ListenerOptions.builder().gracefulTimeout(Duration.ofSeconds(5)).build(),
                new EchoHandlers.SlowEcho(300));
        try (Socket s = new Socket("127.0.0.1", l.port())) {
            s.setSoTimeout(5000);
            s.getOutputStream().write("slow".getBytes(StandardCharsets.UTF_8));
            awaitOpen(l, 1);
            var stopping = l.stop();
            assertFalse(l.isRunning());
            assertEquals("slow", new String(s.getInputStream().readNBytes(4), StandardCharsets.UTF_8), "in-flight request answered");
            assertThrows(ConnectException.class, () -> new Socket("127.0.0.1", l.port()).close());
            s.close();
            stopping.get(10, TimeUnit.SECONDS);
        }
        assertTrue(manager.listeners().isEmpty());
    }

    @Test
    void gracefulStop_closesConnectionsStillOpenAfterTheTimeout() throws Exception {
        Listener l = manager.start("127.0.0.1:0", ListenerOptions.defaults(), echo());
        try (Socket idle = new Socket("127.0.0.1", l.port())) {
            idle.setSoTimeout(5000);
            awaitOpen(l, 1);
            l.stop(Duration.ofMillis(200)).get(10, TimeUnit.SECONDS);
            InputStream in = idle.getInputStream();
            assertEquals(-1, in.read(), "the server closed the idle connection");
        }
    }

    @Test
    void severalAddresses_areAllOrNothing() throws IOException {
        try (java.net.ServerSocket taken = new java.net.ServerSocket(0, 50, InetAddress.getByName("127.0.0.1"))) {
            assertThrows(PortInUseException.class, () -> manager.start(
                    List.of("127.0.0.1:0", "127.0.0.1:" + taken.getLocalPort()), ListenerOptions.defaults(), echo()));
            assertTrue(manager.listeners().isEmpty(), "the listener already started was stopped");
        }
    }

    @Test
    void badAddresses_getTheirOwnClearMessages() {
        for (String bad : new String[] {"", "5432", "localhost", "db.example.com:5432", "::1:5432", "[::1:5432", "1.2.3.4:99999", "unix:"}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> manager.start(bad, ListenerOptions.defaults(), echo()), bad);
            assertTrue(e.getMessage().startsWith("invalid listen address '" + bad + "'"), e.getMessage());
        }
        PortsException notLocal = assertThrows(PortsException.class, () -> manager.start("192.0.2.1:0", ListenerOptions.defaults(), echo()));
        assertTrue(notLocal.getMessage().contains("192.0.2.1 is not an address of this host"), notLocal.getMessage());
        assertTrue(manager.listeners().isEmpty());
    }

    @Test
    void privilegedPortWithoutTheRight_saysPermissionDenied() throws Exception {
        boolean root = "root".equals(System.getProperty("user.name"));
        List<String> prefix = root ? List.of("/usr/bin/setpriv", "--bounding-set", "-net_bind_service") : List.of();
        if (root) {
            assumeTrue(Files.isExecutable(Path.of("/usr/bin/setpriv")) || "true".equals(System.getenv("CI")), "setpriv is needed");
        }
        try (Jvm child = Jvm.start(prefix, ListenMain.class, "127.0.0.1:1")) {
            String out = child.await("", 60);
            while (!out.startsWith("ERROR") && !out.startsWith("OK")) {
                out = child.await("", 60);
            }
            assertTrue(out.contains("permission denied") && out.contains("CAP_NET_BIND_SERVICE"), out);
        }
    }

    @Test
    void optionsValidation_namesTheBadValue() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ListenerOptions.builder().backlog(0).build());
        assertTrue(e.getMessage().contains("backlog 0"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> ListenerOptions.builder().socketsPerPort(4).build());
        assertTrue(e.getMessage().contains("reusePort"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> ListenerOptions.builder().unixPermissions("rwx").build());
        assertThrows(IllegalArgumentException.class, () -> ListenerOptions.builder().gracefulTimeout(Duration.ofSeconds(-1)).build());
    }

    @Test
    void closingOnAnEventLoop_isRefused() throws Exception {
        Listener l = manager.start("127.0.0.1:0", ListenerOptions.defaults(), echo());
        Throwable t = loops.next().submit(() -> {
            try {
                l.close();
                return null;
            } catch (IllegalStateException e) {
                return e;
            }
        }).get(5, TimeUnit.SECONDS);
        assertTrue(t instanceof IllegalStateException && t.getMessage().contains("event loop"), String.valueOf(t));
    }
}
