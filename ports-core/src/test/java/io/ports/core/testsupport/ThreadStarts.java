package io.ports.core.testsupport;

import jdk.jfr.Recording;
import jdk.jfr.consumer.RecordedEvent;
import jdk.jfr.consumer.RecordedThread;
import jdk.jfr.consumer.RecordingFile;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The names of the threads a piece of code starts, recorded by JFR ({@code jdk.ThreadStart} events),
 * so that a test can tell which threads an operation started even when they have ended again by the
 * time it looks: Netty's {@code globalEventExecutor} thread, for one, lingers anything from 0 to 1 s.
 */
public final class ThreadStarts {
    private ThreadStarts() {
    }

    /** A step that may throw. */
    public interface Step {
        void run() throws Exception;
    }

    /** Runs {@code step} while recording thread starts; returns the names of the threads it started (JFR's own excluded). */
    public static List<String> during(Step step) throws Exception {
        Path file = Files.createTempFile("ports-thread-starts-", ".jfr");
        try (Recording r = new Recording()) {
            r.enable("jdk.ThreadStart");
            r.start();
            step.run();
            r.stop();
            r.dump(file);
            List<String> names = new ArrayList<>();
            for (RecordedEvent e : RecordingFile.readAllEvents(file)) {
                RecordedThread t = e.getThread("thread");
                String name = t == null ? null : t.getJavaName();
                if (name != null && !name.startsWith("JFR ")) {
                    names.add(name);
                }
            }
            return names;
        } finally {
            try {
                Files.deleteIfExists(file);
            } catch (IOException ignored) {
                // best effort
            }
        }
    }
}
