package io.ports.listener.tunnel;

import io.netty.handler.ssl.util.SelfSignedCertificate;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * What the server refuses before the upgrade (path, token, allow-list, subprotocol, unreachable
 * target), what it closes after it (text, too big, unmasked) and with which code, and TLS.
 */
class TunnelPolicyTest extends TunnelFixture {
    private static final byte[] ABC = "abc".getBytes(StandardCharsets.US_ASCII);
    /**
     * Made at test time. Netty 4.2 deprecates it for netty-pkitesting's CertificateBuilder, which needs
     * BouncyCastle; on JDK 17 this one needs no extra dependency.
     */
    @SuppressWarnings("deprecation")
    private static SelfSignedCertificate cert;

    @BeforeAll
    @SuppressWarnings("deprecation")
    static void makeCertificate() throws Exception {
        cert = new SelfSignedCertificate("localhost"); // made here, at test time
    }

    @AfterAll
    static void deleteCertificate() {
        cert.delete();
    }

    @Test
    void wrongPath_is404_andNothingIsBridged() throws Exception {
        try (TcpTarget echo = closeLater(TcpTarget.echo())) {
            TunnelServer server = server(echo, b -> b.path("/tunnel"));
            try (RawWebSocket raw = RawWebSocket.connect(server.port(), "/other")) {
                assertEquals(404, raw.status);
            }
            assertEquals(0, echo.accepted());
            assertEquals(1, server.counters().connectionsRejected());
        }
    }

