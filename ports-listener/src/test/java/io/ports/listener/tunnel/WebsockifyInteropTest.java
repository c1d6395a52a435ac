package io.ports.listener.tunnel;

import io.netty.handler.ssl.util.SelfSignedCertificate;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.WebSocket;
import java.net.http.WebSocketHandshakeException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Interoperability with websockify 0.10 (Debian package {@code websockify}) both ways, and with the
 * standard clients websockify's users point at it: websockify's own Python WebSocket class and the
 * JDK's {@link java.net.http.WebSocket}.
 */
class WebsockifyInteropTest extends TunnelFixture {
    /**
     * Made at test time. Netty 4.2 deprecates it for netty-pkitesting's CertificateBuilder, which needs
     * BouncyCastle; on JDK 17 this one needs no extra dependency.
     */
    @SuppressWarnings("deprecation")
    private static SelfSignedCertificate cert;

    @BeforeAll
    @SuppressWarnings("deprecation")
    static void makeCertificate() throws Exception {
        cert = new SelfSignedCertificate("localhost");
    }

    @AfterAll
    static void deleteCertificate() {
        cert.delete();
    }

    /** Writes {@code data} on a second thread while reading the echo here; closes without a half-close (websockify has none). */
    static byte[] echoed(int port, byte[] data) throws Exception {
        try (Socket s = connect(port)) {
            CompletableFuture<Void> writer = CompletableFuture.runAsync(() -> {
                try {
                    OutputStream out = s.getOutputStream();
                    for (int off = 0; off < data.length; off += 65536) {
                        out.write(data, off, Math.min(65536, data.length - off));
                    }
                    out.flush();
                } catch (IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            });
            byte[] back = s.getInputStream().readNBytes(data.length);
            writer.get(20, TimeUnit.SECONDS);
            return back;
        }
    }

    // ------------------------------------------------------------------ our client -> websockify

    @Test
    void ourClient_throughWebsockify_roundTripsMegabytes() throws Exception {
        Websockify.require();
        try (TcpTarget echo = closeLater(TcpTarget.echo()); Websockify ws = closeLater(Websockify.start(echo.hostPort()))) {
            TunnelClient client = client("ws://127.0.0.1:" + ws.port + "/websockify", b -> { });
            byte[] data = random(8 << 20);
            assertArrayEquals(data, echoed(client.port(), data));
            assertArrayEquals("again".getBytes(StandardCharsets.US_ASCII), echoed(client.port(), "again".getBytes(StandardCharsets.US_ASCII)));
            await("both tunnels ended", () -> client.counters().connectionsActive() == 0, client.counters());
            assertEquals(2, client.counters().connectionsOpened());
            assertEquals(data.length + 5, client.counters().bytesReceived());
        }
    }

    @Test
    void ourClient_throughWebsockify_concurrentConnections() throws Exception {
        Websockify.require();
        int connections = 16;
        try (TcpTarget echo = closeLater(TcpTarget.echo()); Websockify ws = closeLater(Websockify.start(echo.hostPort()))) {
            TunnelClient client = client("ws://127.0.0.1:" + ws.port + "/", b -> { });
            ExecutorService pool = Executors.newFixedThreadPool(connections);
            try {
                List<byte[]> sent = new ArrayList<>();
                List<Future<byte[]>> back = new ArrayList<>();
                for (int i = 0; i < connections; i++) {
                    byte[] data = random(256 << 10);
                    sent.add(data);
                    back.add(pool.submit(() -> echoed(client.port(), data)));
                }
                for (int i = 0; i < connections; i++) {
                    assertArrayEquals(sent.get(i), back.get(i).get(60, TimeUnit.SECONDS), "connection " + i);
                }
            } finally {
                pool.shutdownNow();
                pool.awaitTermination(10, TimeUnit.SECONDS);
            }
            assertEquals(connections, echo.accepted());
        }
    }

    @Test
    void ourClient_overTls_throughWebsockify() throws Exception {
        Websockify.require();
        try (TcpTarget echo = closeLater(TcpTarget.echo());
             Websockify ws = closeLater(Websockify.start(echo.hostPort(), "--cert=" + cert.certificate(), "--key=" + cert.privateKey()))) {
            TunnelClient client = client("wss://localhost:" + ws.port + "/", b -> b.trust(cert.certificate().toPath()));
            byte[] data = random(1 << 20);
            assertArrayEquals(data, echoed(client.port(), data));
        }
    }

    @Test
    void websockifyWithItsTargetDown_resetsTheLocalConnection() throws Exception {
        Websockify.require();
        int closed = Websockify.freePort();
        try (Websockify ws = closeLater(Websockify.start("127.0.0.1:" + closed))) {
            TunnelClient client = client("ws://127.0.0.1:" + ws.port + "/", b -> { });
            try (Socket s = connect(client.port())) {
                s.getOutputStream().write(1);
                assertEquals("reset", ending(s), "websockify upgrades, then closes with 1011");
            }
            await("the tunnel ended abnormally", () -> client.counters().connectionsClosedAbnormally() == 1, client.counters());
        }
    }

    @Test
    void killingWebsockify_resetsTheLocalConnection() throws Exception {
        Websockify.require();
        try (TcpTarget echo = closeLater(TcpTarget.echo()); Websockify ws = closeLater(Websockify.start(echo.hostPort()))) {
            TunnelClient client = client("ws://127.0.0.1:" + ws.port + "/", b -> { });
            try (Socket s = connect(client.port())) {
                s.getOutputStream().write("ping".getBytes(StandardCharsets.US_ASCII));
                assertEquals("ping", new String(s.getInputStream().readNBytes(4), StandardCharsets.US_ASCII));
                ws.kill();
                assertEquals("reset", ending(s));
            }
            await("the tunnel ended", () -> client.counters().connectionsActive() == 0, client.counters());
            await("the target connection ended", () -> echo.finished() == 1, echo.endings);
        }
    }

    // ------------------------------------------------------------ websockify's clients -> our server

    @Test
    void websockifyPythonClient_againstOurServer_roundTripsAndClosesWith1000() throws Exception {
        Websockify.require();
        try (TcpTarget echo = closeLater(TcpTarget.echo())) {
            TunnelServer server = server(echo, b -> b.path("/websockify"));
            Path script = Files.createTempFile("websockify_client", ".py");
            try (InputStream in = getClass().getResourceAsStream("/tunnel/websockify_client.py")) {
                Files.write(script, in.readAllBytes());
                Process p = new ProcessBuilder(Websockify.PYTHON.toString(), script.toString(), ws(server), String.valueOf(300_000))
                        .redirectErrorStream(true).start();
                try {
                    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
                    assertTrue(p.waitFor(30, TimeUnit.SECONDS), "the client ended");
                    assertEquals(0, p.exitValue(), out);
                    assertTrue(out.contains("\"equal\": true"), out);
                    assertTrue(out.contains("\"protocol\": \"binary\""), out);
                    assertTrue(out.contains("\"close_code\": 1000"), out);
                } finally {
                    p.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
                }
            } finally {
                Files.deleteIfExists(script);
            }
            assertEquals(300_000, server.counters().bytesReceived());
        }
    }

    /** Collects binary messages and the Close of a JDK WebSocket. */
    static final class Collector implements WebSocket.Listener {
        final ByteArrayOutputStream data = new ByteArrayOutputStream();
        final CompletableFuture<Integer> closed = new CompletableFuture<>();
        volatile int expected;
        final CompletableFuture<Void> complete = new CompletableFuture<>();

        @Override
        public CompletionStage<?> onBinary(WebSocket ws, ByteBuffer b, boolean last) {
            byte[] chunk = new byte[b.remaining()];
            b.get(chunk);
            synchronized (data) {
                data.writeBytes(chunk);
                if (data.size() >= expected) {
                    complete.complete(null);
                }
            }
            ws.request(1);
            return null;
        }

        @Override
        public CompletionStage<?> onClose(WebSocket ws, int statusCode, String reason) {
            closed.complete(statusCode);
            return null;
        }

        @Override
        public void onError(WebSocket ws, Throwable error) {
            closed.completeExceptionally(error);
            complete.completeExceptionally(error);
        }
    }

    @Test
    void jdkWebSocket_againstOurServer_roundTripsAndClosesWith1000() throws Exception {
        try (TcpTarget echo = closeLater(TcpTarget.echo())) {
            TunnelServer server = server(echo, b -> b.bearerToken("jdk-token"));
            HttpClient http = HttpClient.newHttpClient();
            Collector c = new Collector();
            byte[] data = random(1 << 20);
            c.expected = data.length;
            WebSocket ws = http.newWebSocketBuilder().subprotocols("binary").header("Authorization", "Bearer jdk-token")
                    .buildAsync(URI.create(ws(server)), c).get(10, TimeUnit.SECONDS);
            assertEquals("binary", ws.getSubprotocol());
            for (int off = 0; off < data.length; off += 100_000) { // messages of any size: a byte stream
                ws.sendBinary(ByteBuffer.wrap(data, off, Math.min(100_000, data.length - off)), true).get(10, TimeUnit.SECONDS);
            }
            c.complete.get(20, TimeUnit.SECONDS);
            ws.sendClose(WebSocket.NORMAL_CLOSURE, "").get(10, TimeUnit.SECONDS);
            assertEquals(1000, c.closed.get(20, TimeUnit.SECONDS));
            assertArrayEquals(data, c.data.toByteArray());
            await("clean close counted", () -> server.counters().connectionsClosedClean() == 1, server.counters());
        }
    }

    @Test
    void jdkWebSocket_textMessage_isClosedWith1003() throws Exception {
        try (TcpTarget echo = closeLater(TcpTarget.echo())) {
            TunnelServer server = server(echo, b -> { });
            Collector c = new Collector();
            WebSocket ws = HttpClient.newHttpClient().newWebSocketBuilder().subprotocols("binary")
                    .buildAsync(URI.create(ws(server)), c).get(10, TimeUnit.SECONDS);
            ws.sendText("SELECT 1", true).get(10, TimeUnit.SECONDS);
            assertEquals(1003, c.closed.get(20, TimeUnit.SECONDS));
        }
    }

    @Test
    void jdkWebSocket_withWrongToken_isRefusedWith401() throws Exception {
        try (TcpTarget echo = closeLater(TcpTarget.echo())) {
            TunnelServer server = server(echo, b -> b.bearerToken("right"));
            ExecutionException e = assertThrows(ExecutionException.class, () -> HttpClient.newHttpClient().newWebSocketBuilder()
                    .header("Authorization", "Bearer wrong").buildAsync(URI.create(ws(server)), new Collector()).get(10, TimeUnit.SECONDS));
            WebSocketHandshakeException h = assertInstanceOf(WebSocketHandshakeException.class, e.getCause());
            assertEquals(401, h.getResponse().statusCode());
            assertEquals(0, echo.accepted());
        }
    }

    @Test
    void jdkWebSocket_overTls_withTheTestCertificate() throws Exception {
        try (TcpTarget echo = closeLater(TcpTarget.echo())) {
            TunnelServer server = server(echo, b -> b.tls(cert.certificate().toPath(), cert.privateKey().toPath()));
            KeyStore trust = KeyStore.getInstance(KeyStore.getDefaultType());
            trust.load(null, null);
            trust.setCertificateEntry("tunnel", cert.cert());
            TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            tmf.init(trust);
            SSLContext ssl = SSLContext.getInstance("TLS");
            ssl.init(null, tmf.getTrustManagers(), null);
            Collector c = new Collector();
            c.expected = 5;
            WebSocket ws = HttpClient.newBuilder().sslContext(ssl).build().newWebSocketBuilder().subprotocols("binary")
                    .buildAsync(URI.create("wss://localhost:" + server.port() + "/"), c).get(10, TimeUnit.SECONDS);
            ws.sendBinary(ByteBuffer.wrap("hello".getBytes(StandardCharsets.US_ASCII)), true).get(10, TimeUnit.SECONDS);
            c.complete.get(20, TimeUnit.SECONDS);
            assertEquals("hello", c.data.toString(StandardCharsets.US_ASCII));
            ws.sendClose(WebSocket.NORMAL_CLOSURE, "").get(10, TimeUnit.SECONDS);
            assertEquals(1000, c.closed.get(20, TimeUnit.SECONDS));
        }
    }
}
