package io.ports.core.internal;

import io.ports.core.PortRange;
import io.ports.core.Protocol;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * What Linux tells through {@code /proc} about ports, sockets, locks and processes. Every method
 * degrades to "unknown" (empty) where {@code /proc} is absent or unreadable, never to a guess.
 * Internal: the layout of these files is Linux's, not part of the ports API.
 */
public final class ProcFs {
    private static final Path PROC = Path.of("/proc");

    private ProcFs() {
    }

    /** A process by pid and the command it runs. */
    public record ProcessRef(long pid, String command) {
        @Override
        public String toString() {
            return "pid " + pid + (command.isEmpty() ? "" : " (" + command + ")");
        }
    }

    /** One socket bound to a port, as the kernel's tables list it. */
    public record SocketEntry(Protocol protocol, String localAddress, int port, String state, long inode,
                              Optional<ProcessRef> owner) {
        /** For example {@code "TCP 0.0.0.0:5432 LISTEN by pid 42 (postgres)"}. */
        public String describe() {
            return protocol + " " + localAddress + ":" + port + (state.isEmpty() ? "" : " " + state)
                    + owner.map(o -> " by " + o).orElse(" (owner not visible)");
        }
    }

    /** The inode of this process's network namespace, when {@code /proc/self/ns/net} tells it. */
    public static Optional<String> networkNamespaceId() {
        try {
            String link = Files.readSymbolicLink(PROC.resolve("self/ns/net")).toString(); // net:[4026531840]
            int a = link.indexOf('[');
            int b = link.indexOf(']');
            return a > 0 && b > a ? Optional.of(link.substring(a + 1, b)) : Optional.empty();
        } catch (IOException | UnsupportedOperationException | SecurityException e) {
            return Optional.empty();
        }
    }

    public static Optional<ProcessRef> process(long pid) {
        Path dir = PROC.resolve(Long.toString(pid));
        if (!Files.isDirectory(dir)) {
            return Optional.empty();
        }
        return Optional.of(new ProcessRef(pid, command(dir)));
    }

    private static String command(Path procDir) {
        try {
            return Files.readString(procDir.resolve("comm")).strip();
        } catch (IOException | SecurityException e) {
            return "";
        }
    }

    /** One POSIX lock of {@code /proc/locks}: bytes {@code start..end} (inclusive) held by a process. */
    private record LockRange(long start, long end, ProcessRef holder) {
    }

    /**
     * The process holding a POSIX write lock on byte {@code offset} of {@code file}, from
     * {@code /proc/locks}. Locks of this process are reported too.
     */
    public static Optional<ProcessRef> posixLockHolder(Path file, long offset) {
        return locks(file).flatMap(list -> list.stream().filter(l -> offset >= l.start() && offset <= l.end())
                .map(LockRange::holder).findFirst());
    }

    /**
     * Every byte of {@code file} under a POSIX lock of at most 65,536 bytes (port claims), with its
     * holder, in one read of {@code /proc/locks}; empty when the host does not tell.
     */
    public static Optional<Map<Long, ProcessRef>> posixLocks(Path file) {
        return locks(file).map(list -> {
            Map<Long, ProcessRef> out = new HashMap<>();
            for (LockRange l : list) {
                if (l.end() - l.start() <= 65_536) {
                    for (long b = l.start(); b <= l.end(); b++) {
                        out.put(b, l.holder());
                    }
                }
            }
            return out;
        });
    }

