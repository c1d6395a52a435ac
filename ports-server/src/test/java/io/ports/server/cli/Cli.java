package io.ports.server.cli;

import io.ports.core.BindProbe;
import io.ports.core.PortRange;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.stream.Stream;

/** Runs the command line in this JVM with captured output, and finds ports for tests. */
final class Cli {
    private Cli() {
    }

    /** What one run printed and returned. */
    record Run(int exitCode, String out, String err) {
        List<String> outLines() {
            return out.lines().toList();
        }

        List<String> errLines() {
            return err.lines().toList();
        }

        @Override
        public String toString() {
            return "exit " + exitCode + "\n--- stdout\n" + out + "--- stderr\n" + err;
        }
    }

    static Run run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int code = Main.newCommandLine(new PrintWriter(out, true), new PrintWriter(err, true)).execute(args);
        return new Run(code, out.toString(), err.toString());
    }

    /**
     * A range of {@code size} consecutive ports that all probe free right now, within 20000-29999
     * (below the usual ephemeral range, so that outgoing connections rarely land there).
     */
    static PortRange freeRange(int size) {
        BindProbe probe = BindProbe.wildcard();
        for (int attempt = 0; attempt < 200; attempt++) {
            int start = 20000 + ThreadLocalRandom.current().nextInt(10000 - size);
            boolean allFree = true;
            for (int p = start; p < start + size && allFree; p++) {
                allFree = probe.isFree(p);
            }
            if (allFree) {
                return PortRange.of(start, start + size - 1);
            }
        }
        throw new IllegalStateException("no " + size + " consecutive free ports found in 20000-29999 after 200 attempts");
    }

    static Path tempDir(String prefix) throws IOException {
        return Files.createTempDirectory(prefix);
    }

    /** Deletes a directory tree; quietly, as cleanup must not hide a test's own failure. */
    static void deleteTree(Path dir) {
        if (dir == null || !Files.exists(dir)) {
            return;
        }
        try (Stream<Path> paths = Files.walk(dir)) {
            paths.sorted(Comparator.reverseOrder()).forEach(p -> {
                try {
                    Files.deleteIfExists(p);
                } catch (IOException e) {
                    // best effort
                }
            });
        } catch (IOException e) {
            // best effort
        }
    }
}
