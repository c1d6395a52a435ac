package io.ports.core.testsupport;

import io.ports.core.Protocol;
import io.ports.core.registry.Allocation;
import io.ports.core.registry.AllocationStatus;
import io.ports.core.registry.FileRegistryStore;
import io.ports.core.registry.RegistryStore;

import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Child JVM for the crash test: {@code DIR COUNT THREADS COMPACT_EVERY}. Writes records
 * {@code rec-0..rec-(COUNT-1)} from THREADS threads and prints {@code ACK rec-n} after each write
 * returned (was acknowledged as durable). It is meant to be killed with SIGKILL part-way.
 */
public final class StoreWriterMain {
    private StoreWriterMain() {
    }

    /** The record the child writes for index n: the parent checks the store against exactly this. */
    public static Allocation record(int n) {
        return new Allocation("rec-" + n, "svc-" + n, "CUSTOM", 40000 + (n % 10000), Protocol.TCP, "host-a", 1000 + n,
                Map.of("n", Integer.toString(n)), Instant.ofEpochSecond(1_700_000_000L + n), null, AllocationStatus.RESERVED, 30_000);
    }

    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args[0]);
        int count = Integer.parseInt(args[1]);
        int threads = Integer.parseInt(args[2]);
        int compactEvery = Integer.parseInt(args[3]);
        FileRegistryStore store = FileRegistryStore.open(dir, compactEvery);
        AtomicInteger next = new AtomicInteger();
        System.out.println("READY");
        System.out.flush();
        Thread[] ts = new Thread[threads];
        for (int t = 0; t < threads; t++) {
            ts[t] = new Thread(() -> {
                int n;
                while ((n = next.getAndIncrement()) < count) {
                    store.write(List.of(RegistryStore.Change.put(record(n))));
                    synchronized (System.out) {
                        System.out.println("ACK rec-" + n);
                    }
                }
            });
            ts[t].start();
        }
        for (Thread t : ts) {
            t.join();
        }
        System.out.flush();
        System.out.println("DONE");
        System.out.flush();
        store.close();
    }
}
