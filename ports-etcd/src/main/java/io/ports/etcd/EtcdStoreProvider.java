package io.ports.etcd;

import io.ports.core.registry.RegistryStore;
import io.ports.core.registry.RegistryStoreProvider;

/** {@code etcd://} for {@link io.ports.core.registry.RegistryStores#open}: an {@link EtcdRegistryStore}. */
public final class EtcdStoreProvider implements RegistryStoreProvider {

    @Override
    public String scheme() {
        return "etcd";
    }

    @Override
    public RegistryStore open(String uri) {
        return EtcdRegistryStore.open(EtcdStoreConfig.parse(uri));
    }
}