    private static Optional<List<LockRange>> locks(Path file) {
        long inode;
        List<String> lines;
        try {
            inode = ((Number) Files.getAttribute(file, "unix:ino")).longValue();
            lines = Files.readAllLines(PROC.resolve("locks"));
        } catch (IOException | UnsupportedOperationException | IllegalArgumentException | SecurityException e) {
            return Optional.empty();
        }
        // "1: POSIX  ADVISORY  WRITE 12345 00:2a:56789 20000 20000" ; waiters carry "->" and are skipped
        List<LockRange> out = new ArrayList<>();
        Map<Long, ProcessRef> processes = new HashMap<>();
        for (String line : lines) {
            if (line.contains("->")) {
                continue;
            }
            String[] f = line.trim().split("\\s+");
            if (f.length < 8 || !f[1].equals("POSIX") && !f[1].equals("OFDLCK")) {
                continue;
            }
            String[] dev = f[5].split(":");
            if (dev.length != 3 || !dev[2].equals(Long.toString(inode))) {
                continue;
            }
            try {
                long pid = Long.parseLong(f[4]);
                if (pid > 0) {
                    long start = Long.parseLong(f[6]);
                    long end = f[7].equals("EOF") ? Long.MAX_VALUE : Long.parseLong(f[7]);
                    out.add(new LockRange(start, end, processes.computeIfAbsent(pid, p -> process(p).orElse(new ProcessRef(p, "")))));
                }
            } catch (NumberFormatException ignored) {
                // a line of a format we do not know: skip it
            }
        }
        return Optional.of(out);
    }

    /** The kernel's ephemeral port range ({@code net.ipv4.ip_local_port_range}), when readable. */
    public static Optional<PortRange> ephemeralRange() {
        try {
            String[] f = Files.readString(PROC.resolve("sys/net/ipv4/ip_local_port_range")).trim().split("\\s+");
            return Optional.of(PortRange.of(Integer.parseInt(f[0]), Integer.parseInt(f[1])));
        } catch (IOException | RuntimeException e) {
            return Optional.empty();
        }
    }

    /**
     * Ports the administrator reserved ({@code net.ipv4.ip_local_reserved_ports}, for example
     * {@code "8080,9000-9010"}); ports {@code bind(0)} never returns and an allocator should not hand out.
     */
    public static BitSet reservedPorts() {
        BitSet set = new BitSet(65536);
        try {
            String s = Files.readString(PROC.resolve("sys/net/ipv4/ip_local_reserved_ports")).trim();
            if (!s.isEmpty()) {
                for (String part : s.split(",")) {
                    PortRange r = PortRange.parse(part);
                    set.set(r.start(), r.end() + 1);
                }
            }
        } catch (IOException | RuntimeException e) {
            // not Linux, or not readable: nothing reserved that we know of
        }
        return set;
    }

    /**
     * Every socket bound in this network namespace, from {@code /proc/net/{tcp,tcp6,udp,udp6}}, by
     * local port. Expensive (the kernel walks its hash tables; milliseconds): for diagnostics and
     * scans, never for the allocation path.
     */
    public static Map<Integer, List<SocketEntry>> socketsByPort(boolean withOwners) {
        Map<Integer, List<SocketEntry>> byPort = new HashMap<>();
        Map<Long, SocketEntry> byInode = new HashMap<>();
        readTable("tcp", Protocol.TCP, false, byPort, byInode);
        readTable("tcp6", Protocol.TCP, true, byPort, byInode);
        readTable("udp", Protocol.UDP, false, byPort, byInode);
        readTable("udp6", Protocol.UDP, true, byPort, byInode);
        if (withOwners && !byInode.isEmpty()) {
            Map<Long, ProcessRef> owners = socketOwners(byInode);
            if (!owners.isEmpty()) {
                for (List<SocketEntry> list : byPort.values()) {
                    list.replaceAll(e -> owners.containsKey(e.inode())
                            ? new SocketEntry(e.protocol(), e.localAddress(), e.port(), e.state(), e.inode(), Optional.of(owners.get(e.inode())))
                            : e);
                }
            }
        }
        return byPort;
    }

    private static final String[] TCP_STATES = {"", "ESTABLISHED", "SYN_SENT", "SYN_RECV", "FIN_WAIT1", "FIN_WAIT2",
        "TIME_WAIT", "CLOSE", "CLOSE_WAIT", "LAST_ACK", "LISTEN", "CLOSING", "NEW_SYN_RECV"};

