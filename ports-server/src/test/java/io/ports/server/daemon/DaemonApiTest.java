package io.ports.server.daemon;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;

import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Every REST endpoint over real HTTP (the JDK's client) against a daemon in this JVM. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(120)
class DaemonApiTest {
    private TestDaemon d;

    @BeforeAll
    void start() throws Exception {
        d = new TestDaemon();
    }

    @AfterAll
    void stop() {
        if (d != null) {
            d.close();
        }
    }

    @Test
    void allocate_thenEveryLookupShowsIt_heartbeatMakesItActive_releaseFreesIt() throws Exception {
        TestDaemon.Reply r = d.admin("/ports/allocate", "{\"service_name\":\"orders-db\",\"service_type\":\"db\"}");
        assertEquals(201, r.status(), r.body());
        JsonNode body = r.json();
        assertTrue(body.get("success").asBoolean());
        assertTrue(body.get("message").asText().contains("allocated port"), r.body());
        JsonNode a = body.get("allocation");
        for (String f : List.of("port", "service_name", "service_type", "allocation_id", "allocated_at", "last_heartbeat", "status",
                "process_id", "host")) {
            assertTrue(a.has(f), f + " in " + a);
        }
        int port = a.get("port").asInt();
        String id = a.get("allocation_id").asText();
        assertEquals(d.dbRange.start(), port, "the type's default port");
        assertEquals("RESERVED", a.get("status").asText());
        assertTrue(a.get("allocated_at").asText().matches("\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z"), a.toString());

        JsonNode dir = d.get("/ports/directory").json();
        assertTrue(ids(dir.get("allocations")).contains(id), dir.toString());
        JsonNode svc = d.get("/ports/service/orders-db").json();
        assertEquals(id, svc.get("allocations").get(0).get("allocation_id").asText());
        // a name with '/' and ':' (allowed) is one path segment when encoded
        String slashed = d.allocate("team/web:1", "web").get("allocation_id").asText();
        TestDaemon.Reply bySlashedName = d.get("/ports/service/team%2Fweb%3A1");
        assertEquals(200, bySlashedName.status(), bySlashedName.body());
        assertEquals(slashed, bySlashedName.json().get("allocations").get(0).get("allocation_id").asText());
        JsonNode byPort = d.get("/ports/port/" + port).json();
        assertEquals(id, byPort.get("allocation").get("allocation_id").asText());
        JsonNode byType = d.get("/ports/type/db").json();
        assertTrue(ids(byType.get("allocations")).contains(id), byType.toString());
        assertEquals(d.dbRange.toString(), byType.get("range").asText());
        JsonNode overview = d.get("/ports/overview").json();
        assertEquals("orders-db", overview.get("port_to_service").get(Integer.toString(port)).asText(), overview.toString());
        JsonNode stats = d.get("/ports/stats").json();
        assertTrue(stats.get("reserved").asInt() >= 1, stats.toString());
        JsonNode ranges = d.get("/ports/ranges").json().get("ranges");
        boolean seen = false;
        for (JsonNode rg : ranges) {
            if (rg.get("service_type").asText().equals("db")) {
                seen = true;
                assertTrue(rg.get("used").asInt() >= 1, rg.toString());
                assertEquals(20, rg.get("size").asInt());
            }
        }
        assertTrue(seen, ranges.toString());

        TestDaemon.Reply hb = d.admin("/ports/heartbeat/" + id, null);
        assertEquals(200, hb.status(), hb.body());
        assertEquals("ACTIVE", hb.json().get("allocation").get("status").asText());

        TestDaemon.Reply rel = d.admin("/ports/release", "{\"allocation_id\":\"" + id + "\"}");
        assertEquals(200, rel.status(), rel.body());
        assertEquals("RELEASED", rel.json().get("allocation").get("status").asText());
        assertEquals(404, d.get("/ports/port/" + port).status(), "no live record on a released port");
        TestDaemon.Reply again = d.admin("/ports/release", "{\"allocation_id\":\"" + id + "\"}");
        assertEquals(200, again.status(), again.body());
        assertTrue(again.json().get("message").asText().contains("already RELEASED"), again.body());
        TestDaemon.Reply late = d.admin("/ports/heartbeat/" + id, "{}");
        assertEquals(409, late.status(), late.body());
        assertError(late, "allocation_ended", "allocation_id");
    }

    @Test
    void badAllocations_get400NamingTheField_andChangeNothing() throws Exception {
        int before = d.get("/ports/directory").json().get("count").asInt();
        String[][] cases = {
            {"{\"service_type\":\"db\"}", "service_name", "missing"},
            {"{\"service_name\":\"a b\",\"service_type\":\"db\"}", "service_name", "letters, digits"},
            {"{\"service_name\":\"" + "x".repeat(129) + "\",\"service_type\":\"db\"}", "service_name", "1-128"},
            {"{\"service_name\":42,\"service_type\":\"db\"}", "service_name", "must be a string"},
            {"{\"service_name\":\"ok\"}", "service_type", "missing"},
            {"{\"service_name\":\"ok\",\"service_type\":\"nosuch\"}", "service_type", "expected one of db, web, tiny"},
            {"{\"service_name\":\"ok\",\"service_type\":\"db\",\"preferred_port\":70000}", "preferred_port", "1-65535"},
            {"{\"service_name\":\"ok\",\"service_type\":\"db\",\"preferred_port\":\"80\"}", "preferred_port", "1-65535"},
            {"{\"service_name\":\"ok\",\"service_type\":\"db\",\"preferred_port\":-1}", "preferred_port", "1-65535"},
            {"{\"service_name\":\"ok\",\"service_type\":\"db\",\"required\":\"yes\"}", "required", "true or false"},
            {"{\"service_name\":\"ok\",\"service_type\":\"web\",\"required\":true}", "preferred_port", "no default port"},
            {"{\"service_name\":\"ok\",\"service_type\":\"db\",\"protocol\":\"SCTP\"}", "protocol", "TCP"},
            {"{\"service_name\":\"ok\",\"service_type\":\"db\",\"process_id\":-5}", "process_id", "process id"},
            {"{\"service_name\":\"ok\",\"service_type\":\"db\",\"colour\":\"red\"}", "colour", "unknown field"},
            {"{\"service_name\":\"ok\",\"service_type\":\"db\",\"metadata\":{\"k\":1}}", "metadata", "must be a string"},
        };
        for (String[] c : cases) {
            TestDaemon.Reply r = d.admin("/ports/allocate", c[0]);
            assertEquals(400, r.status(), c[0] + " -> " + r.body());
            JsonNode e = r.json();
            assertFalse(e.get("success").asBoolean());
            assertEquals(c[1], e.get("field").asText(), c[0] + " -> " + r.body());
            assertTrue(e.get("message").asText().contains(c[2]), c[0] + " -> " + r.body());
            assertNoStackTrace(r);
        }
        for (String body : new String[] {"", "{", "[1,2]", "\"x\"", "{\"service_name\":\"a\"} trailing"}) {
            TestDaemon.Reply r = d.admin("/ports/allocate", body);
            assertEquals(400, r.status(), "'" + body + "' -> " + r.body());
            assertTrue(r.json().get("error").asText().startsWith("invalid_"), r.body());
            assertNoStackTrace(r);
        }
        assertEquals(before, d.get("/ports/directory").json().get("count").asInt(), "a bad request changes nothing");
    }

    @Test
    void requiredPortTaken_is409NamingTheHolder() throws Exception {
        int port = d.webRange.start() + 3;
        TestDaemon.Reply first = d.admin("/ports/allocate", "{\"service_name\":\"api-1\",\"service_type\":\"web\",\"preferred_port\":" + port
                + ",\"required\":true}");
        assertEquals(201, first.status(), first.body());
        assertEquals(port, first.json().get("allocation").get("port").asInt());
        TestDaemon.Reply second = d.admin("/ports/allocate", "{\"service_name\":\"api-2\",\"service_type\":\"web\",\"preferred_port\":" + port
                + ",\"required\":true}");
        assertEquals(409, second.status(), second.body());
        assertEquals("preferred_port", second.json().get("field").asText());
        assertTrue(second.json().get("message").asText().contains(Integer.toString(port)), second.body());
        assertTrue(second.json().get("message").asText().contains("api-1"), "names the holder: " + second.body());

        // a program outside the registry listening on the port
        try (ServerSocket stranger = new ServerSocket()) {
            stranger.bind(new InetSocketAddress(InetAddress.getByName("0.0.0.0"), d.webRange.start() + 7));
            TestDaemon.Reply r = d.admin("/ports/allocate", "{\"service_name\":\"api-3\",\"service_type\":\"web\",\"preferred_port\":"
                    + stranger.getLocalPort() + ",\"required\":true}");
            assertEquals(409, r.status(), r.body());
            assertEquals("port_unavailable", r.json().get("error").asText(), r.body());
            assertTrue(r.json().get("message").asText().contains("pid " + ProcessHandle.current().pid()), "names the holder: " + r.body());
            // not required: falls back within the range
            TestDaemon.Reply fallback = d.admin("/ports/allocate", "{\"service_name\":\"api-4\",\"service_type\":\"web\",\"preferred_port\":"
                    + stranger.getLocalPort() + "}");
            assertEquals(201, fallback.status(), fallback.body());
            assertTrue(fallback.json().get("allocation").get("port").asInt() != stranger.getLocalPort());
            assertTrue(fallback.json().get("message").asText().contains("was taken"), fallback.body());
        }
    }

    @Test
    void exhaustedRange_is503() throws Exception {
        TestDaemon.Reply one = d.admin("/ports/allocate", "{\"service_name\":\"only\",\"service_type\":\"tiny\"}");
        assertEquals(201, one.status(), one.body());
        TestDaemon.Reply two = d.admin("/ports/allocate", "{\"service_name\":\"second\",\"service_type\":\"tiny\"}");
        assertEquals(503, two.status(), two.body());
        assertError(two, "ports_exhausted", "service_type");
        assertTrue(two.json().get("message").asText().contains(d.tinyRange.toString()), two.body());
        d.admin("/ports/release", "{\"allocation_id\":\"" + one.json().get("allocation").get("allocation_id").asText() + "\"}");
    }

    @Test
    void unknownThings_are404_wrongMethod405_badPathInput400() throws Exception {
        assertError(d.admin("/ports/heartbeat/0b7c1a7e-0000-4000-8000-000000000000", null), "unknown_allocation", "allocation_id", 404);
        assertError(d.admin("/ports/release", "{\"allocation_id\":\"0b7c1a7e-0000-4000-8000-000000000000\"}"), "unknown_allocation",
                "allocation_id", 404);
        assertError(d.admin("/ports/release", "{\"allocation_id\":\"../../etc\"}"), "invalid_allocation_id", "allocation_id", 400);
        assertError(d.admin("/ports/release", "{\"allocation_id\":\"x\",\"force\":true}"), "invalid_force", "force", 400);
        assertError(d.get("/ports/service/nobody-here"), "unknown_service", "name", 404);
        assertError(d.get("/ports/service/bad%20name"), "invalid_name", "name", 400);
        assertError(d.get("/ports/port/" + (d.webRange.end())), "port_not_allocated", "port", 404);
        assertError(d.get("/ports/port/0"), "invalid_port", "port", 400);
        assertError(d.get("/ports/port/65536"), "invalid_port", "port", 400);
        assertError(d.get("/ports/port/http"), "invalid_port", "port", 400);
        assertError(d.get("/ports/type/nosuch"), "invalid_type", "type", 400);
        assertTrue(d.get("/ports/type/nosuch").json().get("message").asText().contains("db, web, tiny"));
        TestDaemon.Reply nf = d.get("/ports/nothing");
        assertError(nf, "not_found", null, 404);
        assertTrue(nf.json().get("message").asText().contains("POST /ports/allocate"), "lists the API: " + nf.body());
        TestDaemon.Reply wrong = d.get("/ports/allocate");
        assertError(wrong, "method_not_allowed", null, 405);
        assertEquals("POST", wrong.header("Allow"));
        TestDaemon.Reply wrong2 = d.admin("/ports/directory", "{}");
        assertEquals(405, wrong2.status());
        assertEquals("GET", wrong2.header("Allow"));
    }

    @Test
    void cleanup_expiresRecordsWhoseProcessIsGone() throws Exception {
        Process p = new ProcessBuilder("true").start();
        p.waitFor();
        long deadPid = p.pid();
        TestDaemon.Reply r = d.admin("/ports/allocate", "{\"service_name\":\"crashed\",\"service_type\":\"web\",\"process_id\":" + deadPid + "}");
        assertEquals(201, r.status(), r.body());
        String id = r.json().get("allocation").get("allocation_id").asText();
        TestDaemon.Reply c = d.admin("/ports/cleanup", null);
        assertEquals(200, c.status(), c.body());
        // the daemon's own health rounds may have expired it already; either way it is EXPIRED now
        JsonNode svc = d.get("/ports/service/crashed").json().get("allocations").get(0);
        assertEquals(id, svc.get("allocation_id").asText());
        assertEquals("EXPIRED", svc.get("status").asText(), svc.toString());
        assertTrue(c.json().has("expired") && c.json().has("count"), c.body());
    }

    @Test
    void reconcile_getReportsAndChangesNothing_postAppliesSafeActions() throws Exception {
        JsonNode a = d.allocate("listener", "web");
        int port = a.get("port").asInt();
        String id = a.get("allocation_id").asText();
        TestDaemon.Reply pidded = d.admin("/ports/allocate", "{\"service_name\":\"mine\",\"service_type\":\"web\",\"process_id\":"
                + ProcessHandle.current().pid() + "}");
        assertEquals(201, pidded.status(), pidded.body());
        JsonNode mine = pidded.json().get("allocation");
        int squat = d.webRange.end() - 1;
        try (ServerSocket stranger = new ServerSocket();
             ServerSocket holder = new ServerSocket()) {
            stranger.bind(new InetSocketAddress(InetAddress.getByName("0.0.0.0"), squat));
            holder.setReuseAddress(true);
            holder.bind(new InetSocketAddress(InetAddress.getByName("0.0.0.0"), mine.get("port").asInt()));
            JsonNode findings = d.get("/ports/reconcile").json();
            assertFalse(findings.get("applied").asBoolean());
            assertTrue(hasFinding(findings, "SQUATTER", squat), findings.toString());
            assertTrue(hasFinding(findings, "BOUND_BY_HOLDER", mine.get("port").asInt()), findings.toString());
            assertEquals("RESERVED", d.get("/ports/port/" + mine.get("port").asInt()).json().get("allocation").get("status").asText(),
                    "GET changes nothing");

            assertEquals(401, d.post("/ports/reconcile", null, null).status());
            TestDaemon.Reply applied = d.admin("/ports/reconcile", null);
            assertEquals(200, applied.status(), applied.body());
            assertTrue(applied.json().get("applied").asBoolean());
            assertEquals("ACTIVE", d.get("/ports/port/" + mine.get("port").asInt()).json().get("allocation").get("status").asText(),
                    "POST marked the record whose holder listens ACTIVE: " + applied.body());
        }
        d.admin("/ports/release", "{\"allocation_id\":\"" + id + "\"}");
        d.admin("/ports/release", "{\"allocation_id\":\"" + mine.get("allocation_id").asText() + "\"}");
        assertEquals(404, d.get("/ports/port/" + port).status());
    }

    @Test
    void health_reportsStatusFindingsAndRanges() throws Exception {
        TestDaemon.Reply r = d.get("/ports/health");
        assertEquals(200, r.status(), r.body());
        JsonNode h = r.json();
        assertTrue(Set.of("UP", "DEGRADED", "DOWN").contains(h.get("status").asText()), r.body());
        assertTrue(h.get("ranges").isArray() && h.get("ranges").size() == 3, r.body());
        assertTrue(h.has("findings") && h.has("checked_at"), r.body());
    }

    @Test
    void sequentialAllocations_getDistinctPorts() throws Exception {
        Set<Integer> ports = new HashSet<>();
        List<String> ids = new ArrayList<>();
        for (int i = 0; i < 10; i++) {
            JsonNode a = d.allocate("batch-" + i, "web");
            assertTrue(ports.add(a.get("port").asInt()), "distinct: " + ports + " + " + a);
            assertTrue(d.webRange.contains(a.get("port").asInt()));
            ids.add(a.get("allocation_id").asText());
        }
        for (String id : ids) {
            assertEquals(200, d.admin("/ports/release", "{\"allocation_id\":\"" + id + "\"}").status());
        }
    }

    @Test
    void events_streamEachChange_asServerSentEvents() throws Exception {
        java.util.concurrent.BlockingQueue<String> lines = new java.util.concurrent.LinkedBlockingQueue<>();
        var req = java.net.http.HttpRequest.newBuilder(d.uri("/ports/events")).GET().build();
        var stream = d.http.sendAsync(req, java.net.http.HttpResponse.BodyHandlers.ofLines());
        var resp = stream.get(20, java.util.concurrent.TimeUnit.SECONDS);
        try {
            assertEquals(200, resp.statusCode());
            assertTrue(resp.headers().firstValue("Content-Type").orElse("").startsWith("text/event-stream"), resp.headers().map().toString());
            Thread reader = new Thread(() -> resp.body().forEach(lines::add), "sse-reader");
            reader.setDaemon(true);
            reader.start();
            JsonNode a = d.allocate("streamed", "web");
            String data = null;
            long end = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(20);
            while (data == null && System.nanoTime() < end) {
                String l = lines.poll(500, java.util.concurrent.TimeUnit.MILLISECONDS);
                if (l != null && l.startsWith("data: ") && l.contains("\"kind\":\"allocate\"") && l.contains("streamed")) {
                    data = l;
                }
            }
            assertNotNull(data, "an allocate event within 20 s: " + lines);
            assertTrue(data.contains("\"port\":" + a.get("port").asInt()), data);
            d.admin("/ports/release", "{\"allocation_id\":\"" + a.get("allocation_id").asText() + "\"}");
        } finally {
            resp.body().close();
        }
    }

    private static boolean hasFinding(JsonNode body, String kind, int port) {
        for (JsonNode f : body.get("findings")) {
            if (f.get("kind").asText().equals(kind) && f.get("port").asInt() == port) {
                return true;
            }
        }
        return false;
    }

    static Set<String> ids(JsonNode allocations) {
        Set<String> s = new HashSet<>();
        allocations.forEach(a -> s.add(a.get("allocation_id").asText()));
        return s;
    }

    static void assertError(TestDaemon.Reply r, String code, String field, int status) {
        assertEquals(status, r.status(), r.body());
        assertError(r, code, field);
    }

    static void assertError(TestDaemon.Reply r, String code, String field) {
        JsonNode e = r.json();
        assertFalse(e.get("success").asBoolean(), r.body());
        assertEquals(code, e.get("error").asText(), r.body());
        assertNotNull(e.get("message").asText());
        assertTrue(e.has("field"), r.body());
        if (field == null) {
            assertTrue(e.get("field").isNull(), r.body());
        } else {
            assertEquals(field, e.get("field").asText(), r.body());
        }
        assertNoStackTrace(r);
    }

    static void assertNoStackTrace(TestDaemon.Reply r) {
        assertFalse(r.body().contains("Exception") || r.body().contains("\tat ") || r.body().contains("at io."), r.body());
    }
}
