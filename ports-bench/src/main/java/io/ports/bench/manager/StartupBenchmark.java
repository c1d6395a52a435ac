package io.ports.bench.manager;

import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.ports.manager.NodePorts;
import io.ports.manager.PortConfig;
import io.ports.manager.PortManager;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * Start-up and shutdown of a database node in a warm JVM, as a node calls them: the five services
 * DATABASE, CLUSTER, REPLICATION, ADMIN and API ({@link #config}).
 *
 * <ul>
 *   <li>{@code start}: {@code PortManager.create(config)} (event loops, allocator, registry in memory,
 *       listener manager, resolver, health monitor) and {@code startServices(pipelines)}: each of the
 *       five services gets its port (held exclusively), a listener bound to it on the wildcard address
 *       with the pipeline {@link Echo}, and an ACTIVE registry record with its heartbeat scheduled.
 *       The invocation teardown closes the node (not measured).</li>
 *   <li>{@code close}: {@code close()} of a node started by the invocation setup (not measured):
 *       heartbeats cancelled, health stopped, listeners stopped (no connections, so the graceful stop
 *       has nothing to wait for), records released, leases and allocator closed, resolver closed,
 *       event loops shut down (quiet period 0).</li>
 * </ul>
 * Mode {@code SampleTime}: every invocation is timed, which gives the median and the tail. Each
 * invocation is a new node on the same ports: the allocator's hash strategy gives the same ports
 * each time, all of them free again after the previous close (nothing connects, so no TIME_WAIT).
 * The lock directory is a temporary directory of the trial. Logging is at WARN.
 *
 * <p>The node as a whole process, from {@code java} to READY: {@link NodeStartMain} and
 * {@code ports-bench/src/main/sh/startup-process.sh}.
 *
 * <p>Run: {@code scripts/bench StartupBenchmark}
 */
@BenchmarkMode(Mode.SampleTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Fork(1)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
public class StartupBenchmark {

    /** Stands in for the database's protocol handlers: echoes what it reads. */
    @ChannelHandler.Sharable
    static final class Echo extends ChannelInboundHandlerAdapter {
        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ctx.writeAndFlush(msg);
        }
    }

    /** The node's configuration: the five services, in this order, and a private lock directory. */
    static PortConfig config(Path lockDir) {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("lock-dir", lockDir.toString());
        m.put("node-id", "bench-node");
        m.put("services.database.type", "DATABASE");
        m.put("services.cluster.type", "CLUSTER");
        m.put("services.replication.type", "REPLICATION");
        m.put("services.admin.type", "ADMIN");
        m.put("services.api.type", "API");
        return PortConfig.fromMap(m, Map.of());
    }

    static Map<String, ChannelHandler> pipelines(PortConfig config) {
        Echo echo = new Echo();
        Map<String, ChannelHandler> p = new LinkedHashMap<>();
        config.services().keySet().forEach(s -> p.put(s, echo));
        return p;
    }

    static void deleteTree(Path dir) throws IOException {
        try (Stream<Path> files = Files.walk(dir)) {
            files.sorted(Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
        }
    }

    /** Checks what a started node must have: five services, each bound and registered. */
    static NodePorts check(NodePorts node) {
        if (node.services().size() != 5) {
            throw new IllegalStateException("expected 5 services, got " + node.services());
        }
        node.services().values().forEach(s -> {
            if (s.localEndpoints().isEmpty() || s.allocationId().isEmpty()) {
                throw new IllegalStateException("service " + s.service() + " is not bound or not registered: " + s);
            }
        });
        return node;
    }

    @State(Scope.Thread)
    public static class Config {
        Path lockDir;
        PortConfig config;
        Map<String, ChannelHandler> pipelines;

        @Setup(Level.Trial)
        public void setUp() throws IOException {
            lockDir = Files.createTempDirectory("ports-bench-startup");
            config = config(lockDir);
            pipelines = pipelines(config);
            // one node outside the measurement, to show its ports
            try (PortManager m = PortManager.create(config)) {
                NodePorts node = check(m.startServices(pipelines));
                node.services().values().forEach(s -> System.out.println("STARTED " + s.service() + " " + s.type() + " " + s.port()
                        + " on " + m.eventLoops()));
            }
        }

        @TearDown(Level.Trial)
        public void tearDown() throws IOException {
            deleteTree(lockDir);
        }
    }

    /** For {@code start}: closes the node the invocation started. */
    @State(Scope.Thread)
    public static class Started {
        PortManager manager;

        @TearDown(Level.Invocation)
        public void close() {
            if (manager != null) {
                manager.close();
                manager = null;
            }
        }
    }

    /** For {@code close}: a node started before the invocation. */
    @State(Scope.Thread)
    public static class Running {
        PortManager manager;

        @Setup(Level.Invocation)
        public void start(Config c) {
            manager = PortManager.create(c.config);
            check(manager.startServices(c.pipelines));
        }
    }

    @Benchmark
    public NodePorts start(Config c, Started s) {
        s.manager = PortManager.create(c.config);
        return s.manager.startServices(c.pipelines);
    }

    @Benchmark
    public void close(Running r) {
        r.manager.close();
    }
}
