package io.ports.bench.tunnel;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadInfo;
import java.lang.management.ThreadMXBean;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * CPU time spent by each part of a path over a trial, which, unlike the wall-clock scores, does not
 * depend on what else the machine runs: this JVM's threads grouped by name (the tunnel client's and
 * server's event loops, the echo target's, the benchmark thread, everything else) from
 * {@link ThreadMXBean}, and websockify's processes from {@code /proc} (the server, its live children,
 * and the children it has reaped). Only threads alive at both snapshots count; the event loops live
 * for the whole trial.
 */
final class CpuMeter {
    static final String[] GROUPS = {"tunnel-client", "tunnel-server", "echo", "benchmark", "jvm-other", "websockify"};
    private static final long TICK_NANOS = 1_000_000_000L / 100; // USER_HZ, 100 on Linux

    private final ThreadMXBean threads = ManagementFactory.getThreadMXBean();
    private final long websockifyPid;
    private final Map<Long, Long> threadStart = new LinkedHashMap<>();
    private long websockifyStart;

    /** @param websockifyPid websockify's pid, or -1 */
    CpuMeter(long websockifyPid) {
        this.websockifyPid = websockifyPid;
        if (threads.isThreadCpuTimeSupported() && !threads.isThreadCpuTimeEnabled()) {
            threads.setThreadCpuTimeEnabled(true);
        }
    }

    /** Takes the first snapshot. */
    void start() {
        threadStart.clear();
        for (long id : threads.getAllThreadIds()) {
            threadStart.put(id, threads.getThreadCpuTime(id));
        }
        websockifyStart = websockifyPid > 0 ? websockifyNanos(websockifyPid) : 0;
    }

    /** CPU nanoseconds per group since {@link #start}. */
    Map<String, Long> since() {
        Map<String, Long> out = new LinkedHashMap<>();
        for (String g : GROUPS) {
            out.put(g, 0L);
        }
        for (Map.Entry<Long, Long> e : threadStart.entrySet()) {
            long now = threads.getThreadCpuTime(e.getKey());
            if (now < 0 || e.getValue() < 0) {
                continue; // ended, or not measurable
            }
            ThreadInfo info = threads.getThreadInfo(e.getKey());
            if (info == null) {
                continue;
            }
            out.merge(group(info.getThreadName()), now - e.getValue(), Long::sum);
        }
        if (websockifyPid > 0) {
            out.put("websockify", websockifyNanos(websockifyPid) - websockifyStart);
        }
        return out;
    }

    private static String group(String thread) {
        for (String g : new String[] {"tunnel-client-", "tunnel-server-", "echo-"}) {
            if (thread.startsWith(g)) {
                return g.substring(0, g.length() - 1);
            }
        }
        return thread.contains("jmh-worker") ? "benchmark" : "jvm-other";
    }

    /** utime + stime + cutime + cstime of {@code pid}, plus utime + stime of its live descendants. */
    static long websockifyNanos(long pid) {
        long ticks = stat(pid, true);
        ticks += ProcessHandle.of(pid).stream().flatMap(ProcessHandle::descendants).mapToLong(h -> stat(h.pid(), false)).sum();
        return ticks * TICK_NANOS;
    }

    private static long stat(long pid, boolean withReaped) {
        try {
            String s = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
            String[] f = s.substring(s.lastIndexOf(')') + 2).split(" "); // f[0] is field 3 (state)
            long t = Long.parseLong(f[11]) + Long.parseLong(f[12]); // utime, stime (fields 14, 15)
            if (withReaped) {
                t += Long.parseLong(f[13]) + Long.parseLong(f[14]); // cutime, cstime (16, 17)
            }
            return t;
        } catch (IOException | RuntimeException gone) {
            return 0;
        }
    }

    /** "group 123 ms (x per unit)" for the groups that used CPU; {@code units} of {@code unitName} moved. */
    static String format(Map<String, Long> cpu, double units, String unitName) {
        StringBuilder b = new StringBuilder();
        long total = 0;
        for (Map.Entry<String, Long> e : cpu.entrySet()) {
            if (e.getValue() <= 0) {
                continue;
            }
            total += e.getValue();
            b.append(b.length() == 0 ? "" : ", ").append(e.getKey()).append(' ').append(e.getValue() / 1_000_000).append(" ms");
            if (units > 0) {
                b.append(String.format(" (%.1f us/%s)", e.getValue() / 1000.0 / units, unitName));
            }
        }
        return "CPU " + b + "; total " + total / 1_000_000 + " ms" + (units > 0 ? String.format(" (%.1f us/%s)", total / 1000.0 / units, unitName) : "");
    }
}
