package io.ports.core.registry;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import io.ports.core.internal.ProcFs;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.zip.CRC32C;

/**
 * The embedded registry store: a directory with a journal of changes and a snapshot, durable and
 * crash-safe, used by one process at a time.
 *
 * <h2>Files</h2>
 * <ul>
 *   <li>{@code snapshot.dat}: every record as of generation <i>g</i>, written to a temporary file,
 *       fsynced and renamed into place atomically;</li>
 *   <li>{@code journal-<g>.log}: every change since that snapshot, appended;</li>
 *   <li>{@code registry.lock}: an OS lock held while the store is open.</li>
 * </ul>
 * Both data files are sequences of frames: a 4-byte big-endian length, a 4-byte CRC-32C of the
 * payload, and the payload (JSON). The journal's first frame names its format and generation.
 *
 * <h2>Durability and group commit</h2>
 * {@link #write} returns once its changes are on disk ({@code fdatasync}). Callers encode their changes
 * into journal frames themselves, hand the bytes to one writer thread and wait; the writer takes
 * everything queued, appends it with one gathering write, syncs once, and wakes all of them: many
 * concurrent changes share one sync, and the writer's turn, which every waiting change sits behind,
 * holds no encoding work.
 *
 * <h2>Crashes</h2>
 * A frame cut short by a crash (the last one of the journal, or zeros the file system left at its end)
 * was never acknowledged: it is dropped, with a warning, and the journal truncated before it. A bad
 * frame anywhere else is corruption: opening fails with the file and byte position, and nothing is
 * rewritten. After {@value #DEFAULT_COMPACT_EVERY} journal records, or twice as many as the store holds
 * records when that is more, the writer compacts: a new snapshot, then a new journal, then the old journal
 * is deleted; a crash at any step leaves a consistent pair. Scaling with the records held keeps the cost of
 * compaction per write constant: a snapshot of N records is written once per 2N changes at most, so a
 * large registry under heavy churn does not stall its writes on a snapshot every few seconds.
 */
public final class FileRegistryStore implements RegistryStore {
    private static final Logger log = LoggerFactory.getLogger(FileRegistryStore.class);

    /** Journal records between two snapshots, by default. */
    public static final int DEFAULT_COMPACT_EVERY = 10_000;
    private static final int MAX_FRAME = 64 << 20;
    private static final int MAX_BATCH = 4096;
    private static final String SNAPSHOT = "snapshot.dat";
    private static final String LOCK = "registry.lock";

    private final Path dir;
    private final int compactEvery;
    private final boolean adaptive;
    private final FileChannel lockChannel;
    private final FileLock lock;
    private final Map<String, Allocation> state = new LinkedHashMap<>(); // the writer thread's view
    private final LinkedBlockingQueue<Pending> queue = new LinkedBlockingQueue<>();
    private final Thread writer;
    private long generation;
    private FileChannel journal;
    private int journalRecords;
    private volatile RegistryStoreException failure;
    private volatile boolean closed;

    /** Changes on their way to the journal, already encoded as its frames by the caller. */
    private record Pending(List<Change> changes, byte[] frames, CompletableFuture<Void> done) {
    }

    private static final Pending STOP = new Pending(List.of(), new byte[0], new CompletableFuture<>());

    private FileRegistryStore(Path dir, int compactEvery, boolean adaptive) {
        this.dir = dir;
        this.compactEvery = compactEvery;
        this.adaptive = adaptive;
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new RegistryStoreException("cannot create the registry directory " + dir + ": " + e, e);
        }
        Path lockFile = dir.resolve(LOCK);
        try {
            this.lockChannel = FileChannel.open(lockFile, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
        } catch (IOException e) {
            throw new RegistryStoreException("cannot open " + lockFile + ": " + e + ". The registry directory must be writable", e);
        }
        FileLock l;
        try {
            l = lockChannel.tryLock();
        } catch (OverlappingFileLockException e) {
            closeQuietly(lockChannel);
            throw new RegistryStoreException("the registry store " + dir + " is already open in this process; share that instance", e);
        } catch (IOException e) {
            closeQuietly(lockChannel);
            throw new RegistryStoreException("cannot lock " + lockFile + ": " + e, e);
        }
        if (l == null) {
            String holder = ProcFs.posixLockHolder(lockFile, 0).map(Object::toString).orElse("another process");
            closeQuietly(lockChannel);
            throw new RegistryStoreException("the registry store " + dir + " is already open by " + holder
                    + "; one process at a time may use a store. Stop that process, or give this one another data directory");
        }
        this.lock = l;
        try {
            recover();
        } catch (RuntimeException e) {
            releaseLock();
            throw e;
        }
        this.writer = new Thread(this::writeLoop, "ports-registry-writer");
        this.writer.setDaemon(true);
        this.writer.start();
    }

