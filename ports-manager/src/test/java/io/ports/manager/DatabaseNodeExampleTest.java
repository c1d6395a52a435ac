package io.ports.manager;

import io.ports.core.HostReservations;
import io.ports.core.testsupport.Jvm;
import io.ports.manager.examples.DatabaseNodeExample;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Runs the database node example as its own process, talks to each service, and stops it. */
class DatabaseNodeExampleTest {
    @TempDir
    Path dir;

    @Test
    void exampleNode_startsFiveServices_servesThem_andShutsDownCleanly() throws Exception {
        Path conf = Files.writeString(dir.resolve("node.properties"), String.join("\n",
                "lock-dir=" + dir.resolve("locks"), "base-port=15432", "event-loops.threads=1", "health-check-interval=1h",
                "services.database.type=DATABASE", "services.database.port=15432",
                "services.cluster.type=CLUSTER", "services.replication.type=REPLICATION",
                "services.admin.type=ADMIN", "services.api.type=API", ""));
        List<int[]> ports = new ArrayList<>();
        try (Jvm node = Jvm.start(DatabaseNodeExample.class, conf.toString())) {
            List<String> types = new ArrayList<>();
            String line;
            while (!(line = node.await("", 60)).equals("READY")) {
                if (line.startsWith("STARTED ")) {
                    String[] f = line.split(" ");
                    types.add(f[2]);
                    ports.add(new int[] {Integer.parseInt(f[3])});
                }
            }
            assertEquals(List.of("DATABASE", "CLUSTER", "REPLICATION", "ADMIN", "API"), types);
            for (int[] p : ports) {
                assertEquals("ping", echo(p[0]), "service on port " + p[0]);
            }
            node.send("stop");
            node.await("STOPPED", 30); // fails the test when the node does not print it
            assertTrue(node.process().waitFor(30, TimeUnit.SECONDS));
            assertEquals(0, node.process().exitValue());
        }
        try (HostReservations h = HostReservations.open(dir.resolve("locks"))) {
            for (int[] p : ports) {
                assertFalse(h.isClaimed(p[0]), "port " + p[0] + " still claimed after the node stopped");
            }
        }
    }

    private static String echo(int port) throws IOException {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress("127.0.0.1", port), 5000);
            s.setSoTimeout(5000);
            s.getOutputStream().write("ping".getBytes(StandardCharsets.UTF_8));
            return new String(s.getInputStream().readNBytes(4), StandardCharsets.UTF_8);
        }
    }
}
