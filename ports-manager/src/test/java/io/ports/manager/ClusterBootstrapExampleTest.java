package io.ports.manager;

import io.ports.core.testsupport.Jvm;
import io.ports.manager.examples.ClusterNodeExample;
import io.ports.resolver.testsupport.Knot;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Three nodes as three processes on one host find each other through DNS SRV records they publish to
 * a real knot server, connect over their cluster ports; one is killed with SIGKILL and restarted,
 * comes back on the same port, and the others see it leave and return.
 */
class ClusterBootstrapExampleTest {
    @TempDir
    Path dir;

    private static final String ZONE = String.join("\n",
            "$ORIGIN cluster.test.", "$TTL 60",
            "@ SOA ns.cluster.test. admin.cluster.test. 1 3600 600 86400 1",
            "@ NS ns", "ns A 127.0.0.1", "");

    @Test
    void threeNodes_findEachOther_andSeeAKilledNodeLeaveAndReturnOnTheSamePort() throws Exception {
        try (Knot knot = Knot.start(ZONE)) {
            String dns = "127.0.0.1:" + knot.port();
            Map<String, Jvm> nodes = new HashMap<>();
            try {
                Map<String, Integer> ports = new HashMap<>();
                for (String id : new String[] {"n1", "n2", "n3"}) {
                    Jvm j = Jvm.start(ClusterNodeExample.class, id, dir.resolve("locks").toString(), dns, knot.tsigSecret());
                    nodes.put(id, j);
                    String[] ready = j.await("READY", 60).split(" ");
                    ports.put(id, Integer.parseInt(ready[1]));
                }
                assertEquals(3, new HashSet<>(ports.values()).size(), "three nodes, three ports: " + ports);
                awaitLines(nodes.get("n1"), Set.of("JOINED n2", "JOINED n3"));
                awaitLines(nodes.get("n2"), Set.of("JOINED n1", "JOINED n3"));
                awaitLines(nodes.get("n3"), Set.of("JOINED n1", "JOINED n2"));

                nodes.get("n2").process().destroyForcibly(); // SIGKILL
                assertTrue(nodes.get("n2").process().waitFor(10, TimeUnit.SECONDS));
                awaitLines(nodes.get("n1"), Set.of("LEFT n2"));
                awaitLines(nodes.get("n3"), Set.of("LEFT n2"));

                Jvm again = Jvm.start(ClusterNodeExample.class, "n2", dir.resolve("locks").toString(), dns, knot.tsigSecret());
                nodes.put("n2", again);
                int port = Integer.parseInt(again.await("READY", 60).split(" ")[1]);
                assertEquals(ports.get("n2"), port, "the restarted node is back on the port it had");
                awaitLines(nodes.get("n1"), Set.of("JOINED n2"));
                awaitLines(nodes.get("n3"), Set.of("JOINED n2"));
                awaitLines(again, Set.of("JOINED n1", "JOINED n3"));
            } finally {
                nodes.values().forEach(Jvm::close);
            }
        }
    }

    /** Waits (bounded) until every expected line was printed, in any order. */
    private static void awaitLines(Jvm node, Set<String> expected) throws InterruptedException {
        Set<String> left = new HashSet<>(expected);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (!left.isEmpty()) {
            long ms = TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime());
            String line = ms > 0 ? node.poll(ms) : null;
            if (line == null) {
                fail("node " + node.process().pid() + " did not print " + left + " within 60 s");
            }
            left.remove(line);
        }
    }
}
