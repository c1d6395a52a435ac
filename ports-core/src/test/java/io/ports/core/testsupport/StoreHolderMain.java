package io.ports.core.testsupport;

import io.ports.core.registry.FileRegistryStore;

import java.nio.file.Path;

/** Child JVM: opens the store in DIR, prints {@code OPEN}, and keeps it open until stdin closes. */
public final class StoreHolderMain {
    private StoreHolderMain() {
    }

    public static void main(String[] args) throws Exception {
        try (FileRegistryStore store = FileRegistryStore.open(Path.of(args[0]))) {
            System.out.println("OPEN");
            System.out.flush();
            while (System.in.read() >= 0) {
                // hold
            }
        }
    }
}
