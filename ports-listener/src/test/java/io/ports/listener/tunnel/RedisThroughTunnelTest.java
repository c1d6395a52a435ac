package io.ports.listener.tunnel;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * A database protocol through the tunnel: Debian's redis-cli and redis-benchmark talk to a real
 * redis-server on loopback through our client and our server.
 */
class RedisThroughTunnelTest extends TunnelFixture {
    private static final Path SERVER = Path.of("/usr/bin/redis-server");
    private static final Path CLI = Path.of("/usr/bin/redis-cli");
    private static final Path BENCHMARK = Path.of("/usr/bin/redis-benchmark");

    @TempDir
    Path dir;

    private static void requireRedis() {
        boolean present = Files.isExecutable(SERVER) && Files.isExecutable(CLI) && Files.isExecutable(BENCHMARK);
        if (!present && "true".equals(System.getenv("CI"))) {
            throw new AssertionError("redis is missing on CI: scripts/test must install the Debian package redis-server (it brings redis-tools)");
        }
        assumeTrue(present, "redis-server/redis-cli are not installed (apt-get install redis-server); skipped");
    }

    @Test
    void redisCliAndBenchmark_throughTheTunnel_toARealRedisServer() throws Exception {
        requireRedis();
        int redisPort = Websockify.freePort();
        Path log = dir.resolve("redis.log");
        Process redis = new ProcessBuilder(SERVER.toString(), "--port", String.valueOf(redisPort), "--bind", "127.0.0.1", "--save", "",
                "--appendonly", "no", "--daemonize", "no", "--protected-mode", "no", "--dir", dir.toString())
                .redirectErrorStream(true).redirectOutput(log.toFile()).start();
        try {
            awaitPong(redisPort, redis, log);
            TunnelServerOptions o = TunnelServerOptions.builder().path("/redis").allow("127.0.0.1:" + redisPort).build();
            TunnelServer server = closeLater(TunnelServer.start(manager, "127.0.0.1:0", quickStop(), o));
            TunnelClient client = client(ws(server), b -> { });
            String port = String.valueOf(client.port());

            assertEquals("OK", run(null, CLI.toString(), "-h", "127.0.0.1", "-p", port, "SET", "greeting", "hello through a WebSocket"));
            assertEquals("hello through a WebSocket", run(null, CLI.toString(), "-h", "127.0.0.1", "-p", port, "GET", "greeting"));

            byte[] raw = random(768 << 10);
            String big = Base64.getEncoder().encodeToString(raw); // 1 MiB of text
            Path value = dir.resolve("value");
            Files.writeString(value, big);
            assertEquals("OK", run(value, CLI.toString(), "-h", "127.0.0.1", "-p", port, "-x", "SET", "big"));
            assertEquals(big + "\n", run(null, CLI.toString(), "-h", "127.0.0.1", "-p", port, "GET", "big") + "\n");

            String bench = run(null, BENCHMARK.toString(), "-h", "127.0.0.1", "-p", port, "-c", "16", "-n", "4000", "-t", "set,get", "-q");
            assertTrue(bench.contains("SET:") && bench.contains("GET:"), bench);
            System.out.println("redis-benchmark through the tunnel:\n" + bench);
            assertTrue(server.counters().connectionsOpened() >= 20, server.counters().toString());
        } finally {
            redis.destroy();
            if (!redis.waitFor(5, TimeUnit.SECONDS)) {
                redis.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
            }
            System.out.println("---- redis-server ----\n" + Files.readString(log));
        }
    }

    private static void awaitPong(int port, Process redis, Path log) throws Exception {
        for (int i = 0; i < 100; i++) { // bounded: 100 x 100 ms
            assertTrue(redis.isAlive(), "redis-server exited: " + Files.readString(log));
            try (Socket s = connect(port)) {
                s.getOutputStream().write("PING\r\n".getBytes(StandardCharsets.US_ASCII));
                if (new String(s.getInputStream().readNBytes(7), StandardCharsets.US_ASCII).equals("+PONG\r\n")) {
                    return;
                }
            } catch (IOException notYet) {
                Thread.sleep(100);
            }
        }
        throw new AssertionError("redis-server did not answer PING within 10 s: " + Files.readString(log));
    }

    /** Runs a command (stdin from {@code input} if given) for at most 60 s; returns its output without the last newline. */
    private static String run(Path input, String... cmd) throws Exception {
        ProcessBuilder pb = new ProcessBuilder(new ArrayList<>(List.of(cmd))).redirectErrorStream(true);
        if (input != null) {
            pb.redirectInput(input.toFile());
        }
        Process p = pb.start();
        try {
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertTrue(p.waitFor(60, TimeUnit.SECONDS), String.join(" ", cmd) + " did not end");
            assertEquals(0, p.exitValue(), String.join(" ", cmd) + ": " + out);
            return out.endsWith("\n") ? out.substring(0, out.length() - 1) : out;
        } finally {
            p.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
        }
    }
}