    /**
     * Opens (creating if needed) the store in {@code dir}, compacting after {@value #DEFAULT_COMPACT_EVERY} journal
     * records or twice the records held, whichever is more.
     */
    public static FileRegistryStore open(Path dir) {
        return new FileRegistryStore(dir.toAbsolutePath().normalize(), DEFAULT_COMPACT_EVERY, true);
    }

    /** Opens the store, compacting after exactly {@code compactEvery} journal records. */
    public static FileRegistryStore open(Path dir, int compactEvery) {
        if (compactEvery < 1) {
            throw new IllegalArgumentException("compactEvery " + compactEvery + " must be at least 1");
        }
        return new FileRegistryStore(dir.toAbsolutePath().normalize(), compactEvery, false);
    }

    public Path directory() {
        return dir;
    }

    @Override
    public String describe() {
        return "file store " + dir;
    }

    @Override
    public synchronized Collection<Allocation> load() {
        return List.copyOf(state.values());
    }

    @Override
    public void write(List<Change> changes) {
        if (changes.isEmpty()) {
            return;
        }
        RegistryStoreException f = failure;
        if (f != null) {
            throw new RegistryStoreException("the registry store " + dir + " failed earlier and accepts no more changes: " + f.getMessage(), f);
        }
        if (closed) {
            throw new IllegalStateException("the registry store " + dir + " is closed");
        }
        Pending p = new Pending(changes, encode(changes), new CompletableFuture<>());
        queue.add(p);
        boolean interrupted = false;
        while (true) {
            try {
                p.done().get();
                break;
            } catch (InterruptedException e) {
                interrupted = true; // the change is on its way: wait for its outcome anyway
            } catch (ExecutionException e) {
                Throwable c = e.getCause();
                throw c instanceof RegistryStoreException ? (RegistryStoreException) c : new RegistryStoreException(c.toString(), c);
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    /** The journal frames of {@code changes}, one after the other: encoded by the caller, outside the writer's turn. */
    private byte[] encode(List<Change> changes) {
        try {
            if (changes.size() == 1) {
                return frame(Json.MAPPER.writeValueAsBytes(JournalRecord.of(changes.get(0))));
            }
            java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream(512 * changes.size());
            for (Change c : changes) {
                out.write(frame(Json.MAPPER.writeValueAsBytes(JournalRecord.of(c))));
            }
            return out.toByteArray();
        } catch (IOException | RuntimeException e) {
            // nothing was queued: the store is unchanged and stays usable
            throw new RegistryStoreException("cannot encode a change for the journal of " + dir + ": " + e, e);
        }
    }

    // -------------------------------------------------------------------------------- writer

    private void writeLoop() {
        List<Pending> batch = new ArrayList<>();
        while (true) {
            batch.clear();
            try {
                batch.add(queue.take());
            } catch (InterruptedException e) {
                continue; // only close() stops the writer, through STOP
            }
            queue.drainTo(batch, MAX_BATCH);
            boolean stop = batch.remove(STOP);
            if (!batch.isEmpty()) {
                commit(batch);
            }
            if (stop) {
                Pending late;
                while ((late = queue.poll()) != null) {
                    late.done().completeExceptionally(new IllegalStateException("the registry store " + dir + " closed before this change was written"));
                }
                return;
            }
        }
    }

    private void commit(List<Pending> batch) {
        if (failure != null) {
            batch.forEach(p -> p.done().completeExceptionally(failure));
            return;
        }
        int records = 0;
        try {
            ByteBuffer[] bufs = new ByteBuffer[batch.size()];
            long bytes = 0;
            for (int i = 0; i < bufs.length; i++) {
                Pending p = batch.get(i);
                bufs[i] = ByteBuffer.wrap(p.frames());
                bytes += p.frames().length;
                records += p.changes().size();
            }
            for (long written = 0; written < bytes; ) {
                written += journal.write(bufs);
            }
            journal.force(false);
        } catch (IOException | RuntimeException e) {
            failure = new RegistryStoreException("writing the journal of " + dir + " failed: " + e
                    + ". The changes of this batch were not acknowledged; reopen the store to recover", e);
            log.error("{}", failure.getMessage());
            batch.forEach(p -> p.done().completeExceptionally(failure));
            return;
        }
        int held;
        synchronized (this) {
            for (Pending p : batch) {
                apply(state, p.changes());
            }
            held = state.size();
        }
        journalRecords += records;
        batch.forEach(p -> p.done().complete(null));
        if (journalRecords >= (adaptive ? Math.max(compactEvery, 2L * held) : compactEvery)) {
            try {
                compact();
            } catch (IOException | RuntimeException e) {
                // the journal still has everything; compaction is retried at the next threshold
                log.warn("compacting the registry store {} failed, will retry: {}", dir, e.toString());
                journalRecords = 0;
            }
        }
    }

    private static void apply(Map<String, Allocation> m, List<Change> changes) {
        for (Change c : changes) {
            if (c.isRemove()) {
                m.remove(c.removedId());
            } else {
                m.put(c.put().id(), c.put());
            }
        }
    }

    /** Snapshot g+1 (atomic rename), journal g+1, then drop journal g. Runs on the writer thread. */
    private void compact() throws IOException {
        long next = generation + 1;
        Snapshot snap;
        synchronized (this) {
            snap = new Snapshot("ports-registry-snapshot", 1, next, List.copyOf(state.values()));
        }
        Path tmp = dir.resolve(SNAPSHOT + ".tmp");
        try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING, StandardOpenOption.WRITE)) {
            ByteBuffer b = ByteBuffer.wrap(frame(Json.MAPPER.writeValueAsBytes(snap)));
            while (b.hasRemaining()) {
                ch.write(b);
            }
            ch.force(true);
        }
        Files.move(tmp, dir.resolve(SNAPSHOT), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        syncDirectory();
        FileChannel old = journal;
        Path oldPath = journalPath(generation);
        journal = createJournal(next);
        generation = next;
        journalRecords = 0;
        closeQuietly(old);
        Files.deleteIfExists(oldPath);
        log.debug("compacted registry store {} into generation {} ({} records)", dir, next, snap.allocations().size());
    }

    // -------------------------------------------------------------------------------- recovery

    private void recover() {
        Path snapshotPath = dir.resolve(SNAPSHOT);
        generation = 0;
        if (Files.exists(snapshotPath)) {
            byte[] data = readAll(snapshotPath);
            Frame f = readFrame(data, 0);
            if (f.status != FrameStatus.OK || 8 + f.payload.length != data.length) {
                throw corrupt(snapshotPath, 0, f.status == FrameStatus.OK ? "trailing bytes after the snapshot" : f.status.describe);
            }
            Snapshot s;
            try {
                s = Json.MAPPER.readValue(f.payload, Snapshot.class);
            } catch (IOException e) {
                throw corrupt(snapshotPath, 8, "unreadable snapshot: " + e.getMessage());
            }
            generation = s.generation();
            for (Allocation a : s.allocations()) {
                state.put(a.id(), a);
            }
        }
        Path jp = journalPath(generation);
        if (Files.exists(jp)) {
            replay(jp);
            try {
                journal = FileChannel.open(jp, StandardOpenOption.WRITE, StandardOpenOption.APPEND);
            } catch (IOException e) {
                throw new RegistryStoreException("cannot open the journal " + jp + " for writing: " + e, e);
            }
        } else {
            try {
                journal = createJournal(generation);
            } catch (IOException e) {
                throw new RegistryStoreException("cannot create the journal " + jp + ": " + e, e);
            }
        }
        removeLeftovers();
        log.info("registry store {} opened: {} records (generation {}, {} journal records)", dir, state.size(), generation, journalRecords);
    }

    private void replay(Path jp) {
        byte[] data = readAll(jp);
        int pos = 0;
        boolean header = true;
        while (pos < data.length) {
            Frame f = readFrame(data, pos);
            if (f.status != FrameStatus.OK) {
                if (f.tornTail) {
                    log.warn("dropped a torn record at byte {} of {} ({} bytes): the process stopped while writing it, so it was never acknowledged",
                            pos, jp, data.length - pos);
                    truncate(jp, pos);
                    return;
                }
                throw corrupt(jp, pos, f.status.describe);
            }
            try {
                if (header) {
                    JournalHeader h = Json.MAPPER.readValue(f.payload, JournalHeader.class);
                    if (!"ports-registry-journal".equals(h.format()) || h.generation() != generation) {
                        throw corrupt(jp, pos, "journal header names " + h.format() + " generation " + h.generation() + ", expected generation " + generation);
                    }
                    header = false;
                } else {
                    JournalRecord r = Json.MAPPER.readValue(f.payload, JournalRecord.class);
                    apply(state, List.of(r.toChange()));
                    journalRecords++;
                }
            } catch (IOException | IllegalArgumentException e) {
                throw corrupt(jp, pos, "a record with a valid checksum could not be read: " + e.getMessage());
            }
            pos += 8 + f.payload.length;
        }
        if (header) { // an empty journal (crash right after creation): write the header again
            truncate(jp, 0);
            try (FileChannel ch = FileChannel.open(jp, StandardOpenOption.WRITE)) {
                writeHeader(ch, generation);
            } catch (IOException e) {
                throw new RegistryStoreException("cannot rewrite the empty journal " + jp + ": " + e, e);
            }
        }
    }

    private enum FrameStatus {
        OK(""), SHORT("the record is cut short"), BAD_LENGTH("the record length is impossible"), BAD_CHECKSUM("the checksum does not match");

        final String describe;

        FrameStatus(String describe) {
            this.describe = describe;
        }
    }

    private static final class Frame {
        final FrameStatus status;
        final byte[] payload;
        final boolean tornTail;

        Frame(FrameStatus status, byte[] payload, boolean tornTail) {
            this.status = status;
            this.payload = payload;
            this.tornTail = tornTail;
        }
    }

    /**
     * A bad frame is a torn tail when it reaches the end of the file (a write cut short) or when
     * everything from it to the end is zeros (space the file system allocated but never filled).
     */
    private static Frame readFrame(byte[] data, int pos) {
        int left = data.length - pos;
        if (left < 8) {
            return new Frame(FrameStatus.SHORT, null, true);
        }
        ByteBuffer b = ByteBuffer.wrap(data, pos, 8).order(ByteOrder.BIG_ENDIAN);
        int len = b.getInt();
        int crc = b.getInt();
        boolean zerosToEnd = allZero(data, pos);
        if (len <= 0 || len > MAX_FRAME) {
            return new Frame(FrameStatus.BAD_LENGTH, null, zerosToEnd);
        }
        if (8L + len > left) {
            return new Frame(FrameStatus.SHORT, null, true);
        }
        CRC32C c = new CRC32C();
        c.update(data, pos + 8, len);
        if ((int) c.getValue() != crc) {
            return new Frame(FrameStatus.BAD_CHECKSUM, null, 8L + len == left || zerosToEnd);
        }
        byte[] payload = new byte[len];
        System.arraycopy(data, pos + 8, payload, 0, len);
        return new Frame(FrameStatus.OK, payload, false);
    }

    private static boolean allZero(byte[] data, int from) {
        for (int i = from; i < data.length; i++) {
            if (data[i] != 0) {
                return false;
            }
        }
        return true;
    }

    static byte[] frame(byte[] payload) {
        CRC32C c = new CRC32C();
        c.update(payload, 0, payload.length);
        ByteBuffer b = ByteBuffer.allocate(8 + payload.length).order(ByteOrder.BIG_ENDIAN);
        b.putInt(payload.length).putInt((int) c.getValue()).put(payload);
        return b.array();
    }

    private RegistryStoreException corrupt(Path file, long position, String what) {
        return new RegistryStoreException("the registry file " + file + " is corrupt at byte " + position + ": " + what
                + ". It was left untouched. Restore the directory from a backup, or move the file away to start from the records before it");
    }

    private FileChannel createJournal(long gen) throws IOException {
        Path p = journalPath(gen);
        FileChannel ch = FileChannel.open(p, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING, StandardOpenOption.WRITE);
        writeHeader(ch, gen);
        syncDirectory();
        return ch;
    }

    private static void writeHeader(FileChannel ch, long gen) throws IOException {
        ByteBuffer b = ByteBuffer.wrap(frame(Json.MAPPER.writeValueAsBytes(new JournalHeader("ports-registry-journal", 1, gen))));
        while (b.hasRemaining()) {
            ch.write(b);
        }
        ch.force(true);
    }

    private Path journalPath(long gen) {
        return dir.resolve("journal-" + gen + ".log");
    }

    private void removeLeftovers() {
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir, "{journal-*.log,snapshot.dat.tmp}")) {
            for (Path p : ds) {
                if (!p.equals(journalPath(generation))) {
                    Files.deleteIfExists(p); // an older generation or an unfinished snapshot: superseded
                }
            }
        } catch (IOException e) {
            log.debug("cleaning old files of {}: {}", dir, e.toString());
        }
    }

