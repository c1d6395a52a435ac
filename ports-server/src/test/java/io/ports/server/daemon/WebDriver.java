package io.ports.server.daemon;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.ports.core.testsupport.PeerRuns;

import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Headless Chromium driven by chromedriver over the W3C WebDriver protocol (plain HTTP and JSON). Runs in
 * {@code <tmp>/ports-webdriver/run-*} with {@code owner.lock} held while it runs, so that what a crashed run
 * left (chromedriver and its browsers) is ended by {@link PeerRuns#cleanLeftovers} at the next start.
 * {@link #close()} deletes the session first (or the browser processes stay behind), then stops chromedriver.
 */
final class WebDriver implements AutoCloseable {
    private static final Path ROOT = Path.of(System.getProperty("java.io.tmpdir"), "ports-webdriver");

    private final Path run;
    private final FileChannel lockChannel;
    private final FileLock lock;
    private final Process driver;
    private final URI base;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private String session;

    private WebDriver(Path run, FileChannel lockChannel, FileLock lock, Process driver, URI base) {
        this.run = run;
        this.lockChannel = lockChannel;
        this.lock = lock;
        this.driver = driver;
        this.base = base;
    }

    static WebDriver start(Path chromedriver, Path chromium, int width, int height) throws Exception {
        Files.createDirectories(ROOT);
        PeerRuns.cleanLeftovers(ROOT, "chromedriver.pid", "chromedriver");
        Path run = Files.createTempDirectory(ROOT, "run-");
        FileChannel ch = FileChannel.open(run.resolve("owner.lock"), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
        FileLock lock = ch.lock();
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        Process p = new ProcessBuilder(chromedriver.toString(), "--port=" + port, "--allowed-ips=127.0.0.1",
                "--log-path=" + run.resolve("chromedriver.log")).redirectErrorStream(true).redirectOutput(run.resolve("stdout.txt").toFile()).start();
        Files.writeString(run.resolve("chromedriver.pid"), Long.toString(p.pid()));
        WebDriver wd = new WebDriver(run, ch, lock, p, URI.create("http://127.0.0.1:" + port));
        try {
            wd.awaitReady();
            wd.newSession(chromium, width, height);
            return wd;
        } catch (Exception | AssertionError e) {
            wd.close();
            throw e;
        }
    }

    private void awaitReady() throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (System.nanoTime() < deadline) {
            if (!driver.isAlive()) {
                throw new AssertionError("chromedriver exited with " + driver.exitValue() + ": " + log());
            }
            try {
                JsonNode s = call("GET", "/status", null);
                if (s.path("value").path("ready").asBoolean()) {
                    return;
                }
            } catch (IOException notYet) {
                // not listening yet
            }
            Thread.sleep(100);
        }
        throw new AssertionError("chromedriver not ready within 30 s: " + log());
    }

    private void newSession(Path chromium, int width, int height) throws Exception {
        ObjectNode caps = JsonCodec.MAPPER.createObjectNode();
        ObjectNode always = caps.putObject("capabilities").putObject("alwaysMatch");
        always.put("browserName", "chrome");
        ObjectNode opts = always.putObject("goog:chromeOptions");
        opts.put("binary", chromium.toString());
        var args = opts.putArray("args");
        for (String a : List.of("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
                "--user-data-dir=" + run.resolve("profile"), "--window-size=" + width + "," + height)) {
            args.add(a);
        }
        JsonNode r = call("POST", "/session", caps.toString());
        session = r.path("value").path("sessionId").asText(null);
        if (session == null) {
            throw new AssertionError("no WebDriver session: " + r + " " + log());
        }
    }

    void navigate(URI url) throws Exception {
        call("POST", "/session/" + session + "/url", JsonCodec.MAPPER.createObjectNode().put("url", url.toString()).toString());
    }

    /** Runs a synchronous script and returns its value. */
    JsonNode script(String js) throws Exception {
        ObjectNode body = JsonCodec.MAPPER.createObjectNode().put("script", js);
        body.putArray("args");
        return call("POST", "/session/" + session + "/execute/sync", body.toString()).path("value");
    }

    /** Polls a script until it returns {@code expected} as text, at most {@code seconds}. */
    String await(String js, String expected, int seconds) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        String last = null;
        while (System.nanoTime() < deadline) {
            last = script(js).asText();
            if (expected.equals(last)) {
                return last;
            }
            Thread.sleep(100);
        }
        throw new AssertionError("'" + js + "' was '" + last + "', not '" + expected + "', within " + seconds + " s");
    }

    void screenshot(Path file) throws Exception {
        String b64 = call("GET", "/session/" + session + "/screenshot", null).path("value").asText();
        Files.createDirectories(file.getParent());
        Files.write(file, Base64.getDecoder().decode(b64));
    }

    private JsonNode call(String method, String path, String json) throws IOException, InterruptedException {
        HttpRequest.Builder b = HttpRequest.newBuilder(base.resolve(path)).timeout(Duration.ofSeconds(30))
                .method(method, json == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(json));
        if (json != null) {
            b.header("Content-Type", "application/json");
        }
        HttpResponse<String> r = http.send(b.build(), HttpResponse.BodyHandlers.ofString());
        JsonNode n = JsonCodec.MAPPER.readTree(r.body());
        if (r.statusCode() >= 400) {
            throw new AssertionError("WebDriver " + method + " " + path + " -> " + r.statusCode() + ": " + r.body());
        }
        return n;
    }

    String log() {
        try {
            return Files.exists(run.resolve("stdout.txt")) ? Files.readString(run.resolve("stdout.txt")) : "";
        } catch (IOException e) {
            return e.toString();
        }
    }

    @Override
    public void close() throws Exception {
        try {
            if (session != null) {
                try {
                    call("DELETE", "/session/" + session, null);
                } catch (Exception | AssertionError e) {
                    System.err.println("deleting the WebDriver session failed: " + e);
                }
            }
        } finally {
            ProcessHandle.of(driver.pid()).ifPresent(h -> h.descendants().forEach(ProcessHandle::destroy));
            driver.destroy();
            if (!driver.waitFor(10, TimeUnit.SECONDS)) {
                driver.descendants().forEach(ProcessHandle::destroyForcibly);
                driver.destroyForcibly();
                driver.waitFor(10, TimeUnit.SECONDS);
            }
            lock.release();
            lockChannel.close();
            PeerRuns.deleteTree(run);
            PeerRuns.deleteEmptyRoot(ROOT);
        }
    }
}
