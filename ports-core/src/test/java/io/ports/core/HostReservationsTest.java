package io.ports.core;

import io.ports.core.internal.ProcFs;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class HostReservationsTest {
    @TempDir
    Path dir;

    @Test
    void tryClaim_isExclusiveUntilClosed_alsoAcrossHandlesOfOneJvm() {
        try (HostReservations a = HostReservations.open(dir); HostReservations b = HostReservations.open(dir)) {
            HostClaim c = a.tryClaim(21000);
            assertNotNull(c);
            assertNull(a.tryClaim(21000));
            assertNull(b.tryClaim(21000), "a second handle in the same JVM must not get a claimed port");
            assertTrue(b.isClaimed(21000));
            c.close();
            c.close(); // idempotent
            assertTrue(c.isReleased());
            assertFalse(b.isClaimed(21000));
            HostClaim again = b.tryClaim(21000);
            assertNotNull(again);
            again.close();
        }
    }

    @Test
    void lockFile_isNamedAfterTheNetworkNamespace() {
        try (HostReservations h = HostReservations.open(dir)) {
            String expected = ProcFs.networkNamespaceId().map(id -> "ports-net-" + id + ".lock").orElse("ports.lock");
            assertEquals(dir.resolve(expected).toAbsolutePath(), h.lockFile());
            assertTrue(Files.exists(h.lockFile()));
        }
    }

    @Test
    void claimHolder_namesThisProcess() {
        try (HostReservations h = HostReservations.open(dir); HostClaim c = h.tryClaim(21001)) {
            assertNotNull(c);
            ProcFs.ProcessRef ref = h.claimHolder(21001).orElseThrow(() -> new AssertionError("/proc/locks did not list our lock"));
            assertEquals(ProcessHandle.current().pid(), ref.pid());
            assertTrue(h.claimHolder(21002).isEmpty());
        }
    }

    @Test
    void open_unwritableLocation_failsWithAClearMessage() throws Exception {
        Path file = Files.writeString(dir.resolve("not-a-dir"), "x");
        PortsException e = assertThrows(PortsException.class, () -> HostReservations.open(file.resolve("sub")));
        assertTrue(e.getMessage().contains("cannot open the host-wide lock file"), e.getMessage());
        assertTrue(e.getMessage().contains(HostReservations.LOCK_DIR_ENV), e.getMessage());
    }

    @Test
    void closedHandle_refusesClaims_andBadPortsAreRejected() {
        HostReservations h = HostReservations.open(dir);
        assertThrows(IllegalArgumentException.class, () -> h.tryClaim(0));
        h.close();
        h.close();
        assertThrows(IllegalStateException.class, () -> h.tryClaim(21003));
    }
}