    private static void readTable(String name, Protocol protocol, boolean v6, Map<Integer, List<SocketEntry>> byPort,
                                  Map<Long, SocketEntry> byInode) {
        List<String> lines;
        try {
            lines = Files.readAllLines(PROC.resolve("net").resolve(name));
        } catch (IOException | SecurityException e) {
            return;
        }
        //   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
        //    0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 12345 ...
        for (int i = 1; i < lines.size(); i++) {
            String[] f = lines.get(i).trim().split("\\s+");
            if (f.length < 10) {
                continue;
            }
            int colon = f[1].indexOf(':');
            if (colon < 0) {
                continue;
            }
            try {
                int port = Integer.parseInt(f[1].substring(colon + 1), 16);
                String addr = decodeAddress(f[1].substring(0, colon), v6);
                int st = Integer.parseInt(f[3], 16);
                String state = protocol == Protocol.TCP ? (st < TCP_STATES.length ? TCP_STATES[st] : Integer.toString(st))
                        : (st == 1 ? "CONNECTED" : "BOUND");
                long inode = Long.parseLong(f[9]);
                SocketEntry e = new SocketEntry(protocol, addr, port, state, inode, Optional.empty());
                byPort.computeIfAbsent(port, k -> new ArrayList<>()).add(e);
                if (inode != 0) {
                    byInode.put(inode, e);
                }
            } catch (RuntimeException ignored) {
                // a malformed line: skip
            }
        }
    }

    /** Kernel hex, in host (little-endian) byte order per 32-bit word. */
    static String decodeAddress(String hex, boolean v6) {
        if (!v6) {
            long v = Long.parseLong(hex, 16);
            return (v & 0xff) + "." + ((v >> 8) & 0xff) + "." + ((v >> 16) & 0xff) + "." + ((v >> 24) & 0xff);
        }
        byte[] b = new byte[16];
        for (int w = 0; w < 4; w++) {
            long v = Long.parseLong(hex.substring(w * 8, w * 8 + 8), 16);
            for (int k = 0; k < 4; k++) {
                b[w * 4 + k] = (byte) (v >> (8 * k));
            }
        }
        try {
            return "[" + io.netty.util.NetUtil.toAddressString(java.net.InetAddress.getByAddress(b)) + "]";
        } catch (java.net.UnknownHostException e) {
            return hex;
        }
    }

    /** Walks {@code /proc/<pid>/fd} once, mapping socket inodes to their processes. */
    private static Map<Long, ProcessRef> socketOwners(Map<Long, SocketEntry> wanted) {
        Map<Long, ProcessRef> owners = new HashMap<>();
        try (DirectoryStream<Path> procs = Files.newDirectoryStream(PROC, p -> p.getFileName().toString().chars().allMatch(Character::isDigit))) {
            for (Path proc : procs) {
                long pid = Long.parseLong(proc.getFileName().toString());
                try (DirectoryStream<Path> fds = Files.newDirectoryStream(proc.resolve("fd"))) {
                    ProcessRef ref = null;
                    for (Path fd : fds) {
                        String target;
                        try {
                            target = Files.readSymbolicLink(fd).toString();
                        } catch (IOException e) {
                            continue;
                        }
                        if (target.startsWith("socket:[")) {
                            long inode = Long.parseLong(target.substring(8, target.length() - 1));
                            if (wanted.containsKey(inode) && !owners.containsKey(inode)) {
                                if (ref == null) {
                                    ref = new ProcessRef(pid, command(proc));
                                }
                                owners.put(inode, ref);
                            }
                        }
                    }
                } catch (IOException | SecurityException | NumberFormatException e) {
                    // the process went away, or we may not look: its sockets stay without owner
                }
            }
        } catch (IOException | SecurityException e) {
            // no /proc
        }
        return owners;
    }

    /** Whether a process with this pid exists (it may be a zombie). */
    public static boolean isAlive(long pid) {
        return ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false);
    }

    /** A {@link BitSet} of local ports with any socket, from the kernel tables; see {@link #socketsByPort}. */
    public static BitSet boundPorts() {
        BitSet set = new BitSet(65536);
        socketsByPort(false).keySet().forEach(set::set);
        return set;
    }
}
