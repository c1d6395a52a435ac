package io.ports.core;

import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.channels.FileLock;
import java.util.concurrent.atomic.AtomicBoolean;

/** One port claimed host-wide by this process. Closing it (once; later calls do nothing) lets others claim it. */
public final class HostClaim implements AutoCloseable {
    private final int port;
    private final FileLock lock;
    private final AtomicBoolean released = new AtomicBoolean();

    HostClaim(int port, FileLock lock) {
        this.port = port;
        this.lock = lock;
    }

    public int port() {
        return port;
    }

    public boolean isReleased() {
        return released.get();
    }

    @Override
    public void close() {
        if (released.compareAndSet(false, true)) {
            try {
                lock.release();
            } catch (IOException e) {
                // the channel was closed under us; the kernel dropped the lock with it
                LoggerFactory.getLogger(HostClaim.class).debug("releasing claim on port {}: {}", port, e.toString());
            }
        }
    }

    @Override
    public String toString() {
        return "HostClaim[" + port + (released.get() ? ", released]" : "]");
    }
}
