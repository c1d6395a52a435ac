package io.ports.server.cli;

import io.ports.server.testsupport.TestPorts;
import io.ports.core.testsupport.PeerRuns;
import io.ports.core.PortRange;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

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
        return TestPorts.freeRanges(size)[0];
    }

    static Path tempDir(String prefix) throws IOException {
        return Files.createTempDirectory(prefix);
    }

    /** Deletes a directory tree; quietly, as cleanup must not hide a test's own failure. */
    static void deleteTree(Path dir) {
        PeerRuns.deleteTree(dir);
    }
}
