package io.ports.health;

import io.ports.core.BindProbe;
import io.ports.core.PortRange;
import io.ports.core.testsupport.Jvm;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/** Child processes of one test (started with {@link ListenMain}), every one killed by {@link #close()}. */
final class Children implements AutoCloseable {
    /** A started child: its process id and its line protocol. */
    static final class Child {
        final Jvm jvm;
        /** The process started (the JVM, or the prefix's process). */
        final long pid;
        /** The JVM's own pid, as it printed it (differs from {@link #pid} behind a forking prefix). */
        long jvmPid;

        private Child(Jvm jvm, long pid) {
            this.jvm = jvm;
            this.pid = pid;
        }

        /** Listens on TCP (port 0 for any) on loopback; returns the port. */
        int listenTcp(int port) throws Exception {
            return listen("tcp", port);
        }

        int bindUdp(int port) throws Exception {
            return listen("udp", port);
        }

        private int listen(String what, int port) throws Exception {
            jvm.send(what + " " + port);
            String line = jvm.await("LISTENING", 15);
            return Integer.parseInt(line);
        }

        void closeSockets() throws Exception {
            jvm.send("close");
            jvm.await("CLOSED", 15);
        }

        /** kill -9, and wait (bounded) until it is reaped. */
        void kill() throws InterruptedException {
            ProcessHandle.of(pid).ifPresent(p -> p.descendants().forEach(ProcessHandle::destroyForcibly));
            jvm.process().destroyForcibly();
            if (!jvm.process().waitFor(15, TimeUnit.SECONDS)) {
                throw new AssertionError("child " + pid + " did not die within 15 s of SIGKILL");
            }
        }

        boolean isAlive() {
            return jvm.process().isAlive();
        }
    }

    private final List<Child> started = new ArrayList<>();

    /** A child JVM running {@link ListenMain}, ready for commands. */
    Child start() throws IOException, InterruptedException {
        return start(List.of());
    }

    /**
     * A child started through {@code prefix} (for example a shell that forks the JVM): {@link Child#pid} is then
     * the prefix's process, and the JVM that listens is its child.
     */
    Child start(List<String> prefix) throws IOException, InterruptedException {
        Jvm jvm = Jvm.start(prefix, ListenMain.class);
        Child c = new Child(jvm, jvm.process().pid());
        started.add(c);
        c.jvmPid = Long.parseLong(jvm.await("READY", 30));
        return c;
    }

    @Override
    public void close() {
        for (Child c : started) {
            try {
                c.jvm.send("exit");
            } catch (IOException ignored) {
                // already gone
            }
            ProcessHandle.of(c.pid).ifPresent(p -> p.descendants().forEach(ProcessHandle::destroyForcibly));
            c.jvm.close();
        }
        started.clear();
    }

    /** A port of the range nobody binds now (TCP and UDP), other than those excluded. */
    static int freePort(PortRange range, Set<Integer> exclude) {
        BindProbe probe = BindProbe.wildcard();
        for (int p : range) {
            if (!exclude.contains(p) && probe.isFree(p)) {
                return p;
            }
        }
        throw new AssertionError("no free port in " + range + " on this host");
    }
}
