package io.ports.listener.tunnel;

import io.ports.core.PortsException;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.time.Duration;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Options are validated when built, and every message names the bad value. */
class TunnelOptionsTest {

    private static void assertMessage(String expectedPart, Runnable r) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, r::run);
        assertTrue(e.getMessage().contains(expectedPart), "'" + e.getMessage() + "' should contain '" + expectedPart + "'");
    }

    @Test
    void target_parsesHostPortAndBracketedIpv6_andNamesBadInput() {
        assertEquals(new TunnelTarget("127.0.0.1", 5432), TunnelTarget.parse("127.0.0.1:5432"));
        assertEquals(new TunnelTarget("::1", 5432), TunnelTarget.parse("[::1]:5432"));
        assertEquals("[::1]:5432", TunnelTarget.parse("[::1]:5432").toString());
        assertEquals(new TunnelTarget("db.internal", 5432), TunnelTarget.parse("DB.internal:5432"));
        assertTrue(TunnelTarget.parse("10.0.0.1:1").isIpLiteral());
        assertFalse(TunnelTarget.parse("db:1").isIpLiteral());
        assertMessage("invalid tunnel target 'db'", () -> TunnelTarget.parse("db"));
        assertMessage("the port is missing", () -> TunnelTarget.parse("db:"));
        assertMessage("'x' is not a port", () -> TunnelTarget.parse("db:x"));
        assertMessage("70000", () -> TunnelTarget.parse("db:70000"));
        assertMessage("in brackets", () -> TunnelTarget.parse("::1:5432"));
        assertMessage("is empty", () -> TunnelTarget.parse(" "));
    }

    @Test
    void serverOptions_badValues_areNamed() {
        assertMessage("at least one allowed target", () -> TunnelServerOptions.builder().build());
        assertMessage("tunnel path 'tunnel'", () -> TunnelServerOptions.builder().allow("127.0.0.1:1").path("tunnel").build());
        assertMessage("default target 127.0.0.1:2 is not among", () -> TunnelServerOptions.builder().allow("127.0.0.1:1").defaultTarget("127.0.0.1:2").build());
        assertMessage("max frame payload 100 bytes", () -> TunnelServerOptions.builder().allow("127.0.0.1:1").maxFramePayload(100).build());
        assertMessage("max message size 2000 bytes", () -> TunnelServerOptions.builder().allow("127.0.0.1:1").maxFramePayload(4096).maxMessageSize(2000).build());
        assertMessage("ping timeout PT1S must be longer than the ping interval PT2S",
                () -> TunnelServerOptions.builder().allow("127.0.0.1:1").keepalive(Duration.ofSeconds(2), Duration.ofSeconds(1)).build());
        assertMessage("water marks low=9000 high=8000", () -> TunnelServerOptions.builder().allow("127.0.0.1:1").writeBufferWaterMarks(9000, 8000).build());
        assertMessage("bearer token", () -> TunnelServerOptions.builder().bearerToken("has space"));
        assertMessage("connect timeout PT0S must be positive", () -> TunnelServerOptions.builder().allow("127.0.0.1:1").connectTimeout(Duration.ZERO).build());
        TunnelServerOptions ok = TunnelServerOptions.builder().allow("127.0.0.1:1").allow("127.0.0.1:2").bearerToken("secret-value")
                .keepalive(Duration.ZERO, Duration.ZERO).build();
        assertEquals(TunnelTarget.parse("127.0.0.1:1"), ok.defaultTarget());
        assertFalse(ok.toString().contains("secret-value"), "tokens are never printed: " + ok);
    }

    @Test
    void serverOptions_tlsFilesMissing_isAPortsExceptionNamingTheFile() {
        PortsException e = assertThrows(PortsException.class, () -> TunnelServerOptions.builder().tls(Path.of("/nonexistent/cert.pem"), Path.of("/nonexistent/key.pem")));
        assertTrue(e.getMessage().contains("/nonexistent/cert.pem"), e.getMessage());
    }

    @Test
    void clientOptions_badValues_areNamed() {
        assertMessage("must start with ws:// or wss://", () -> TunnelClientOptions.builder("http://x/").build());
        assertMessage("is not a URI", () -> TunnelClientOptions.builder("ws://bad host/").build());
        assertMessage("is ws://: use wss://", () -> TunnelClientOptions.builder("ws://x/").trust(Path.of("/tmp/ca.pem")).build());
        assertMessage("subprotocol 'a,b'", () -> TunnelClientOptions.builder("ws://x/").subprotocol("a,b").build());
        assertMessage("maximum backoff PT0.01S is below the initial backoff PT1S",
                () -> TunnelClientOptions.builder("ws://x/").backoff(Duration.ofSeconds(1), Duration.ofMillis(10)).build());
        assertMessage("reconnect timeout PT-1S is negative", () -> TunnelClientOptions.builder("ws://x/").reconnectTimeout(Duration.ofSeconds(-1)).build());
        PortsException e = assertThrows(PortsException.class, () -> TunnelClientOptions.builder("wss://x/").trust(Path.of("/nonexistent/ca.pem")).build());
        assertTrue(e.getMessage().contains("/nonexistent/ca.pem"), e.getMessage());
    }

    @Test
    void clientOptions_targetIsAddedToTheQuery_portsDefaultByScheme() {
        TunnelClientOptions o = TunnelClientOptions.builder("ws://gw.example/tunnel?x=1").target("[::1]:5432").bearerToken("t0ken").build();
        assertEquals("ws://gw.example/tunnel?x=1&target=[::1]:5432", o.requestUri().toString());
        assertEquals(80, o.serverPort());
        assertEquals(443, TunnelClientOptions.builder("wss://gw.example").build().serverPort());
        assertEquals("ws://gw.example:8080/?target=127.0.0.1:1", TunnelClientOptions.builder("ws://gw.example:8080").target("127.0.0.1:1").build()
                .requestUri().toString());
        assertFalse(o.toString().contains("t0ken"), o.toString());
    }
}
