package io.ports.core.registry;

import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/** Keeps records in memory only: for tests and for registries that need not survive their process. */
public final class InMemoryStore implements RegistryStore {
    private final Map<String, Allocation> records = new ConcurrentHashMap<>();

    @Override
    public Collection<Allocation> load() {
        return List.copyOf(records.values());
    }

    @Override
    public synchronized void write(List<Change> changes) {
        for (Change c : changes) {
            if (c.isRemove()) {
                records.remove(c.removedId());
            } else {
                records.put(c.put().id(), c.put());
            }
        }
    }

    @Override
    public String describe() {
        return "in-memory store";
    }

    @Override
    public void close() {
        // nothing to release
    }
}
