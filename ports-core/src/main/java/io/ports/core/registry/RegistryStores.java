package io.ports.core.registry;

import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;
import java.util.ServiceLoader;
import java.util.TreeMap;

/**
 * Opens a registry store from a URI, as {@code ports serve --store} and the {@code registry.store} key
 * give it: {@code memory:} ({@link InMemoryStore}), {@code file:DIR} or a plain directory path
 * ({@link FileRegistryStore}), or the scheme of any {@link RegistryStoreProvider} on the class path
 * (ports-etcd: {@code etcd://HOST:PORT,HOST:PORT/PREFIX?...}).
 */
public final class RegistryStores {
    private RegistryStores() {
    }

    /**
     * Opens the store.
     *
     * @throws IllegalArgumentException for a blank URI, an unknown scheme (naming the known ones), or a URI its provider rejects
     * @throws RegistryStoreException   when the store cannot be opened
     */
    public static RegistryStore open(String uri) {
        if (uri == null || uri.isBlank()) {
            throw new IllegalArgumentException("no registry store given: expected memory:, file:DIRECTORY, a directory path, or "
                    + String.join(", ", providers().keySet().stream().map(s -> s + "://...").toList()));
        }
        String u = uri.strip();
        int colon = u.indexOf(':');
        String scheme = colon > 1 && u.substring(0, colon).matches("[A-Za-z][A-Za-z0-9+.-]*") ? u.substring(0, colon).toLowerCase(Locale.ROOT) : null;
        if (scheme == null) {
            return FileRegistryStore.open(Path.of(u));
        }
        switch (scheme) {
            case "memory":
                return new InMemoryStore();
            case "file":
                String path = u.substring(colon + 1);
                if (path.startsWith("//")) {
                    path = path.substring(2);
                }
                if (path.isEmpty()) {
                    throw new IllegalArgumentException("registry store '" + u + "' names no directory: expected file:DIRECTORY");
                }
                return FileRegistryStore.open(Path.of(path));
            default:
                RegistryStoreProvider p = providers().get(scheme);
                if (p == null) {
                    throw new IllegalArgumentException("registry store '" + u + "' has the unknown scheme '" + scheme + "': known are memory:, file:"
                            + providers().keySet().stream().map(s -> ", " + s + "://").reduce("", String::concat)
                            + (scheme.equals("etcd") ? " (etcd:// needs the ports-etcd module on the class path)" : ""));
                }
                return p.open(u);
        }
    }

    /** The store providers on the class path, by scheme. */
    public static Map<String, RegistryStoreProvider> providers() {
        Map<String, RegistryStoreProvider> out = new TreeMap<>();
        for (RegistryStoreProvider p : ServiceLoader.load(RegistryStoreProvider.class, RegistryStores.class.getClassLoader())) {
            out.putIfAbsent(p.scheme().toLowerCase(Locale.ROOT), p);
        }
        return out;
    }
}
