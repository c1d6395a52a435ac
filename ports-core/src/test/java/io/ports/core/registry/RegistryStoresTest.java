package io.ports.core.registry;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class RegistryStoresTest {
    @TempDir
    Path tmp;

    @Test
    void open_memoryFileAndPlainPath() {
        try (RegistryStore m = RegistryStores.open("memory:")) {
            assertTrue(m instanceof InMemoryStore);
        }
        try (RegistryStore f = RegistryStores.open("file:" + tmp.resolve("a"))) {
            assertTrue(f instanceof FileRegistryStore);
        }
        try (RegistryStore f = RegistryStores.open(tmp.resolve("b").toString())) {
            assertTrue(f instanceof FileRegistryStore);
        }
        assertTrue(Files.isDirectory(tmp.resolve("a")) && Files.isDirectory(tmp.resolve("b")));
    }

    @Test
    void open_unknownSchemeOrBlank_isRefusedNamingTheKnownOnes() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> RegistryStores.open("etcd://127.0.0.1:2379"));
        assertTrue(e.getMessage().contains("'etcd'") && e.getMessage().contains("ports-etcd") && e.getMessage().contains("file:"), e.getMessage());
        IllegalArgumentException blank = assertThrows(IllegalArgumentException.class, () -> RegistryStores.open(" "));
        assertTrue(blank.getMessage().contains("memory:"), blank.getMessage());
        IllegalArgumentException noDir = assertThrows(IllegalArgumentException.class, () -> RegistryStores.open("file:"));
        assertTrue(noDir.getMessage().contains("file:DIRECTORY"), noDir.getMessage());
    }

    @Test
    void storesOfOneRegistry_keepTheSharedStoreDefaults() {
        try (RegistryStore s = new InMemoryStore()) {
            assertFalse(s.shared());
            assertFalse(s.expiresRecords());
            assertEquals(Optional.empty(), s.staleSince());
            assertFalse(s.isStale());
            s.subscribe(c -> {
                throw new AssertionError("a store of one registry reports nothing");
            });
        }
    }
}
