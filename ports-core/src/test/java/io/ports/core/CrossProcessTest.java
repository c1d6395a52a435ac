package io.ports.core;

import io.ports.core.testsupport.Jvm;
import io.ports.core.testsupport.ReserveMain;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/** Several JVMs on one host, one lock directory: the host-wide guarantees. */
class CrossProcessTest {
    @TempDir
    Path lockDir;

    @Test
    void eightJvms_reservingAtTheSameMoment_neverGetTheSamePort() throws Exception {
        int jvms = 8;
        int each = 10;
        String range = "23000-23099"; // 100 ports for 80 leases: every child collides with others
        String[] strategies = {"sequential", "random", "hash", "sequential"};
        List<Jvm> children = new ArrayList<>();
        try {
            for (int i = 0; i < jvms; i++) {
                children.add(Jvm.start(ReserveMain.class, lockDir.toString(), range, Integer.toString(each), strategies[i % strategies.length]));
            }
            for (Jvm c : children) {
                c.await("READY", 120);
            }
            for (Jvm c : children) { // the barrier: every child is waiting on this line
                c.send("go");
            }
            Map<Integer, Long> owner = new HashMap<>();
            for (Jvm c : children) {
                String ports = c.await("PORTS", 60);
                for (String s : ports.split(",")) {
                    int p = Integer.parseInt(s);
                    Long previous = owner.put(p, c.process().pid());
                    if (previous != null) {
                        fail("port " + p + " given to pid " + previous + " and pid " + c.process().pid());
                    }
                }
            }
            assertEquals(jvms * each, owner.size());
            try (HostReservations h = HostReservations.open(lockDir)) {
                for (int p : owner.keySet()) {
                    assertTrue(h.isClaimed(p), "port " + p + " should be claimed by its holder");
                }
            }
        } finally {
            for (Jvm c : children) {
                c.close();
            }
        }
    }

    /**
     * The control: the same race without the lock file hands ports out twice (holding sockets alone do
     * not exclude each other), so the test above would see it if the host-wide claim were broken.
     */
    @Test
    void withoutHostWideClaims_sequentialChildrenCollide() throws Exception {
        List<Jvm> children = new ArrayList<>();
        try {
            for (int i = 0; i < 2; i++) {
                children.add(Jvm.start(ReserveMain.class, lockDir.toString(), "23100-23199", "3", "sequential", "local"));
            }
            for (Jvm c : children) {
                c.await("READY", 120);
            }
            for (Jvm c : children) {
                c.send("go");
            }
            assertEquals(children.get(0).await("PORTS", 60), children.get(1).await("PORTS", 60));
        } finally {
            for (Jvm c : children) {
                c.close();
            }
        }
    }

    @Test
    void killedHolder_itsPortsAreReservableAgainWithinASecond() throws Exception {
        int[] ports;
        try (Jvm child = Jvm.start(ReserveMain.class, lockDir.toString(), "23200-23299", "5", "sequential");
             HostReservations h = HostReservations.open(lockDir)) {
            child.await("READY", 120);
            child.send("go");
            ports = Arrays.stream(child.await("PORTS", 60).split(",")).mapToInt(Integer::parseInt).toArray();
            for (int p : ports) {
                assertNull(h.tryClaim(p), "port " + p + " is claimed by the child");
                assertEquals(child.process().pid(), h.claimHolder(p).orElseThrow().pid());
            }

            child.process().destroyForcibly(); // SIGKILL: no shutdown hook, no finally
            assertTrue(child.process().waitFor(10, TimeUnit.SECONDS), "the child did not die");
            long died = System.nanoTime();

            List<HostClaim> claims = new ArrayList<>();
            try {
                for (int p : ports) {
                    HostClaim c = null;
                    for (int i = 0; i < 100 && c == null; i++) { // bounded: 100 x 10 ms
                        c = h.tryClaim(p);
                        if (c == null) {
                            Thread.sleep(10);
                        }
                    }
                    assertNotNull(c, "port " + p + " still claimed after the holder was killed");
                    claims.add(c);
                }
                long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - died);
                assertTrue(ms <= 1000, "ports came back after " + ms + " ms");
            } finally {
                claims.forEach(HostClaim::close);
            }
        }
        // and an allocator gets exactly those ports back, as required ports
        try (PortAllocator a = PortAllocator.builder().lockDirectory(lockDir).build()) {
            for (int p : ports) {
                PortLease l = a.allocate(PortRequest.builder("again-" + p, ServiceType.CUSTOM).preferredPort(p).required(true).build());
                assertEquals(p, l.port());
            }
        }
    }
}
