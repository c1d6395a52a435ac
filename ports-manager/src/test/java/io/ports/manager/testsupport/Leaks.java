package io.ports.manager.testsupport;

import io.ports.manager.PortManager;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/**
 * What a process holds that {@link PortManager#close()} must give back: its threads (by name), its
 * open sockets ({@code /proc/self/fd} links to {@code socket:[...]}) and its file locks
 * ({@code /proc/locks} lines with this pid: the JVM's own flock of its hsperfdata file, and every
 * record lock of the host-wide port reservations). Compare a snapshot taken before the manager was made
 * with one taken after it closed.
 */
public record Leaks(List<String> threads, List<String> sockets, List<String> locks) {
    /** Thread names that belong to ports or to Netty, which a closed manager must not leave. */
    static final List<String> OURS = List.of("ports-", "globalEventExecutor", "ports-nat-upnp", "ports-registry");

    static {
        // the JDK's NIO keeps one Unix socket pair for the JVM's life (FileDispatcherImpl's pre-close
        // descriptor), made on the first NIO use: make it now, so that no snapshot counts it as ours
        try {
            java.nio.channels.SocketChannel.open().close();
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    public static Leaks now() throws IOException {
        List<String> threads = Thread.getAllStackTraces().keySet().stream().filter(Thread::isAlive).map(Thread::getName).sorted().toList();
        List<String> sockets = new ArrayList<>();
        try (Stream<Path> fds = Files.list(Path.of("/proc/self/fd"))) {
            for (Path fd : (Iterable<Path>) fds::iterator) {
                try {
                    String link = Files.readSymbolicLink(fd).toString();
                    if (link.startsWith("socket:[")) {
                        sockets.add(link.substring(8, link.length() - 1)); // the inode
                    }
                } catch (IOException gone) {
                    // closed while listing (the listing's own descriptor)
                }
            }
        }
        String pid = Long.toString(ProcessHandle.current().pid());
        List<String> locks = new ArrayList<>();
        for (String line : Files.readAllLines(Path.of("/proc/locks"))) {
            String[] f = line.trim().split("\\s+");
            if (f.length > 4 && f[4].equals(pid)) {
                locks.add(line.trim().substring(line.trim().indexOf(' ') + 1).trim()); // without the ordinal, which shifts
            }
        }
        return new Leaks(threads, sockets, locks);
    }

    /** Each socket inode with its /proc/net line (protocol, local and remote address in hex, state), where one names it. */
    static List<String> describe(List<String> inodes) {
        List<String> out = new ArrayList<>();
        for (String inode : inodes) {
            String found = "inode " + inode;
            for (String table : List.of("tcp", "tcp6", "udp", "udp6", "unix", "netlink")) {
                try {
                    for (String line : Files.readAllLines(Path.of("/proc/net", table))) {
                        if ((" " + line.trim() + " ").contains(" " + inode + " ")) {
                            found = table + ": " + line.trim().replaceAll("\\s+", " ");
                        }
                    }
                } catch (IOException ignored) {
                    // table absent
                }
            }
            out.add(found);
        }
        return out;
    }

    /** Threads of ports or Netty alive now. */
    public List<String> ourThreads() {
        return threads.stream().filter(n -> OURS.stream().anyMatch(n::startsWith)).toList();
    }

    /** What this snapshot holds beyond {@code before}, as one line; empty when nothing. */
    public String beyond(Leaks before) {
        List<String> out = new ArrayList<>();
        if (!ourThreads().isEmpty()) {
            out.add("threads " + ourThreads());
        }
        List<String> newSockets = new ArrayList<>(sockets);
        newSockets.removeAll(before.sockets);
        if (!newSockets.isEmpty()) {
            out.add(newSockets.size() + " more sockets " + describe(newSockets));
        }
        List<String> more = new ArrayList<>(locks);
        more.removeAll(before.locks);
        if (!more.isEmpty()) {
            out.add("locks " + more);
        }
        return String.join("; ", out);
    }
}
