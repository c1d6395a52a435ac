package io.ports.bench.manager;

import io.ports.manager.NodePorts;
import io.ports.manager.PortConfig;
import io.ports.manager.PortManager;

import java.lang.management.ManagementFactory;
import java.nio.file.Path;

/**
 * The node of {@link StartupBenchmark} as a whole process: starts the five services, prints
 * {@code READY}, then either halts at once ({@code halt}) or closes the node and returns from
 * {@code main} ({@code close}). Before READY it prints, on stderr, where the time went: the JVM's
 * uptime when {@code main} began, then {@code PortConfig.fromMap}, {@code PortManager.create} and
 * {@code startServices}, each in a cold JVM; in {@code close} mode also {@code close()}.
 *
 * <p>{@code java -cp ports-bench/target/benchmarks.jar io.ports.bench.manager.NodeStartMain LOCK_DIR halt|close}.
 * Measured by {@code ports-bench/src/main/sh/startup-process.sh}.
 */
public final class NodeStartMain {
    private NodeStartMain() {
    }

    public static void main(String[] args) {
        long uptime = ManagementFactory.getRuntimeMXBean().getUptime();
        if (args.length != 2 || !(args[1].equals("halt") || args[1].equals("close"))) {
            System.err.println("usage: NodeStartMain LOCK_DIR halt|close");
            System.exit(2);
        }
        long t0 = System.nanoTime();
        PortConfig config = StartupBenchmark.config(Path.of(args[0]));
        long t1 = System.nanoTime();
        PortManager manager = PortManager.create(config);
        long t2 = System.nanoTime();
        NodePorts node = StartupBenchmark.check(manager.startServices(StartupBenchmark.pipelines(config)));
        long t3 = System.nanoTime();
        System.err.printf("phases: JVM uptime at main %d ms, config %.1f ms, create %.1f ms, startServices %.1f ms%n",
                uptime, ms(t1 - t0), ms(t2 - t1), ms(t3 - t2));
        System.out.println("READY " + node.services().size());
        System.out.flush();
        if (args[1].equals("halt")) {
            Runtime.getRuntime().halt(0); // no shutdown work: the kernel drops the sockets and locks
        }
        long t4 = System.nanoTime();
        manager.close();
        System.err.printf("phases: close %.1f ms%n", ms(System.nanoTime() - t4));
        System.out.println("STOPPED");
    }

    private static double ms(long nanos) {
        return nanos / 1e6;
    }
}
