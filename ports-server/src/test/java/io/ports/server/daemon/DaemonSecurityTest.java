package io.ports.server.daemon;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.slf4j.LoggerFactory;

import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpRequest;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Tokens, rate limiting, CORS, size and time limits, the Host check, the audit log; curl and raw sockets where the JDK client cannot. */
@Timeout(120)
class DaemonSecurityTest {

    @Test
    void tokens_areOwnerOnlyFiles_postNeedsAdmin_readTokenGets403_badToken401() throws Exception {
        try (TestDaemon d = new TestDaemon()) {
            Path data = d.root.resolve("data");
            for (String f : List.of("admin.token", "read.token")) {
                assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(data.resolve(f))), f);
                assertTrue(Files.readString(data.resolve(f)).strip().matches("[A-Za-z0-9_-]{43}"), "32 bytes url-safe base64");
            }
            String body = "{\"service_name\":\"s\",\"service_type\":\"db\"}";
            TestDaemon.Reply none = d.post("/ports/allocate", body, null);
            DaemonApiTest.assertError(none, "token_required", null, 401);
            assertTrue(none.header("WWW-Authenticate").startsWith("Bearer"), none.headers().map().toString());
            DaemonApiTest.assertError(d.post("/ports/allocate", body, d.daemon.readToken()), "admin_token_required", null, 403);
            TestDaemon.Reply bad = d.post("/ports/allocate", body, "not-a-token-of-this-daemon");
            DaemonApiTest.assertError(bad, "invalid_token", null, 401);
            assertTrue(bad.header("WWW-Authenticate").contains("invalid_token"));
            assertEquals(0, d.get("/ports/directory").json().get("count").asInt(), "refused calls changed nothing");
            assertEquals(201, d.post("/ports/allocate", body, d.daemon.adminToken()).status());
            // reads are open on loopback, with or without a token
            assertEquals(200, d.get("/ports/directory").status());
            assertEquals(200, d.get("/ports/directory", d.daemon.readToken()).status());
            assertEquals(200, d.get("/ports/directory", "some-other-daemons-token").status(), "open reads do not look at the token");
        }
    }

    @Test
    void restart_keepsTheTokens_andRefusesATokenFileOthersCanRead() throws Exception {
        Path root = Files.createTempDirectory("ports-daemon-tokens");
        try {
            DaemonConfig c = DaemonConfig.defaults(root.resolve("data")).withPort(0).withLockDirectory(root.resolve("locks"))
                    .withCatalog(io.ports.core.ServiceCatalog.empty());
            String admin;
            try (Daemon d = Daemon.start(c)) {
                assertTrue(d.tokensGenerated());
                admin = d.adminToken();
            }
            try (Daemon d = Daemon.start(c)) {
                assertTrue(!d.tokensGenerated(), "second start reuses the files");
                assertEquals(admin, d.adminToken());
            }
            Files.setPosixFilePermissions(root.resolve("data/admin.token"), PosixFilePermissions.fromString("rw-r--r--"));
            io.ports.core.PortsException e = org.junit.jupiter.api.Assertions.assertThrows(io.ports.core.PortsException.class, () -> Daemon.start(c));
            assertTrue(e.getMessage().contains("readable by others") && e.getMessage().contains("chmod 600"), e.getMessage());
            assertTrue(Files.notExists(root.resolve("data/daemon.json")), "a failed start leaves no daemon.json");
        } finally {
            TestDaemon.deleteTree(root);
        }
    }

    @Test
    void beyondLoopback_readsNeedAToken() throws Exception {
        try (TestDaemon d = new TestDaemon(c -> c.withBind(TestDaemon.wildcard()))) {
            TestDaemon.Reply none = d.get("/ports/directory");
            DaemonApiTest.assertError(none, "token_required", null, 401);
            assertEquals(401, d.get("/metrics").status());
            assertEquals(401, d.get("/").status());
            assertEquals(200, d.get("/ports/directory", d.daemon.readToken()).status());
            assertEquals(200, d.get("/ports/directory", d.daemon.adminToken()).status());
            assertEquals(200, d.get("/metrics", d.daemon.readToken()).status());
            DaemonApiTest.assertError(d.post("/ports/cleanup", null, d.daemon.readToken()), "admin_token_required", null, 403);
        }
    }

    @Test
    void rateLimit_answers429WithRetryAfter_perClient() throws Exception {
        try (TestDaemon d = new TestDaemon(c -> c.withRateLimit(2, 4))) {
            List<Integer> statuses = new ArrayList<>();
            TestDaemon.Reply limited = null;
            for (int i = 0; i < 12 && limited == null; i++) {
                TestDaemon.Reply r = d.get("/ports/stats");
                statuses.add(r.status());
                if (r.status() == 429) {
                    limited = r;
                }
            }
            assertTrue(limited != null, "a burst of 4 at 2/s: some of 12 quick requests are limited: " + statuses);
            assertTrue(statuses.subList(0, 4).stream().allMatch(s -> s == 200), "the burst passes: " + statuses);
            DaemonApiTest.assertError(limited, "rate_limited", null, 429);
            long retry = Long.parseLong(limited.header("Retry-After"));
            assertTrue(retry >= 1 && retry <= 2, "Retry-After " + retry);
            assertTrue(limited.json().get("message").asText().contains("--rate-limit"), limited.body());
            Thread.sleep(TimeUnit.SECONDS.toMillis(retry));
            assertEquals(200, d.get("/ports/stats").status(), "a token again after Retry-After");
        }
    }

    @Test
    void cors_isOffByDefault_andOnlyForTheConfiguredOrigins() throws Exception {
        try (TestDaemon d = new TestDaemon()) {
            TestDaemon.Reply r = d.send(HttpRequest.newBuilder(d.uri("/ports/stats")).header("Origin", "https://ops.example").build());
            assertEquals(200, r.status());
            assertNull(r.header("Access-Control-Allow-Origin"), "no CORS headers when CORS is off");
            TestDaemon.Reply pre = d.send(preflight(d.uri("/ports/allocate"), "https://ops.example"));
            DaemonApiTest.assertError(pre, "cors_disabled", null, 403);
        }
        try (TestDaemon d = new TestDaemon(c -> c.withCorsOrigins(List.of("https://ops.example", "http://localhost:3000")))) {
            TestDaemon.Reply pre = d.send(preflight(d.uri("/ports/allocate"), "https://ops.example"));
            assertEquals(204, pre.status(), pre.body());
            assertEquals("https://ops.example", pre.header("Access-Control-Allow-Origin"));
            assertTrue(pre.header("Access-Control-Allow-Methods").contains("POST"));
            assertTrue(pre.header("Access-Control-Allow-Headers").contains("Authorization"));
            TestDaemon.Reply get = d.send(HttpRequest.newBuilder(d.uri("/ports/stats")).header("Origin", "http://localhost:3000").build());
            assertEquals("http://localhost:3000", get.header("Access-Control-Allow-Origin"));
            assertEquals("Origin", get.header("Vary"));
            TestDaemon.Reply other = d.send(HttpRequest.newBuilder(d.uri("/ports/stats")).header("Origin", "https://evil.example").build());
            assertNull(other.header("Access-Control-Allow-Origin"));
            TestDaemon.Reply otherPre = d.send(preflight(d.uri("/ports/allocate"), "https://evil.example"));
            DaemonApiTest.assertError(otherPre, "cors_origin_not_allowed", null, 403);
            assertTrue(otherPre.json().get("message").asText().contains("https://ops.example"), otherPre.body());
        }
        IllegalArgumentException bad = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                () -> DaemonConfig.defaults(Path.of("x")).withCorsOrigins(List.of("ops.example/path")));
        assertTrue(bad.getMessage().contains("scheme://host[:port]"), bad.getMessage());
    }

    private static HttpRequest preflight(URI uri, String origin) {
        return HttpRequest.newBuilder(uri).method("OPTIONS", HttpRequest.BodyPublishers.noBody()).header("Origin", origin)
                .header("Access-Control-Request-Method", "POST").header("Access-Control-Request-Headers", "authorization, content-type").build();
    }

    @Test
    void oversizedBody_is413_andChangesNothing() throws Exception {
        try (TestDaemon d = new TestDaemon(c -> c.withMaxRequestBytes(1024))) {
            String big = "{\"service_name\":\"big\",\"service_type\":\"db\",\"metadata\":{\"k\":\"" + "x".repeat(4000) + "\"}}";
            TestDaemon.Reply r = d.admin("/ports/allocate", big);
            DaemonApiTest.assertError(r, "request_too_large", null, 413);
            assertTrue(r.json().get("message").asText().contains("1024"), r.body());
            assertEquals(0, d.get("/ports/directory").json().get("count").asInt());
        }
    }

    @Test
    void oversizedHeaders_are431_andChangeNothing() throws Exception {
        try (TestDaemon d = new TestDaemon()) {
            int before = d.get("/ports/stats").json().get("total").asInt();
            String body = "{\"service_name\":\"too-big\",\"service_type\":\"db\"}";
            String resp = raw(d, "POST /ports/allocate HTTP/1.1\r\nHost: localhost:" + d.daemon.port() + "\r\nAuthorization: Bearer "
                    + d.daemon.adminToken() + "\r\nContent-Type: application/json\r\nX-Padding: " + "a".repeat(9000)
                    + "\r\nContent-Length: " + body.length() + "\r\nConnection: close\r\n\r\n" + body, 10);
            assertTrue(resp.startsWith("HTTP/1.1 431 "), resp);
            assertTrue(resp.contains("\"error\":\"headers_too_large\""), resp);
            assertTrue(resp.contains("8192"), "names the limit: " + resp);
            TestDaemon.Reply stats = d.get("/ports/stats");
            assertEquals(200, stats.status(), "the daemon still answers");
            assertEquals(before, stats.json().get("total").asInt(), "nothing allocated: " + stats.body());
        }
    }

    @Test
    void foreignHostHeader_isRefused_onLoopback() throws Exception {
        try (TestDaemon d = new TestDaemon()) {
            String resp = raw(d, "GET /ports/stats HTTP/1.1\r\nHost: rebind.attacker.example\r\nConnection: close\r\n\r\n", 10);
            assertTrue(resp.startsWith("HTTP/1.1 403"), resp);
            assertTrue(resp.contains("host_not_allowed"), resp);
            String ok = raw(d, "GET /ports/stats HTTP/1.1\r\nHost: localhost:" + d.daemon.port() + "\r\nConnection: close\r\n\r\n", 10);
            assertTrue(ok.startsWith("HTTP/1.1 200"), ok);
        }
    }

    @Test
    void malformedRequest_is400_incompleteRequest_is408() throws Exception {
        try (TestDaemon d = new TestDaemon(c -> c.withTimeouts(Duration.ofSeconds(30), Duration.ofSeconds(1)))) {
            String bad = raw(d, "THIS IS NOT HTTP\r\n\r\n", 10);
            assertTrue(bad.startsWith("HTTP/1.") && bad.contains(" 400 "), bad);
            assertTrue(bad.contains("\"success\":false") && !bad.contains("Exception"), bad);
            String huge = raw(d, "GET /" + "a".repeat(5000) + " HTTP/1.1\r\nHost: localhost\r\n\r\n", 10);
            assertTrue(huge.contains(" 414 ") && huge.contains("uri_too_long"), huge);
            long t0 = System.nanoTime();
            String slow = raw(d, "GET /ports/stats HTTP/1.1\r\nHost: loc", 15);
            assertTrue(slow.contains(" 408 ") && slow.contains("request_timeout"), slow);
            assertTrue(System.nanoTime() - t0 < TimeUnit.SECONDS.toNanos(14), "answered by the request timer, not the read limit");
        }
    }

    @Test
    void idleKeepAliveConnection_isClosedAfterTheIdleTimeout() throws Exception {
        try (TestDaemon d = new TestDaemon(c -> c.withTimeouts(Duration.ofSeconds(1), Duration.ofSeconds(10)));
             Socket s = new Socket("127.0.0.1", d.daemon.port())) {
            s.setSoTimeout(15_000);
            s.getOutputStream().write(("GET /ports/stats HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n").getBytes(StandardCharsets.ISO_8859_1));
            InputStream in = s.getInputStream();
            ByteArrayOutputStream got = new ByteArrayOutputStream();
            long t0 = System.nanoTime();
            byte[] buf = new byte[4096];
            for (int n; (n = in.read(buf)) > 0; ) { // the answer, then end of stream when the daemon closes the idle connection
                got.write(buf, 0, n);
            }
            long took = System.nanoTime() - t0;
            assertTrue(got.toString(StandardCharsets.ISO_8859_1).startsWith("HTTP/1.1 200"), got.toString(StandardCharsets.ISO_8859_1));
            assertTrue(took < TimeUnit.SECONDS.toNanos(14), "closed by the 1 s idle timeout, not the test's read limit");
        }
    }

    @Test
    void pipelinedRequests_areAnsweredInOrder_aWriteBeforeTheReadThatFollowsIt() throws Exception {
        try (TestDaemon d = new TestDaemon()) {
            String body = "{\"service_name\":\"piped\",\"service_type\":\"web\"}";
            String host = "Host: 127.0.0.1:" + d.daemon.port() + "\r\n";
            String two = "POST /ports/allocate HTTP/1.1\r\n" + host + "Authorization: Bearer " + d.daemon.adminToken()
                    + "\r\nContent-Type: application/json\r\nContent-Length: " + body.length() + "\r\n\r\n" + body
                    + "GET /ports/service/piped HTTP/1.1\r\n" + host + "\r\n"
                    + "GET /ports/stats HTTP/1.1\r\n" + host + "Connection: close\r\n\r\n";
            String resp = raw(d, two, 15);
            int created = resp.indexOf("HTTP/1.1 201");
            int found = resp.indexOf("HTTP/1.1 200", created);
            int stats = resp.indexOf("HTTP/1.1 200", found + 1);
            assertTrue(created >= 0 && found > created && stats > found, "three answers in request order: " + resp);
            assertTrue(resp.substring(found, stats).contains("\"service_name\":\"piped\""), "the read sees the write before it: " + resp);
        }
    }

    @Test
    void curl_keepAliveReusesOneConnection_andPostsWithTheAdminToken() throws Exception {
        Path curl = Tools.require("curl", "curl");
        try (TestDaemon d = new TestDaemon()) {
            Process p = new ProcessBuilder(curl.toString(), "-sS", "-v", "--max-time", "20", d.uri("/ports/stats").toString(),
                    d.uri("/ports/ranges").toString(), d.uri("/ports/directory").toString()).redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertTrue(p.waitFor(30, TimeUnit.SECONDS));
            assertEquals(0, p.exitValue(), out);
            assertTrue(out.contains("Re-using existing connection") || out.contains("Reusing existing connection"), out);
            assertEquals(1, out.split("Connected to", -1).length - 1, "one TCP connection for three requests: " + out);

            Process post = new ProcessBuilder(curl.toString(), "-sS", "--max-time", "20", "-w", "\n%{http_code}", "-X", "POST",
                    "-H", "Authorization: Bearer " + d.daemon.adminToken(), "-H", "Content-Type: application/json",
                    "--data", "{\"service_name\":\"from-curl\",\"service_type\":\"web\"}", d.uri("/ports/allocate").toString())
                    .redirectErrorStream(true).start();
            String res = new String(post.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertTrue(post.waitFor(30, TimeUnit.SECONDS));
            assertTrue(res.endsWith("201"), res);
            JsonNode a = JsonCodec.MAPPER.readTree(res.substring(0, res.lastIndexOf('\n'))).get("allocation");
            assertEquals("from-curl", a.get("service_name").asText());
            assertTrue(d.webRange.contains(a.get("port").asInt()));
        }
    }

    @Test
    void everyMutation_writesOneAuditLine_withClientTokenKindAndResult() throws Exception {
        Logger audit = (Logger) LoggerFactory.getLogger("io.ports.audit");
        ListAppender<ILoggingEvent> lines = new ListAppender<>();
        lines.start();
        audit.addAppender(lines);
        try (TestDaemon d = new TestDaemon()) {
            JsonNode a = d.allocate("audited", "db");
            d.post("/ports/release", "{\"allocation_id\":\"" + a.get("allocation_id").asText() + "\"}", d.daemon.readToken());
            d.admin("/ports/release", "{\"allocation_id\":\"" + a.get("allocation_id").asText() + "\"}");
            d.get("/ports/directory");
        } finally {
            audit.detachAppender(lines);
        }
        List<String> msgs = lines.list.stream().map(ILoggingEvent::getFormattedMessage).toList();
        assertEquals(3, msgs.size(), "three mutations, no line for the GET: " + msgs);
        assertTrue(msgs.get(0).matches("client=127\\.0\\.0\\.1 token=admin POST /ports/allocate status=201 service=audited type=db .*port=\\d+.*"),
                msgs.get(0));
        assertTrue(msgs.get(1).contains("token=read POST /ports/release status=403"), msgs.get(1));
        assertTrue(msgs.get(2).contains("token=admin POST /ports/release status=200") && msgs.get(2).contains("released"), msgs.get(2));
    }

    @Test
    void heartbeatCleanupAndReconcileApply_writeAnAuditLineEach_readsNone() throws Exception {
        Logger audit = (Logger) LoggerFactory.getLogger("io.ports.audit");
        ListAppender<ILoggingEvent> lines = new ListAppender<>();
        lines.start();
        try (TestDaemon d = new TestDaemon()) {
            String id = d.allocate("beating", "db").get("allocation_id").asText();
            audit.addAppender(lines);
            assertEquals(200, d.admin("/ports/heartbeat/" + id, null).status());
            assertEquals(200, d.admin("/ports/cleanup", null).status());
            assertEquals(200, d.get("/ports/reconcile").status());
            assertEquals(200, d.admin("/ports/reconcile", null).status());
            assertEquals(404, d.admin("/ports/heartbeat/no-such-id", null).status());
        } finally {
            audit.detachAppender(lines);
        }
        List<String> msgs = lines.list.stream().map(ILoggingEvent::getFormattedMessage).toList();
        assertEquals(4, msgs.size(), "four mutations, none for the GET of the reconcile report: " + msgs);
        assertTrue(msgs.get(0).startsWith("client=127.0.0.1 token=admin POST /ports/heartbeat/") && msgs.get(0).contains("status=200"), msgs.get(0));
        assertTrue(msgs.get(1).startsWith("client=127.0.0.1 token=admin POST /ports/cleanup status=200"), msgs.get(1));
        assertTrue(msgs.get(2).startsWith("client=127.0.0.1 token=admin POST /ports/reconcile status=200"), msgs.get(2));
        assertTrue(msgs.get(3).startsWith("client=127.0.0.1 token=admin POST /ports/heartbeat/no-such-id status=404"),
                "a refused mutation is audited too: " + msgs.get(3));
    }

    @Test
    void rateLimit_isPerClientAddress_overRealConnections() throws Exception {
        try (TestDaemon d = new TestDaemon(c -> c.withRateLimit(1, 2))) {
            List<Integer> first = new ArrayList<>();
            for (int i = 0; i < 8 && !first.contains(429); i++) {
                first.add(statusFrom(d, "127.0.0.1"));
            }
            assertTrue(first.contains(429), "a burst of 2 at 1/s: some of 8 quick requests from 127.0.0.1 are limited: " + first);
            assertEquals(200, statusFrom(d, "127.0.0.2"), "another client address has its own bucket, untouched by the first one's");
            assertEquals(200, statusFrom(d, "127.0.0.2"), "its burst is 2");
        }
    }

    /** GETs /ports/stats over a new connection from {@code source} (any 127/8 address is loopback on Linux) and returns the status. */
    private static int statusFrom(TestDaemon d, String source) throws Exception {
        try (Socket s = new Socket()) {
            s.bind(new java.net.InetSocketAddress(source, 0));
            s.connect(new java.net.InetSocketAddress("127.0.0.1", d.daemon.port()), 5_000);
            s.setSoTimeout(5_000);
            s.getOutputStream().write(("GET /ports/stats HTTP/1.1\r\nHost: 127.0.0.1:" + d.daemon.port() + "\r\nConnection: close\r\n\r\n")
                    .getBytes(StandardCharsets.ISO_8859_1));
            String head = new String(s.getInputStream().readNBytes(12), StandardCharsets.ISO_8859_1);
            assertTrue(head.startsWith("HTTP/1.1 "), "a status line from the daemon for " + source + ": " + head);
            return Integer.parseInt(head.substring(9, 12));
        }
    }

    /** Sends raw bytes and reads what comes back until the server closes or {@code seconds} pass. */
    static String raw(TestDaemon d, String request, int seconds) throws Exception {
        try (Socket s = new Socket("127.0.0.1", d.daemon.port())) {
            s.setSoTimeout(seconds * 1000);
            OutputStream out = s.getOutputStream();
            out.write(request.getBytes(StandardCharsets.ISO_8859_1));
            out.flush();
            InputStream in = s.getInputStream();
            ByteArrayOutputStream got = new ByteArrayOutputStream();
            byte[] buf = new byte[8192];
            try {
                for (int n; (n = in.read(buf)) > 0; ) {
                    got.write(buf, 0, n);
                }
            } catch (java.net.SocketTimeoutException e) {
                // what arrived is the answer
            }
            return got.toString(StandardCharsets.ISO_8859_1);
        }
    }
}
