package io.ports.core;

import io.ports.core.internal.ProcFs;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;

/**
 * Host-wide port claims shared by every process that uses {@code ports} with the same lock
 * directory: a claim is an exclusive byte-range lock on the byte at offset {@code port} of one lock
 * file, as Terracotta's {@code PortManager} does.
 *
 * <p>The kernel drops a process's locks when it exits, {@code kill -9} included, so a crashed holder
 * leaves nothing stale behind and its ports are claimable again at once. A claim costs one
 * {@code fcntl} call; the file is opened once per JVM and shared by every handle on it (closing any
 * descriptor of a file drops all of the process's POSIX locks on it, so there must be only one).
 *
 * <p>The lock file is named after the network namespace ({@code ports-net-<inode>.lock}): port
 * numbers are per namespace, so processes in different namespaces sharing a directory do not exclude
 * each other needlessly, while every process of one namespace that shares the directory does.
 *
 * <p>Inside one JVM, a port claimed through any handle cannot be claimed again through another (the
 * JDK reports the overlap), so two allocators in one process also never collide.
 */
public final class HostReservations implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(HostReservations.class);

    /** Environment variable naming the lock directory. */
    public static final String LOCK_DIR_ENV = "PORTS_LOCK_DIR";
    /** System property naming the lock directory; wins over the environment. */
    public static final String LOCK_DIR_PROPERTY = "ports.lock.dir";

    private static final Map<Path, SharedFile> OPEN = new HashMap<>();

    private final SharedFile file;
    private volatile boolean closed;

    private HostReservations(SharedFile file) {
        this.file = file;
    }

    /** Opens (creating if needed) the lock file of this network namespace in the default directory. */
    public static HostReservations openDefault() {
        return open(defaultDirectory());
    }

    /**
     * Opens (creating if needed) the lock file of this network namespace in {@code directory}.
     *
     * @throws PortsException when the directory or file cannot be created or opened for writing
     */
    public static HostReservations open(Path directory) {
        Path dir = directory.toAbsolutePath().normalize();
        Path lockFile = dir.resolve(lockFileName());
        synchronized (OPEN) {
            SharedFile f = OPEN.get(lockFile);
            if (f == null) {
                f = SharedFile.open(dir, lockFile);
                OPEN.put(lockFile, f);
            }
            f.refs++;
            return new HostReservations(f);
        }
    }

    /**
     * The default lock directory: the {@value #LOCK_DIR_PROPERTY} system property, else the
     * {@value #LOCK_DIR_ENV} environment variable, else {@code /tmp/ports-locks} (fixed rather than
     * {@code java.io.tmpdir}, which build tools change per test JVM).
     */
    public static Path defaultDirectory() {
        String p = System.getProperty(LOCK_DIR_PROPERTY);
        if (p == null || p.isBlank()) {
            p = System.getenv(LOCK_DIR_ENV);
        }
        if (p == null || p.isBlank()) {
            p = Files.isDirectory(Path.of("/tmp")) ? "/tmp/ports-locks" : System.getProperty("java.io.tmpdir") + "/ports-locks";
        }
        return Path.of(p);
    }

    private static String lockFileName() {
        return ProcFs.networkNamespaceId().map(id -> "ports-net-" + id + ".lock").orElse("ports.lock");
    }

    public Path lockFile() {
        return file.path;
    }

    /**
     * Claims {@code port} for this process, without waiting.
     *
     * @return the claim, or null when another process or another part of this JVM holds it
     */
    public HostClaim tryClaim(int port) {
        Ports.check(port, "port");
        ensureOpen();
        FileLock lock;
        try {
            lock = file.channel.tryLock(port, 1, false);
        } catch (OverlappingFileLockException e) {
            return null; // claimed through another handle of this JVM
        } catch (IOException e) {
            throw new PortsException("could not lock port " + port + " in " + file.path + ": " + e.getMessage()
                    + ". Check that the lock directory is writable and on a local file system, or choose another with -D"
                    + LOCK_DIR_PROPERTY + " or " + LOCK_DIR_ENV, e);
        }
        return lock == null ? null : new HostClaim(port, lock);
    }

    /** True when some process (this one included) claims the port at this moment. */
    public boolean isClaimed(int port) {
        HostClaim c = tryClaim(port);
        if (c == null) {
            return true;
        }
        c.close();
        return false;
    }

    /**
     * The process that claims the port, where Linux tells ({@code /proc/locks}); empty when the port
     * is not claimed, claimed by this process, or the host does not say.
     */
    public Optional<ProcFs.ProcessRef> claimHolder(int port) {
        return ProcFs.posixLockHolder(file.path, port);
    }

    /**
     * Every port claimed at this moment (by any process, this one included) with its holder, from one
     * read of {@code /proc/locks}: for scans, which must not claim ports themselves to look. Empty
     * when the host does not tell; use {@link #isClaimed(int)} then.
     */
    public Optional<Map<Integer, ProcFs.ProcessRef>> claims() {
        return ProcFs.posixLocks(file.path).map(locks -> {
            Map<Integer, ProcFs.ProcessRef> out = new HashMap<>();
            locks.forEach((offset, ref) -> {
                if (offset >= PortRange.MIN_PORT && offset <= PortRange.MAX_PORT) {
                    out.put(offset.intValue(), ref);
                }
            });
            return out;
        });
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        synchronized (OPEN) {
            if (--file.refs == 0) {
                OPEN.remove(file.path);
                try {
                    file.channel.close();
                } catch (IOException e) {
                    log.warn("closing lock file {} failed: {}", file.path, e.toString());
                }
            }
        }
    }

    private void ensureOpen() {
        if (closed) {
            throw new IllegalStateException("HostReservations for " + file.path + " is closed");
        }
    }

    @Override
    public String toString() {
        return "HostReservations[" + file.path + "]";
    }

    private static final class SharedFile {
        final Path path;
        final FileChannel channel;
        int refs;

        private SharedFile(Path path, FileChannel channel) {
            this.path = path;
            this.channel = channel;
        }

        static SharedFile open(Path dir, Path lockFile) {
            try {
                if (!Files.isDirectory(dir)) {
                    Files.createDirectories(dir);
                    trySetMode(dir, "rwxrwxrwx"); // shared by every user of the host
                }
                boolean created = !Files.exists(lockFile);
                FileChannel ch = FileChannel.open(lockFile, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE);
                if (created) {
                    trySetMode(lockFile, "rw-rw-rw-");
                }
                return new SharedFile(lockFile, ch);
            } catch (IOException | UncheckedIOException | SecurityException e) {
                throw new PortsException("cannot open the host-wide lock file " + lockFile + ": " + e
                        + ". Make the directory writable for every process that allocates ports, or choose another with -D"
                        + LOCK_DIR_PROPERTY + "=DIR or " + LOCK_DIR_ENV + "=DIR", e);
            }
        }

        private static void trySetMode(Path p, String mode) {
            try {
                Files.setPosixFilePermissions(p, PosixFilePermissions.fromString(mode));
            } catch (IOException | UnsupportedOperationException e) {
                log.debug("could not set mode {} on {}: {}", mode, p, e.toString());
            }
        }
    }
}
