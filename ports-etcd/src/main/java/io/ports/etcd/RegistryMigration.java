package io.ports.etcd;

import io.ports.core.Protocol;
import io.ports.core.registry.Allocation;
import io.ports.core.registry.FileRegistryStore;
import io.ports.core.registry.PortConflictException;
import io.ports.core.registry.RegistryStore;

import java.nio.file.Path;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * Moves a registry between stores: the file store into etcd when a cluster outgrows one host, and
 * back. Stop the daemons using either store first (the file store refuses a second opener anyway).
 *
 * <p>A copy is all or nothing: when the target already has one of the records' ids, or a live record
 * on the host, port and protocol of a live record copied, it fails naming both and writes nothing. The
 * source is left as it was. Live records copied into etcd get a lease of their heartbeat timeout from
 * the moment of the copy: start the daemon on etcd, and let the holders heart-beat, within it.
 */
public final class RegistryMigration {
    private RegistryMigration() {
    }

    /**
     * What a migration did.
     *
     * @param records how many records were copied
     * @param live    how many of them were live (RESERVED or ACTIVE)
     * @param from    the source store
     * @param to      the target store
     */
    public record Result(int records, int live, String from, String to) {
    }

    /** Copies the file store in {@code fileStore} into etcd. */
    public static Result fileToEtcd(Path fileStore, EtcdStoreConfig etcd) {
        Objects.requireNonNull(fileStore, "file store directory");
        Objects.requireNonNull(etcd, "etcd configuration");
        try (FileRegistryStore from = FileRegistryStore.open(fileStore); EtcdRegistryStore to = EtcdRegistryStore.open(etcd)) {
            return copy(from, to);
        }
    }

    /** Copies the records of etcd (under the configuration's prefix) into the file store in {@code fileStore}. */
    public static Result etcdToFile(EtcdStoreConfig etcd, Path fileStore) {
        Objects.requireNonNull(etcd, "etcd configuration");
        Objects.requireNonNull(fileStore, "file store directory");
        try (EtcdRegistryStore from = EtcdRegistryStore.open(etcd); FileRegistryStore to = FileRegistryStore.open(fileStore)) {
            return copy(from, to);
        }
    }

    /**
     * Copies every record of {@code from} into {@code to}; neither store is closed.
     *
     * @throws IllegalArgumentException when the target has one of the ids already (nothing is written)
     * @throws PortConflictException    when the target has a live record on a copied live record's port (nothing is written)
     */
    public static Result copy(RegistryStore from, RegistryStore to) {
        Collection<Allocation> records = from.load();
        Map<String, Allocation> existing = new HashMap<>();
        Map<String, Allocation> livePorts = new HashMap<>();
        for (Allocation a : to.load()) {
            existing.put(a.id(), a);
            if (a.status().isLive()) {
                livePorts.put(portKey(a.host(), a.protocol(), a.port()), a);
            }
        }
        Set<String> seen = new HashSet<>();
        int live = 0;
        for (Allocation a : records) {
            if (existing.containsKey(a.id()) || !seen.add(a.id())) {
                throw new IllegalArgumentException("allocation " + a.id() + " (" + a.serviceName() + ") of " + from.describe() + " is in "
                        + to.describe() + " already; nothing was copied. Migrate into an empty store (or another etcd prefix)");
            }
            if (a.status().isLive()) {
                live++;
                Allocation holder = livePorts.putIfAbsent(portKey(a.host(), a.protocol(), a.port()), a);
                if (holder != null) {
                    throw new PortConflictException(a.port(), "the live record " + a.id() + " (" + a.serviceName() + ") of " + from.describe()
                            + " is on " + a.protocol() + " port " + a.port() + " of host " + a.host() + ", which the live record " + holder.id()
                            + " (" + holder.serviceName() + ") holds in " + to.describe() + "; nothing was copied");
                }
            }
        }
        to.write(records.stream().map(RegistryStore.Change::put).toList());
        return new Result(records.size(), live, from.describe(), to.describe());
    }

    private static String portKey(String host, Protocol protocol, int port) {
        return host + "/" + protocol + "/" + port;
    }
}
