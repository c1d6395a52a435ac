package io.ports.core.registry;

import java.time.Instant;
import java.util.Collection;
import java.util.List;
import java.util.Optional;

/**
 * Where a {@link Registry} keeps its records. The registry keeps the live view in memory and hands
 * the store every change; a store makes each batch durable before {@link #write} returns.
 *
 * <p>Implementations: {@link InMemoryStore} (nothing survives the process), {@link FileRegistryStore}
 * (the embedded default: a journal with group commit and snapshots), and the etcd store of ports-etcd.
 *
 * <h2>Shared stores</h2>
 * A store that several registries use at once (several daemons, maybe on several hosts) says so with
 * {@link #shared()}. It then also: tells the registry of changes the others make ({@link #subscribe});
 * refuses, with {@link PortConflictException}, a new live record whose host, port and protocol another
 * live record already holds ({@link #write}); may keep records alive itself ({@link #heartbeat}) and
 * end them itself ({@link #expiresRecords()}); and says when its view may be out of date
 * ({@link #staleSince()}). The defaults are those of a store only one registry uses.
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
     * @throws PortConflictException  (shared stores) when a new live record's host, port and protocol are
     *                                held by another live record in the store; nothing is written then
     */
    void write(List<Change> changes);

    /** What the registry hears from a shared store: changes that other registries made. */
    @FunctionalInterface
    interface Listener {
        /**
         * A record written by someone else ({@link Change#put}), or a record gone from the store
         * ({@link Change#remove}): purged by someone else, or, for a live record, ended by the store
         * itself (its lease ran out). Called on one thread, in the store's order.
         */
        void changed(Change change);
    }

    /**
     * Whether other registries use this store at the same time (then it may hold other hosts' records,
     * and its records change under the registry). Default false.
     */
    default boolean shared() {
        return false;
    }

    /**
     * Registers the registry's listener for other registries' changes, once, after {@link #load}. Changes
     * this store's own {@link #write} made are not reported. Default: nothing to report.
     */
    default void subscribe(Listener listener) {
        // a store used by one registry only: every change is the registry's own
    }

    /**
     * A heartbeat of a live record, for stores that keep records alive themselves (an etcd lease
     * keep-alive). Default: nothing to do (heartbeats are kept in the registry's memory).
     *
     * @return false when the store has already ended the record (its lease ran out): allocate again
     * @throws RegistryStoreException when the store cannot be reached; the heartbeat did not count
     */
    default boolean heartbeat(Allocation record) {
        return true;
    }

    /**
     * Whether the store ends records that miss their heartbeat timeout itself (and reports it through
     * {@link #subscribe}); the registry then does not expire them by its own clock. Default false.
     */
    default boolean expiresRecords() {
        return false;
    }

    /**
     * Since when the store's view may be out of date (a shared store that cannot reach its servers:
     * reads are served from the last known view, writes fail), or empty while it is current. Default
     * empty: a store in this process's hands is never stale.
     */
    default Optional<Instant> staleSince() {
        return Optional.empty();
    }

    /** Whether {@link #staleSince()} is set. */
    default boolean isStale() {
        return staleSince().isPresent();
    }

    /** A short description for logs and errors, for example the directory. */
    String describe();

    @Override
    void close();
}
