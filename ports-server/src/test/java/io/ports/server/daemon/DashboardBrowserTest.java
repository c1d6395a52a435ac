package io.ports.server.daemon;

import com.fasterxml.jackson.databind.JsonNode;
import io.ports.core.PortRange;
import io.ports.core.ServiceType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The dashboard in real headless Chromium (Debian's chromium and chromium-driver, over WebDriver): it loads
 * under its Content-Security-Policy, shows the cells of the allocations the test made in their states (reserved,
 * active, expired, a stranger listening without a record), updates live when one is released, and leaves a
 * screenshot in {@code target/dashboard.png}.
 */
@Timeout(180)
class DashboardBrowserTest {
    private static final String STATE = "return (document.querySelector('[data-port=\"%d\"]') || {dataset: {}}).dataset.state || 'absent'";

    @Test
    void dashboard_showsEachAllocationsCell_andUpdatesWhenOneIsReleased() throws Exception {
        Path chromedriver = Tools.require("chromedriver", "chromium-driver");
        Path chromium = Tools.require("chromium", "chromium");
        PortRange pool = TestDaemon.freeRanges(600)[0];
        try (TestDaemon d = new TestDaemon(c -> c.withCatalog(c.catalog().with(ServiceType.tcp("pool", 0, pool, "a larger pool")))
                .withHeartbeatTimeout(java.time.Duration.ofMinutes(5)));
             ServerSocket stranger = new ServerSocket();
             WebDriver browser = WebDriver.start(chromedriver, chromium, 1280, 1100)) {
            JsonNode reserved = d.allocate("orders-db", "db");
            JsonNode active = d.allocate("orders-api", "web");
            assertEquals(200, d.admin("/ports/heartbeat/" + active.get("allocation_id").asText(), null).status());
            for (int i = 0; i < 40; i++) {
                JsonNode a = d.allocate("worker-" + i, "pool");
                if (i % 3 != 0) {
                    d.admin("/ports/heartbeat/" + a.get("allocation_id").asText(), null);
                }
            }
            Process gone = new ProcessBuilder("true").start();
            gone.waitFor();
            TestDaemon.Reply crashed = d.admin("/ports/allocate", "{\"service_name\":\"crashed-job\",\"service_type\":\"web\",\"process_id\":"
                    + gone.pid() + "}");
            assertEquals(201, crashed.status(), crashed.body());
            int expiredPort = crashed.json().get("allocation").get("port").asInt();
            d.admin("/ports/cleanup", null);
            int squatPort = d.webRange.end();
            stranger.bind(new InetSocketAddress(InetAddress.getByName("0.0.0.0"), squatPort));

            browser.navigate(d.daemon.url());
            browser.await(String.format(STATE, reserved.get("port").asInt()), "reserved", 30);
            browser.await(String.format(STATE, active.get("port").asInt()), "active", 10);
            browser.await(String.format(STATE, expiredPort), "expired", 10);
            browser.await(String.format(STATE, squatPort), "stranger", 20); // after a health round sees it
            browser.await(String.format(STATE, d.dbRange.end()), "free", 5);
            // each state has its own colour on screen, not only its own attribute
            String colours = browser.script("const s = p => getComputedStyle(document.querySelector('[data-port=\"' + p + '\"]')).backgroundColor;"
                    + "return [s(" + d.dbRange.end() + "), s(" + reserved.get("port").asInt() + "), s(" + active.get("port").asInt() + "), s("
                    + expiredPort + "), s(" + squatPort + ")].join('|');").asText();
            assertEquals(5, new java.util.HashSet<>(java.util.List.of(colours.split("\\|"))).size(), "free, reserved, active, expired, stranger differ: " + colours);
            assertEquals(d.dbRange.size() + d.webRange.size() + d.tinyRange.size() + pool.size(),
                    browser.script("return document.querySelectorAll('.cell').length").asInt(), "one cell per port of every range");
            browser.await("return document.getElementById('live').textContent", "live", 10);
            browser.await("return String(document.querySelectorAll('#services tr').length > 40)", "true", 10);
            assertTrue(browser.script("return document.getElementById('status').textContent").asText().matches("UP|DEGRADED|DOWN"));
            browser.await("return document.getElementById('error').style.display || 'none'", "none", 5);

            // hover shows port, service and state
            browser.script("const c = document.querySelector('[data-port=\"" + reserved.get("port").asInt() + "\"]');"
                    + "const r = c.getBoundingClientRect();"
                    + "c.dispatchEvent(new MouseEvent('mousemove', {bubbles: true, clientX: r.left + 2, clientY: r.top + 2})); return 1;");
            String tip = browser.script("return document.getElementById('tip').textContent").asText();
            assertTrue(tip.contains("port " + reserved.get("port").asInt()) && tip.contains("orders-db") && tip.contains("reserved"), tip);

            Path shot = Path.of("target", "dashboard.png");
            browser.script("document.getElementById('tip').style.display = 'none'; return 1;");
            browser.screenshot(shot);
            assertTrue(Files.size(shot) > 10_000, "a real screenshot: " + Files.size(shot) + " bytes");

            // live update: the release reaches the page through the event stream
            assertEquals(200, d.admin("/ports/release", "{\"allocation_id\":\"" + reserved.get("allocation_id").asText() + "\"}").status());
            browser.await(String.format(STATE, reserved.get("port").asInt()), "free", 10);
            // the counts agree with the cells drawn, and with the daemon
            browser.await("return String(document.querySelectorAll('.cell.reserved').length"
                    + " === Number(document.getElementById('total-reserved').textContent))", "true", 10);
            // (records may expire meanwhile, 30 s without a heartbeat: compare with the daemon's count of the same moment)
            String page = null;
            int server = -1;
            for (long end = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(10); System.nanoTime() < end; Thread.sleep(200)) {
                server = d.get("/ports/map").json().get("totals").get("reserved").asInt();
                page = browser.script("return document.getElementById('total-reserved').textContent").asText();
                if (page.equals(Integer.toString(server))) {
                    break;
                }
            }
            assertEquals(Integer.toString(server), page, "the page shows the daemon's count of reserved ports");
        }
    }
}
