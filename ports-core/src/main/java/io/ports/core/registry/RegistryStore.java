package io.ports.core.registry;

import java.util.Collection;
import java.util.List;

/**
 * Where a {@link Registry} keeps its records. The registry keeps the live view in memory and hands
 * the store every change; a store makes each batch durable before {@link #write} returns.
 *
 * <p>Implementations: {@link InMemoryStore} (nothing survives the process), {@link FileRegistryStore}
 * (the embedded default: a journal with group commit and snapshots), and the etcd store of ports-etcd.
 */
public interface RegistryStore extends AutoCloseable {

    /** One change: a record written (new or replaced), or a record removed. */
    record Change(Allocation put, String removedId) {
        public static Change put(Allocation a) {
            return new Change(a, null);
        }

        public static Change remove(String id) {
            return new Change(null, id);
        }

        public boolean isRemove() {
            return put == null;
        }

        public String id() {
            return put != null ? put.id() : removedId;
        }
    }

    /** Every record the store holds, read once when the registry opens. */
    Collection<Allocation> load();

    /**
     * Makes the changes durable, in order, then returns. Safe to call from many threads at once;
     * a store may merge concurrent calls into one durable write (group commit).
     *
     * @throws RegistryStoreException when they could not be made durable; none of them is acknowledged then
     */
    void write(List<Change> changes);

    /** A short description for logs and errors, for example the directory. */
    String describe();

    @Override
    void close();
}
