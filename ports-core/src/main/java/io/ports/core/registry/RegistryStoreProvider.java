package io.ports.core.registry;

/**
 * Opens registry stores of one URI scheme; found with {@link java.util.ServiceLoader}, so a daemon or a
 * node selects a store by URI ({@link RegistryStores#open}) without depending on the module that has it
 * (ports-etcd provides {@code etcd://}).
 */
public interface RegistryStoreProvider {

    /** The URI scheme this provider opens, lower case, for example {@code etcd}. */
    String scheme();

    /**
     * Opens the store the URI names.
     *
     * @throws IllegalArgumentException when the URI is not valid for this scheme (the message names the part and the valid form)
     * @throws RegistryStoreException   when the store cannot be opened
     */
    RegistryStore open(String uri);
}
