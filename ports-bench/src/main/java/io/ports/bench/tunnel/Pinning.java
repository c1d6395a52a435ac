package io.ports.bench.tunnel;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/**
 * Pins this JVM, every thread it has and every thread and process it starts afterwards, to one CPU
 * with util-linux's {@code taskset -a -p -c CPU PID}: threads and child processes inherit the
 * affinity of the thread that creates them. Used by the round-trip benchmark, whose forks live for
 * one trial, so nothing else is affected.
 */
final class Pinning {
    private Pinning() {
    }

    /** Pins the whole JVM to {@code cpu}; fails naming the cause when taskset is missing or refuses. */
    static void pinJvm(int cpu) throws IOException, InterruptedException {
        int cpus = Runtime.getRuntime().availableProcessors();
        if (cpu < 0 || cpu >= cpus) {
            throw new IllegalArgumentException("cpu " + cpu + ": expected 0.." + (cpus - 1) + " (this JVM may use " + cpus + " CPUs)");
        }
        long pid = ProcessHandle.current().pid();
        Process p;
        try {
            p = new ProcessBuilder("taskset", "-a", "-p", "-c", Integer.toString(cpu), Long.toString(pid)).redirectErrorStream(true).start();
        } catch (IOException e) {
            throw new IOException("cannot run taskset (Debian package util-linux) to pin the JVM to CPU " + cpu + ": " + e.getMessage(), e);
        }
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(10, TimeUnit.SECONDS) || p.exitValue() != 0) {
            p.destroyForcibly();
            throw new IOException("taskset -a -p -c " + cpu + " " + pid + " failed: " + out.strip());
        }
        String unpinned = threadsNotOn(Integer.toString(cpu));
        if (!unpinned.isEmpty()) {
            throw new IOException("after taskset, threads of this JVM still run elsewhere than CPU " + cpu + ": " + unpinned);
        }
    }

    /** The threads of this JVM whose allowed CPUs are not exactly {@code list}, as "tid:cpus ...", or "". */
    static String threadsNotOn(String list) throws IOException {
        StringBuilder b = new StringBuilder();
        try (DirectoryStream<Path> tasks = Files.newDirectoryStream(Path.of("/proc/self/task"))) {
            for (Path t : tasks) {
                String cpus;
                try {
                    cpus = Files.readAllLines(t.resolve("status")).stream().filter(l -> l.startsWith("Cpus_allowed_list:"))
                            .map(l -> l.substring(l.indexOf(':') + 1).strip()).findFirst().orElse("?");
                } catch (IOException gone) {
                    continue; // the thread ended
                }
                if (!cpus.equals(list)) {
                    b.append(b.length() == 0 ? "" : " ").append(t.getFileName()).append(':').append(cpus);
                }
            }
        }
        return b.toString();
    }

    /** The CPUs this JVM's main affinity allows, as {@code Cpus_allowed_list} says. */
    static String jvmCpus() {
        return WebsockifyProcess.cpus(ProcessHandle.current().pid());
    }
}
