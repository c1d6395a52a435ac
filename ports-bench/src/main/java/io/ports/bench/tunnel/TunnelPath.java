package io.ports.bench.tunnel;

import io.ports.core.EventLoops;
import io.ports.listener.ListenerManager;
import io.ports.listener.ListenerOptions;
import io.ports.listener.tunnel.TunnelClient;
import io.ports.listener.tunnel.TunnelClientOptions;
import io.ports.listener.tunnel.TunnelServer;
import io.ports.listener.tunnel.TunnelServerOptions;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * One of the three ways the benchmarks reach the same {@link EchoTarget}, all on 127.0.0.1:
 * <ul>
 *   <li>{@code ours}: benchmark client → {@link TunnelClient} (local TCP port) → WebSocket →
 *       {@link TunnelServer} → echo;</li>
 *   <li>{@code websockify}: benchmark client → the same {@link TunnelClient}, with the same options
 *       → WebSocket → websockify 0.10 ({@link WebsockifyProcess}) → echo;</li>
 *   <li>{@code direct}: benchmark client → echo.</li>
 * </ul>
 * The two tunnel rows differ only in the server, so they compare our server with websockify's;
 * client and server have an {@link EventLoops} each (2 threads, best transport), as if on two hosts.
 * Options are the defaults of {@link TunnelClientOptions} and {@link TunnelServerOptions} (frames up
 * to 1 MiB, write buffer water marks 64/256 KiB, a Ping every 20 s) apart from a 200 ms graceful stop
 * of the listeners, which only shortens the teardown.
 */
final class TunnelPath implements AutoCloseable {
    static final String OURS = "ours";
    static final String WEBSOCKIFY = "websockify";
    static final String DIRECT = "direct";

    final String name;
    final EchoTarget echo;
    private EventLoops serverLoops;
    private ListenerManager serverListeners;
    private TunnelServer server;
    private WebsockifyProcess websockify;
    private EventLoops clientLoops;
    private ListenerManager clientListeners;
    private TunnelClient client;
    private InetSocketAddress entry;
    private CpuMeter cpu;
    private long bytesAtStart;
    private long acceptedAtStart;

    private TunnelPath(String name, EchoTarget echo) {
        this.name = name;
        this.echo = echo;
    }

    /** Starts the echo target and, for a tunnel path, both tunnel ends; on failure stops what it started. */
    static TunnelPath open(String name) throws IOException, InterruptedException {
        if (!List.of(OURS, WEBSOCKIFY, DIRECT).contains(name)) {
            throw new IllegalArgumentException("path '" + name + "': expected " + OURS + ", " + WEBSOCKIFY + " or " + DIRECT);
        }
        TunnelPath p = new TunnelPath(name, EchoTarget.start());
        try {
            ListenerOptions quickStop = ListenerOptions.builder().gracefulTimeout(Duration.ofMillis(200)).build();
            String wsUri = null;
            switch (name) {
                case OURS -> {
                    p.serverLoops = EventLoops.builder().threads(2).threadNamePrefix("tunnel-server").build();
                    p.serverListeners = new ListenerManager(p.serverLoops);
                    p.server = TunnelServer.start(p.serverListeners, "127.0.0.1:0", quickStop,
                            TunnelServerOptions.builder().allow(p.echo.hostPort()).build());
                    wsUri = "ws://127.0.0.1:" + p.server.port() + "/";
                }
                case WEBSOCKIFY -> {
                    p.websockify = WebsockifyProcess.start(p.echo.hostPort());
                    wsUri = "ws://127.0.0.1:" + p.websockify.port + "/";
                }
                default -> p.entry = p.echo.address();
            }
            if (wsUri != null) {
                p.clientLoops = EventLoops.builder().threads(2).threadNamePrefix("tunnel-client").build();
                p.clientListeners = new ListenerManager(p.clientLoops);
                p.client = TunnelClient.start(p.clientListeners, "127.0.0.1:0", quickStop, TunnelClientOptions.builder(wsUri).build());
                p.entry = new InetSocketAddress(EchoTarget.LOOPBACK, p.client.port());
            }
            System.out.println(p.describe());
            return p;
        } catch (IOException | InterruptedException | RuntimeException e) {
            p.close();
            throw e;
        }
    }

