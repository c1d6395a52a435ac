package io.ports.bench.registry;

import io.ports.core.registry.Allocation;
import io.ports.core.registry.RegistryStore;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Collection;
import java.util.List;

/**
 * Baseline: the obvious durable store, one append and one {@code fdatasync} per write, under a lock.
 * Same durability as {@link io.ports.core.registry.FileRegistryStore}, without group commit.
 */
final class SyncEachWriteStore implements RegistryStore {
    private final FileChannel ch;

    SyncEachWriteStore(Path file) throws IOException {
        ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.APPEND);
    }

    @Override
    public Collection<Allocation> load() {
        return List.of();
    }

    @Override
    public synchronized void write(List<Change> changes) {
        try {
            for (Change c : changes) {
                String line = (c.isRemove() ? "remove " + c.removedId() : "put " + c.put()) + "\n";
                ByteBuffer b = ByteBuffer.wrap(line.getBytes(StandardCharsets.UTF_8));
                while (b.hasRemaining()) {
                    ch.write(b);
                }
            }
            ch.force(false);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    public String describe() {
        return "sync-each-write baseline";
    }

    @Override
    public void close() {
        try {
            ch.close();
        } catch (IOException ignored) {
            // benchmark teardown
        }
    }
}
