package io.ports.core.registry;

import io.ports.core.testsupport.Jvm;
import io.ports.core.testsupport.StoreHolderMain;
import io.ports.core.testsupport.StoreWriterMain;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class FileRegistryStoreTest {
    @TempDir
    Path dir;

    private static Map<String, Allocation> asMap(FileRegistryStore s) {
        Map<String, Allocation> m = new HashMap<>();
        s.load().forEach(a -> m.put(a.id(), a));
        return m;
    }

    private static Path journal(Path dir) throws Exception {
        try (var files = Files.list(dir)) {
            return files.filter(p -> p.getFileName().toString().startsWith("journal-")).findFirst().orElseThrow();
        }
    }

    @Test
    void writes_survivereopen_andRemovesToo() {
        try (FileRegistryStore s = FileRegistryStore.open(dir)) {
            s.write(List.of(RegistryStore.Change.put(StoreWriterMain.record(1)), RegistryStore.Change.put(StoreWriterMain.record(2))));
            s.write(List.of(RegistryStore.Change.remove("rec-1")));
            s.write(List.of(RegistryStore.Change.put(StoreWriterMain.record(2).withStatus(AllocationStatus.ACTIVE))));
        }
        try (FileRegistryStore s = FileRegistryStore.open(dir)) {
            Map<String, Allocation> m = asMap(s);
            assertEquals(Set.of("rec-2"), m.keySet());
            assertEquals(AllocationStatus.ACTIVE, m.get("rec-2").status());
            assertEquals(StoreWriterMain.record(2).metadata(), m.get("rec-2").metadata());
        }
    }

    @Test
    void compaction_keepsEverything_andLeavesOneJournal() throws Exception {
        try (FileRegistryStore s = FileRegistryStore.open(dir, 10)) {
            for (int i = 0; i < 95; i++) {
                s.write(List.of(RegistryStore.Change.put(StoreWriterMain.record(i))));
            }
            for (int i = 0; i < 95; i += 2) {
                s.write(List.of(RegistryStore.Change.remove("rec-" + i)));
            }
        }
        try (var files = Files.list(dir)) {
            assertEquals(1, files.filter(p -> p.getFileName().toString().startsWith("journal-")).count());
        }
        assertTrue(Files.exists(dir.resolve("snapshot.dat")));
        try (FileRegistryStore s = FileRegistryStore.open(dir, 10)) {
            Map<String, Allocation> m = asMap(s);
            assertEquals(47, m.size());
            for (int i = 1; i < 95; i += 2) {
                assertEquals(StoreWriterMain.record(i), m.get("rec-" + i));
            }
        }
    }

    @Test
    void defaultCompaction_waitsForTwiceTheRecordsHeld_whenThatIsMoreThanTheMinimum() throws Exception {
        try (FileRegistryStore s = FileRegistryStore.open(dir)) {
            // 6,000 records held: compaction after 12,000 journal records, not after the minimum of 10,000
            for (int chunk = 0; chunk < 6; chunk++) {
                List<RegistryStore.Change> puts = new ArrayList<>();
                for (int i = 0; i < 1000; i++) {
                    puts.add(RegistryStore.Change.put(StoreWriterMain.record(chunk * 1000 + i)));
                }
                s.write(puts);
            }
            for (int round = 0; round < 5; round++) { // 5,000 updates: 11,000 journal records
                List<RegistryStore.Change> again = new ArrayList<>();
                for (int i = round * 1000; i < round * 1000 + 1000; i++) {
                    again.add(RegistryStore.Change.put(StoreWriterMain.record(i)));
                }
                s.write(again);
            }
            assertFalse(Files.exists(dir.resolve("snapshot.dat")), "compacted before twice the records held");
            List<RegistryStore.Change> last = new ArrayList<>();
            for (int i = 0; i < 1000; i++) { // 12,000
                last.add(RegistryStore.Change.put(StoreWriterMain.record(i)));
            }
            s.write(last);
        } // the writer compacts after acknowledging a batch; close waits for it
        assertTrue(Files.exists(dir.resolve("snapshot.dat")), "not compacted at twice the records held");
        try (FileRegistryStore s = FileRegistryStore.open(dir)) {
            assertEquals(6000, asMap(s).size());
        }
    }

    @Test
    void concurrentWriters_shareSyncs_andAllAreDurable() throws Exception {
        try (FileRegistryStore s = FileRegistryStore.open(dir)) {
            ExecutorService pool = Executors.newFixedThreadPool(16);
            try {
                List<Future<?>> fs = new ArrayList<>();
                for (int t = 0; t < 16; t++) {
                    int base = t * 100;
                    fs.add(pool.submit(() -> {
                        for (int i = 0; i < 100; i++) {
                            s.write(List.of(RegistryStore.Change.put(StoreWriterMain.record(base + i))));
                        }
                    }));
                }
                for (Future<?> f : fs) {
                    f.get(120, TimeUnit.SECONDS);
                }
            } finally {
                pool.shutdownNow();
            }
        }
        try (FileRegistryStore s = FileRegistryStore.open(dir)) {
            assertEquals(1600, s.load().size());
        }
    }

    @Test
    void concurrentMultiChangeWrites_keepTheirOrder_inTheSharedAppend() throws Exception {
        // each write is put a, put b, remove a: encoded by its caller, appended with the others of its batch in one gathering write
        try (FileRegistryStore s = FileRegistryStore.open(dir)) {
            ExecutorService pool = Executors.newFixedThreadPool(8);
            try {
                List<Future<?>> fs = new ArrayList<>();
                for (int t = 0; t < 8; t++) {
                    int base = t * 1000;
                    fs.add(pool.submit(() -> {
                        for (int i = 0; i < 100; i += 2) {
                            s.write(List.of(RegistryStore.Change.put(StoreWriterMain.record(base + i)),
                                    RegistryStore.Change.put(StoreWriterMain.record(base + i + 1)),
                                    RegistryStore.Change.remove("rec-" + (base + i))));
                        }
                    }));
                }
                for (Future<?> f : fs) {
                    f.get(120, TimeUnit.SECONDS);
                }
            } finally {
                pool.shutdownNow();
            }
            assertEquals(400, s.load().size());
        }
        Set<String> expected = new HashSet<>();
        for (int t = 0; t < 8; t++) {
            for (int i = 1; i < 100; i += 2) {
                expected.add("rec-" + (t * 1000 + i));
            }
        }
        try (FileRegistryStore s = FileRegistryStore.open(dir)) {
            assertEquals(expected, asMap(s).keySet());
        }
    }

    @Test
    void tornLastRecord_isDroppedAndTheRestKept() throws Exception {
        try (FileRegistryStore s = FileRegistryStore.open(dir)) {
            for (int i = 0; i < 5; i++) {
                s.write(List.of(RegistryStore.Change.put(StoreWriterMain.record(i))));
            }
        }
        Path j = journal(dir);
        long goodSize = Files.size(j);
        byte[] frame = FileRegistryStore.frame("{\"op\":\"put\",\"allocation\":{}}".getBytes());
        Files.write(j, Arrays.copyOf(frame, frame.length / 2), StandardOpenOption.APPEND); // a write cut short
        try (FileRegistryStore s = FileRegistryStore.open(dir)) {
            assertEquals(5, s.load().size());
            s.write(List.of(RegistryStore.Change.put(StoreWriterMain.record(5))));
        }
        try (FileRegistryStore s = FileRegistryStore.open(dir)) {
            assertEquals(6, s.load().size(), "the torn end was cut off, so the next record follows the good ones");
        }
        assertTrue(Files.size(j) > goodSize);
    }

    @Test
    void zeroFilledTail_isDroppedToo() throws Exception {
        try (FileRegistryStore s = FileRegistryStore.open(dir)) {
            s.write(List.of(RegistryStore.Change.put(StoreWriterMain.record(1))));
        }
        Files.write(journal(dir), new byte[4096], StandardOpenOption.APPEND);
        try (FileRegistryStore s = FileRegistryStore.open(dir)) {
            assertEquals(1, s.load().size());
        }
    }

    @Test
    void corruptRecordInTheMiddle_isReportedWithItsPosition_andTheFileIsLeftAlone() throws Exception {
        try (FileRegistryStore s = FileRegistryStore.open(dir)) {
            for (int i = 0; i < 3; i++) {
                s.write(List.of(RegistryStore.Change.put(StoreWriterMain.record(i))));
            }
        }
        Path j = journal(dir);
        byte[] bytes = Files.readAllBytes(j);
        int headerLen = 8 + ByteBuffer.wrap(bytes, 0, 4).getInt();
        int firstLen = 8 + ByteBuffer.wrap(bytes, headerLen, 4).getInt();
        int flip = headerLen + firstLen + 20; // inside the second record's payload
        bytes[flip] ^= 0x55;
        Files.write(j, bytes);
        RegistryStoreException e = assertThrows(RegistryStoreException.class, () -> FileRegistryStore.open(dir));
        assertTrue(e.getMessage().contains(j.toString()) && e.getMessage().contains("at byte " + (headerLen + firstLen))
                && e.getMessage().contains("checksum"), e.getMessage());
        assertArrayEquals(bytes, Files.readAllBytes(j), "a corrupt journal is never rewritten");
        // and the lock was given back: after a repair the store opens
        Files.write(j, Arrays.copyOf(bytes, headerLen + firstLen));
        try (FileRegistryStore s = FileRegistryStore.open(dir)) {
            assertEquals(1, s.load().size());
        }
    }

    @Test
    void corruptSnapshot_isReported() throws Exception {
        try (FileRegistryStore s = FileRegistryStore.open(dir, 2)) {
            for (int i = 0; i < 4; i++) {
                s.write(List.of(RegistryStore.Change.put(StoreWriterMain.record(i))));
            }
        }
        Path snap = dir.resolve("snapshot.dat");
        byte[] b = Files.readAllBytes(snap);
        b[b.length - 3] ^= 1;
        Files.write(snap, b);
        RegistryStoreException e = assertThrows(RegistryStoreException.class, () -> FileRegistryStore.open(dir));
        assertTrue(e.getMessage().contains("snapshot.dat is corrupt at byte 0"), e.getMessage());
    }

    @Test
    void twoProcesses_cannotOpenOneStore_andTheErrorNamesTheHolder() throws Exception {
        try (Jvm holder = Jvm.start(StoreHolderMain.class, dir.toString())) {
            holder.await("OPEN", 60);
            RegistryStoreException e = assertThrows(RegistryStoreException.class, () -> FileRegistryStore.open(dir));
            assertTrue(e.getMessage().contains("already open by pid " + holder.process().pid()), e.getMessage());
        }
        try (FileRegistryStore s = FileRegistryStore.open(dir)) {
            RegistryStoreException e = assertThrows(RegistryStoreException.class, () -> FileRegistryStore.open(dir));
            assertTrue(e.getMessage().contains("already open in this process"), e.getMessage());
        }
    }

    /**
     * kill -9 a writer in the middle of 10,000 allocations (compacting every 1,000, so crashes also hit
     * compactions), reopen: every acknowledged record is there, exactly as written, and nothing that
     * was never requested. Twenty times.
     */
    @Test
    void killedWriter_everyAcknowledgedRecordSurvives_twentyTimes() throws Exception {
        for (int round = 0; round < 20; round++) {
            Path d = Files.createDirectory(dir.resolve("round-" + round));
            Set<String> acked = new HashSet<>();
            try (Jvm child = Jvm.start(StoreWriterMain.class, d.toString(), "10000", "8", "1000")) {
                child.await("READY", 60);
                // kill after a random number of acknowledgements, so that every round dies mid-stream
                // whatever the speed of the machine (bounded by 60 s)
                int killAt = ThreadLocalRandom.current().nextInt(1, 9000);
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
                while (acked.size() < killAt && System.nanoTime() < deadline) {
                    String line = pollLine(child, deadline);
                    if (line == null) {
                        break;
                    }
                    if (line.startsWith("ACK ")) {
                        acked.add(line.substring(4));
                    }
                }
                assertTrue(acked.size() >= killAt, "round " + round + ": the writer acknowledged only " + acked.size() + " records");
                child.process().destroyForcibly();
                assertTrue(child.process().waitFor(10, TimeUnit.SECONDS));
                String line;
                while ((line = pollLine(child, System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(200))) != null) {
                    if (line.startsWith("ACK ")) {
                        acked.add(line.substring(4)); // printed before the kill, read after it
                    }
                }
            }
            try (FileRegistryStore s = FileRegistryStore.open(d, 1000)) {
                Map<String, Allocation> m = asMap(s);
                for (String id : acked) {
                    assertTrue(m.containsKey(id), "round " + round + ": acknowledged " + id + " is missing (" + acked.size() + " acked, " + m.size() + " stored)");
                }
                for (Allocation a : m.values()) {
                    int n = Integer.parseInt(a.id().substring(4));
                    assertTrue(n >= 0 && n < 10000, "round " + round + ": a record that was never requested: " + a);
                    assertEquals(StoreWriterMain.record(n), a, "round " + round + ": record changed on disk");
                }
            }
        }
    }

    private static String pollLine(Jvm child, long deadlineNanos) throws InterruptedException {
        long left = TimeUnit.NANOSECONDS.toMillis(deadlineNanos - System.nanoTime());
        return left <= 0 ? null : child.poll(left);
    }
}