    /** Where the benchmark client connects: the tunnel client's local port, or the echo target. */
    InetSocketAddress entry() {
        return entry;
    }

    String describe() {
        return switch (name) {
            case OURS -> "path ours: client -> TunnelClient 127.0.0.1:" + client.port() + " (" + clientLoops + ") -> TunnelServer 127.0.0.1:"
                    + server.port() + " (" + serverLoops + ") -> echo " + echo.hostPort() + " (" + echo.loops() + "); JVM CPUs " + Pinning.jvmCpus();
            case WEBSOCKIFY -> "path websockify: client -> TunnelClient 127.0.0.1:" + client.port() + " (" + clientLoops + ") -> websockify 127.0.0.1:"
                    + websockify.port + " (pid " + websockify.pid() + ") -> echo " + echo.hostPort() + " (" + echo.loops() + "); JVM CPUs " + Pinning.jvmCpus();
            default -> "path direct: client -> echo " + echo.hostPort() + " (" + echo.loops() + "); JVM CPUs " + Pinning.jvmCpus();
        };
    }

    /** Starts counting CPU time and echoed bytes and connections: after the setup checks, before the first operation. */
    void startCpu() {
        cpu = new CpuMeter(websockify != null ? websockify.pid() : -1);
        bytesAtStart = echo.bytes.get();
        acceptedAtStart = echo.accepted.get();
        cpu.start();
    }

    /**
     * CPU time per part of the path since {@link #startCpu} (warm-up and measurement), and per unit:
     * {@code MiB} (echoed, each way), {@code rt} (a 64-byte round trip) or {@code conn} (a connection).
     */
    String cpuReport(String unit) {
        if (cpu == null) {
            return "CPU not measured";
        }
        long bytes = echo.bytes.get() - bytesAtStart;
        long connections = echo.accepted.get() - acceptedAtStart;
        double units = switch (unit) {
            case "MiB" -> bytes / 1048576.0;
            case "rt" -> bytes / 64.0;
            case "conn" -> connections;
            default -> throw new IllegalArgumentException("unit '" + unit + "': expected MiB, rt or conn");
        };
        return "path " + name + String.format(", %.0f %s: ", units, unit) + CpuMeter.format(cpu.since(), units, unit);
    }

    /** What happened on the path: echo and tunnel counters, websockify's processes. */
    String report() {
        StringBuilder b = new StringBuilder("path " + name + ": echo accepted " + echo.accepted.get() + " connections, echoed " + echo.bytes.get() + " bytes");
        if (client != null) {
            b.append("; client ").append(client.counters());
        }
        if (server != null) {
            b.append("; server ").append(server.counters());
        }
        if (websockify != null) {
            b.append("; websockify ").append(websockify.isAlive() ? "alive" : "DEAD").append(", ").append(websockify.processes()).append(" processes");
        }
        return b.toString();
    }

    /** Fails when websockify died under the benchmark (its log in the message). */
    void checkAlive() {
        if (websockify != null && !websockify.isAlive()) {
            throw new IllegalStateException("websockify died during the trial: " + websockify.log());
        }
    }

    /** Stops the client end, the server end (ours or websockify), then the echo target; each even if another fails. */
    @Override
    public void close() {
        List<Runnable> steps = new ArrayList<>();
        if (client != null) {
            steps.add(client::close);
        }
        if (clientListeners != null) {
            steps.add(clientListeners::close);
        }
        if (clientLoops != null) {
            steps.add(clientLoops::close);
        }
        if (server != null) {
            steps.add(server::close);
        }
        if (serverListeners != null) {
            steps.add(serverListeners::close);
        }
        if (serverLoops != null) {
            steps.add(serverLoops::close);
        }
        if (websockify != null) {
            steps.add(websockify::close);
        }
        steps.add(echo::close);
        RuntimeException first = null;
        for (Runnable s : steps) {
            try {
                s.run();
            } catch (RuntimeException e) {
                first = first == null ? e : first;
            }
        }
        if (first != null) {
            throw first;
        }
    }
}
