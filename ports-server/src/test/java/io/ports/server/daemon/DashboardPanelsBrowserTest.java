package io.ports.server.daemon;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The dashboard's panels besides the port map, in real headless Chromium: the services table's heartbeat age
 * (grows while no heartbeat comes, resets after one), the health findings (a stranger the test puts in a range
 * appears in {@code #findings} and leaves when it goes), and pool utilization over time (the {@code history} of
 * {@code /ports/map} follows the allocations, and the page draws it: its caption names the peak, and the line
 * starts at the bottom of the chart and ends at its top). Leaves {@code target/dashboard-panels.png}.
 */
@Timeout(180)
class DashboardPanelsBrowserTest {
    /** The heartbeat cell of one allocation's row in the services table ('absent' without the row). */
    private static final String HEARTBEAT = "const r = document.querySelector('#services tr[data-allocation=\"%s\"]');"
            + " return r ? r.children[4].textContent : 'absent'";
    /** The text of the findings panel. */
    private static final String FINDINGS = "return document.getElementById('findings').textContent";

    @Test
    void dashboard_showsHeartbeatAge_healthFindings_andUtilizationHistory() throws Exception {
        Path chromedriver = Tools.require("chromedriver", "chromium-driver");
        Path chromium = Tools.require("chromium", "chromium");
        try (TestDaemon d = new TestDaemon(c -> c.withHeartbeatTimeout(Duration.ofMinutes(5))
                .withIntervals(Duration.ofMillis(500), Duration.ofMillis(200)));
             ServerSocket stranger = new ServerSocket();
             WebDriver browser = WebDriver.start(chromedriver, chromium, 1280, 1400)) {
            String web = d.webRange.toString();
            // utilization: samples with the web range empty, then with half of it allocated
            awaitSamples(d, web, 0, 3);
            JsonNode aging = d.allocate("aging-svc", "web");
            String agingId = aging.get("allocation_id").asText();
            for (int i = 1; i < d.webRange.size() / 2; i++) {
                d.allocate("half-" + i, "web");
            }
            int half = d.webRange.size() / 2;
            awaitSamples(d, web, half, 3);
            JsonNode history = d.get("/ports/map").json().get("history");
            assertEquals(0, history.get(0).get("used").get(web).asInt(), "the first sample is before the allocations: " + history);
            assertEquals(half, history.get(history.size() - 1).get("used").get(web).asInt(), history.toString());
            assertEquals(0, history.get(history.size() - 1).get("used").get(d.dbRange.toString()).asInt(), "nothing in db: " + history);

            // health finding: a stranger listens in the db range without a record
            int squat = d.dbRange.end();
            stranger.bind(new InetSocketAddress(InetAddress.getByName("0.0.0.0"), squat));

            browser.navigate(d.daemon.url());
            browser.await("return document.getElementById('live').textContent", "live", 30);

            // the finding appears, by kind and port, and the panel counts it
            browser.await("return String(/squatter · TCP " + squat + "/.test(document.getElementById('findings').textContent))", "true", 30);
            assertTrue(browser.script("return document.getElementById('checked').textContent").asText().matches(".*\\d+ findings? to look at"),
                    browser.script("return document.getElementById('checked').textContent").asText());

            // the page drew the history: the caption names the peak, the line rises from the bottom to the top
            String card = "document.querySelector('.card[data-range=\"" + web + "\"]')";
            String cap = browser.script("return " + card + ".querySelector('.cap').textContent").asText();
            assertTrue(cap.matches("utilization, last \\d+ min \\(peak 50%\\)"), cap);
            String webCard = ".card[data-range=\"" + web + "\"]";
            // first point (x 2, y h-6 for 0%), last point (x w-2, y 8 for the peak)
            assertTrue(blue(browser, webCard, "0", "cv.height - 12") > 0, "the line starts at 0 %");
            assertTrue(blue(browser, webCard, "cv.width - 12", "2") > 0, "the line ends at the peak");
            assertEquals(0, blue(browser, webCard, "cv.width - 12", "cv.height - 12"), "not at 0 % at the end");
            assertEquals(0, blue(browser, ".card[data-range=\"" + d.dbRange + "\"]", "cv.width - 12", "2"),
                    "the empty db range's line stays at the bottom");

            // heartbeat age: grows while no heartbeat comes (the page polls every 5 s)...
            browser.await("return String(/^([3-9]|[1-8][0-9]) s ago$/.test((" + fn(HEARTBEAT, agingId) + ")()))", "true", 30);
            // ...and resets after one (the heartbeat's change event refreshes the page)
            assertEquals(200, d.admin("/ports/heartbeat/" + agingId, null).status());
            browser.await("return (" + fn(HEARTBEAT, agingId) + ")()", "just now", 10);

            Path shot = Path.of("target", "dashboard-panels.png");
            browser.screenshot(shot);
            assertTrue(Files.size(shot) > 10_000, "a real screenshot: " + Files.size(shot) + " bytes");

            // the stranger goes: the next health round drops the finding, and the page with it
            stranger.close();
            browser.await("return String(/squatter · TCP " + squat + "/.test(document.getElementById('findings').textContent))", "false", 30);
            assertTrue(!browser.script(FINDINGS).asText().contains(" " + squat), browser.script(FINDINGS).asText());
        }
    }

    /**
     * How many blue pixels of the spark line the canvas of the card {@code card} (a CSS selector) has in the 12x12 square at
     * ({@code x}, {@code y}) (JS expressions over the canvas {@code cv}).
     */
    private static int blue(WebDriver browser, String card, String x, String y) throws Exception {
        return browser.script("const cv = document.querySelector('" + card + " canvas.spark'); const g = cv.getContext('2d');"
                + " const px = g.getImageData(" + x + ", " + y + ", 12, 12).data; let n = 0;"
                + " for (let i = 0; i < px.length; i += 4) if (px[i + 3] > 128 && px[i + 2] - px[i] > 80) n++; return n;").asInt();
    }

    /** A JS function expression around a statement template with one {@code %s}. */
    private static String fn(String template, String arg) {
        return "function () { " + String.format(template, arg) + " }";
    }

    /** Waits (at most 20 s) until the newest {@code count} utilization samples of a range all show {@code used} ports. */
    private static void awaitSamples(TestDaemon d, String range, int used, int count) throws Exception {
        JsonNode h = null;
        for (long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(20); System.nanoTime() < end; Thread.sleep(100)) {
            h = d.get("/ports/map").json().get("history");
            int n = 0;
            for (int i = h.size() - 1; i >= 0 && h.get(i).get("used").get(range).asInt() == used; i--) {
                n++;
            }
            if (n >= count) {
                return;
            }
        }
        throw new AssertionError("no " + count + " samples with " + used + " ports used in " + range + ": " + h);
    }
}
