package io.ports.server.cli;

import java.io.PrintWriter;
import java.util.concurrent.TimeUnit;

/**
 * A one-line progress bar on a terminal's stderr, redrawn at most every 100 ms and erased by
 * {@link #finish()}. Disabled, it writes nothing.
 */
final class Progress {
    /** The least time between two drawings. */
    static final long INTERVAL_NANOS = TimeUnit.MILLISECONDS.toNanos(100);
    private static final int WIDTH = 30;

    private final PrintWriter err;
    private final String label;
    private final int total;
    private final boolean enabled;
    private final long intervalNanos;
    private long last;
    private int drawnLength;

    Progress(PrintWriter err, String label, int total, boolean enabled) {
        this(err, label, total, enabled, INTERVAL_NANOS);
    }

    /** A bar redrawn at most every {@code intervalNanos} (0: at every update). */
    Progress(PrintWriter err, String label, int total, boolean enabled, long intervalNanos) {
        this.intervalNanos = intervalNanos;
        this.err = err;
        this.label = label;
        this.total = total;
        this.enabled = enabled;
        this.last = System.nanoTime();
    }

    /** Reports {@code done} of the total; draws only when the last drawing is 100 ms old. */
    void update(int done) {
        if (!enabled) {
            return;
        }
        long now = System.nanoTime();
        if (now - last < intervalNanos) {
            return;
        }
        last = now;
        int filled = total == 0 ? WIDTH : (int) ((long) done * WIDTH / total);
        String line = label + " [" + "#".repeat(filled) + " ".repeat(WIDTH - filled) + "] " + done + "/" + total;
        err.print("\r" + line + " ".repeat(Math.max(0, drawnLength - line.length())));
        err.flush();
        drawnLength = Math.max(drawnLength, line.length());
    }

    /** Erases the bar, if one was drawn. */
    void finish() {
        if (drawnLength > 0) {
            err.print("\r" + " ".repeat(drawnLength) + "\r");
            err.flush();
            drawnLength = 0;
        }
    }
}