    @Test
    void plainHttpRequest_is426() throws Exception {
        try (TcpTarget echo = closeLater(TcpTarget.echo()); Socket s = connect(server(echo, b -> { }).port())) {
            s.getOutputStream().write("GET / HTTP/1.1\r\nHost: x\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            String answer = new String(readToEnd(s.getInputStream()), StandardCharsets.US_ASCII);
            assertTrue(answer.startsWith("HTTP/1.1 426"), answer);
            assertTrue(answer.toLowerCase(java.util.Locale.ROOT).contains("upgrade: websocket"), answer);
        }
    }

    @Test
    void bearerToken_missingOrWrong_is401BeforeTheUpgrade_right_isBridged() throws Exception {
        try (TcpTarget echo = closeLater(TcpTarget.echo())) {
            TunnelServer server = server(echo, b -> b.bearerToken("s3cret-token"));
            try (RawWebSocket none = RawWebSocket.connect(server.port(), "/")) {
                assertEquals(401, none.status);
                assertEquals("Bearer realm=\"ports-tunnel\"", none.headers.get("www-authenticate"));
            }
            try (RawWebSocket wrong = RawWebSocket.connect(server.port(), "/", "Authorization: Bearer s3cret-tokem")) {
                assertEquals(401, wrong.status);
            }
            try (RawWebSocket basic = RawWebSocket.connect(server.port(), "/", "Authorization: Basic czNjcmV0LXRva2Vu")) {
                assertEquals(401, basic.status);
            }
            assertEquals(0, echo.accepted(), "nothing was bridged for a refused token");
            assertEquals(3, server.counters().connectionsRejected());
            try (RawWebSocket right = RawWebSocket.connect(server.port(), "/", "Authorization: Bearer s3cret-token")) {
                assertEquals(101, right.status);
                right.send(RawWebSocket.BINARY, true, ABC);
                assertArrayEquals(ABC, right.readData(3));
            }
        }
    }

    @Test
    void ourClient_withWrongToken_dropsTheLocalConnection_withoutRetrying() throws Exception {
        try (TcpTarget echo = closeLater(TcpTarget.echo())) {
            TunnelServer server = server(echo, b -> b.bearerToken("right"));
            TunnelClient client = client(ws(server), b -> b.bearerToken("wrong").backoff(Duration.ofMillis(10), Duration.ofMillis(20)));
            try (Socket s = connect(client.port())) {
                assertEquals("reset", ending(s));
            }
            assertEquals(1, client.counters().dialAttempts(), "a 401 is not retried");
            assertEquals(1, client.counters().connectionsRejected());
            assertEquals(0, echo.accepted());
            TunnelClient good = client(ws(server), b -> b.bearerToken("right"));
            assertArrayEquals(ABC, exchange(good.port(), ABC));
        }
    }

    @Test
    void allowList_targetNotAllowed_is403_allowedTargetChosenByQuery_isBridged() throws Exception {
        try (TcpTarget first = closeLater(TcpTarget.echo()); TcpTarget second = closeLater(TcpTarget.echo());
             TcpTarget outsider = closeLater(TcpTarget.echo())) {
            TunnelServer server = server(first, b -> b.allow(second.hostPort()));
            try (RawWebSocket raw = RawWebSocket.connect(server.port(), "/?target=" + outsider.hostPort())) {
                assertEquals(403, raw.status);
            }
            try (RawWebSocket raw = RawWebSocket.connect(server.port(), "/?target=localhost:" + outsider.port())) {
                assertEquals(403, raw.status, "names are not resolved to match the allow-list");
            }
            assertEquals(0, outsider.accepted());
            TunnelClient client = client(ws(server), b -> b.target(second.hostPort()));
            assertArrayEquals(ABC, exchange(client.port(), ABC));
            assertEquals(1, second.accepted());
            assertEquals(0, first.accepted());
            TunnelClient byDefault = client(ws(server), b -> { });
            assertArrayEquals(ABC, exchange(byDefault.port(), ABC));
            assertEquals(1, first.accepted(), "no target given: the default, the first allowed");
        }
    }

    @Test
    void subprotocols_binarySelected_noneAccepted_othersRefused() throws Exception {
        try (TcpTarget echo = closeLater(TcpTarget.echo())) {
            TunnelServer server = server(echo, b -> { });
            try (RawWebSocket raw = RawWebSocket.connect(server.port(), "/", "Sec-WebSocket-Protocol: base64")) {
                assertEquals(400, raw.status, "websockify refuses base64 alone, and so do we");
            }
            try (RawWebSocket raw = RawWebSocket.connect(server.port(), "/", "Sec-WebSocket-Protocol: base64, binary")) {
                assertEquals(101, raw.status);
                assertEquals("binary", raw.headers.get("sec-websocket-protocol"));
            }
            try (RawWebSocket raw = RawWebSocket.connect(server.port(), "/")) {
                assertEquals(101, raw.status);
                assertNull(raw.headers.get("sec-websocket-protocol"));
                raw.send(RawWebSocket.BINARY, true, ABC);
                assertArrayEquals(ABC, raw.readData(3));
            }
        }
    }

    @Test
    void unreachableTarget_is502() throws Exception {
        int closedPort = Websockify.freePort();
        TunnelServerOptions o = TunnelServerOptions.builder().allow("127.0.0.1:" + closedPort).build();
        TunnelServer server = closeLater(TunnelServer.start(manager, "127.0.0.1:0", quickStop(), o));
        try (RawWebSocket raw = RawWebSocket.connect(server.port(), "/")) {
            assertEquals(502, raw.status);
        }
        assertEquals(1, server.counters().connectionsFailed());
    }

    @Test
    void textFrame_isClosedWith1003() throws Exception {
        assertClosedWith(1003, (raw, max) -> raw.send(RawWebSocket.TEXT, true, ABC));
    }

    @Test
    void frameOverTheLimit_isClosedWith1009() throws Exception {
        assertClosedWith(1009, (raw, max) -> raw.send(RawWebSocket.BINARY, true, new byte[max + 1]));
    }

    @Test
    void messageOverTheLimit_inFramesUnderIt_isClosedWith1009() throws Exception {
        assertClosedWith(1009, (raw, max) -> {
            byte[] part = new byte[max];
            raw.send(RawWebSocket.BINARY, false, part);
            raw.send(RawWebSocket.CONT, false, part); // the limit is 2 * max
            raw.send(RawWebSocket.CONT, true, new byte[1]);
        });
    }

    @Test
    void unmaskedFrameFromAClient_isClosedWith1002() throws Exception {
        assertClosedWith(1002, (raw, max) -> raw.send(RawWebSocket.BINARY, true, ABC, false));
    }

    @Test
    void closeWith1000_isAnsweredWith1000() throws Exception {
        try (TcpTarget echo = closeLater(TcpTarget.echo())) {
            TunnelServer server = server(echo, b -> { });
            try (RawWebSocket raw = RawWebSocket.connect(server.port(), "/", "Sec-WebSocket-Protocol: binary")) {
                raw.send(RawWebSocket.BINARY, true, ABC);
                assertArrayEquals(ABC, raw.readData(3));
                raw.sendClose(1000); // the echo target sees end of stream, ends, and the server answers
                RawWebSocket.Frame close = raw.readUntilClose();
                assertEquals(1000, close.closeCode());
            }
            await("clean close counted", () -> server.counters().connectionsClosedClean() == 1, server.counters());
        }
    }

    interface Misbehaviour {
        void send(RawWebSocket raw, int maxFrame) throws Exception;
    }

    private void assertClosedWith(int code, Misbehaviour m) throws Exception {
        int max = 4096;
        try (TcpTarget echo = closeLater(TcpTarget.echo())) {
            TunnelServer server = server(echo, b -> b.maxFramePayload(max).maxMessageSize(2 * max));
            try (RawWebSocket raw = RawWebSocket.connect(server.port(), "/", "Sec-WebSocket-Protocol: binary")) {
                assertEquals(101, raw.status);
                raw.send(RawWebSocket.BINARY, true, ABC);
                assertArrayEquals(ABC, raw.readData(3), "the tunnel works before the bad frame");
                m.send(raw, max);
                RawWebSocket.Frame close = raw.readUntilClose();
                assertEquals(code, close == null ? -1 : close.closeCode(), "close code");
            }
            await("the target connection was closed too", () -> echo.finished() == 1, echo.endings);
            await("counted as abnormal", () -> server.counters().connectionsClosedAbnormally() == 1, server.counters());
        }
    }

    @Test
    void tls_selfSignedCertificate_carriesBytes() throws Exception {
        try (TcpTarget echo = closeLater(TcpTarget.echo())) {
            TunnelServer server = server(echo, b -> b.tls(cert.certificate().toPath(), cert.privateKey().toPath()).path("/secure"));
            TunnelClient client = client("wss://localhost:" + server.port() + "/secure", b -> b.trust(cert.certificate().toPath()));
            byte[] data = random(2 << 20);
            assertArrayEquals(data, exchange(client.port(), data));
            assertEquals(data.length, server.counters().bytesReceived());
        }
    }

    @Test
    void tls_untrustedCertificate_orWrongHost_failsWithoutRetrying() throws Exception {
        try (TcpTarget echo = closeLater(TcpTarget.echo())) {
            TunnelServer server = server(echo, b -> b.tls(cert.certificate().toPath(), cert.privateKey().toPath()));
            TunnelClient untrusting = client("wss://localhost:" + server.port() + "/", b -> { }); // the JDK's trust store
            try (Socket s = connect(untrusting.port())) {
                assertEquals("reset", ending(s));
            }
            assertEquals(1, untrusting.counters().dialAttempts());
            assertEquals(1, untrusting.counters().connectionsFailed());
            TunnelClient wrongHost = client("wss://127.0.0.1:" + server.port() + "/", b -> b.trust(cert.certificate().toPath()));
            try (Socket s = connect(wrongHost.port())) {
                assertEquals("reset", ending(s), "the certificate names localhost, not 127.0.0.1");
            }
            assertEquals(1, wrongHost.counters().connectionsFailed());
            assertEquals(0, echo.accepted());
        }
    }
}