    private void syncDirectory() {
        try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
            d.force(true);
        } catch (IOException e) {
            log.debug("fsync of directory {} not supported: {}", dir, e.toString());
        }
    }

    private static byte[] readAll(Path p) {
        try {
            return Files.readAllBytes(p);
        } catch (IOException e) {
            throw new RegistryStoreException("cannot read " + p + ": " + e, e);
        }
    }

    private static void truncate(Path p, long size) {
        try (FileChannel ch = FileChannel.open(p, StandardOpenOption.WRITE)) {
            ch.truncate(size);
            ch.force(true);
        } catch (IOException e) {
            throw new RegistryStoreException("cannot drop the torn end of " + p + ": " + e, e);
        }
    }

    // -------------------------------------------------------------------------------- lifecycle

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        queue.add(STOP);
        try {
            writer.join(10_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        closeQuietly(journal);
        releaseLock();
    }

    private void releaseLock() {
        try {
            lock.release();
        } catch (IOException ignored) {
            // the channel close below drops it anyway
        }
        closeQuietly(lockChannel);
    }

    private static void closeQuietly(FileChannel ch) {
        if (ch != null) {
            try {
                ch.close();
            } catch (IOException ignored) {
                // nothing left to do
            }
        }
    }

    @Override
    public String toString() {
        return "FileRegistryStore[" + dir + ", generation " + generation + "]";
    }

    // -------------------------------------------------------------------------------- formats

    record JournalHeader(@JsonProperty("format") String format, @JsonProperty("version") int version,
                         @JsonProperty("generation") long generation) {
    }

    @JsonInclude(JsonInclude.Include.NON_NULL)
    record JournalRecord(@JsonProperty("op") String op, @JsonProperty("allocation") Allocation allocation,
                         @JsonProperty("id") String id) {
        static JournalRecord of(Change c) {
            return c.isRemove() ? new JournalRecord("remove", null, c.removedId()) : new JournalRecord("put", c.put(), null);
        }

        Change toChange() {
            switch (op) {
                case "put": return Change.put(allocation);
                case "remove": return Change.remove(id);
                default: throw new IllegalArgumentException("unknown journal operation '" + op + "'");
            }
        }
    }

    record Snapshot(@JsonProperty("format") String format, @JsonProperty("version") int version,
                    @JsonProperty("generation") long generation, @JsonProperty("allocations") List<Allocation> allocations) {
    }
}
