package io.ports.core;

import java.util.PrimitiveIterator;
import java.util.NoSuchElementException;

/**
 * An inclusive, non-empty range of TCP/UDP ports within 1..65535.
 *
 * <pre>{@code
 * PortRange.of(15000, 15999)            // inclusive: 1000 ports
 * PortRange.closedOpen(15000, 16000)    // exclusive end: the same 1000 ports
 * PortRange.parse("15000-15999")        // the form users write; "8080" is a range of one
 * }</pre>
 *
 * @param start first port, inclusive
 * @param end   last port, inclusive
 */
public record PortRange(int start, int end) implements Iterable<Integer> {
    public static final int MIN_PORT = 1;
    public static final int MAX_PORT = 65535;
    /** Ports below this need privileges on most systems. */
    public static final int FIRST_UNPRIVILEGED = 1024;

    /** Every usable port. */
    public static final PortRange ALL = new PortRange(MIN_PORT, MAX_PORT);

    public PortRange {
        if (start < MIN_PORT || start > MAX_PORT || end < MIN_PORT || end > MAX_PORT || start > end) {
            throw new IllegalArgumentException("invalid port range " + start + "-" + end
                    + ": both ends must be within 1-65535 and start <= end (for example 15000-15999)");
        }
    }

    /** Inclusive on both ends. */
    public static PortRange of(int start, int endInclusive) {
        return new PortRange(start, endInclusive);
    }

    /** Inclusive start, exclusive end; {@code closedOpen(8000, 8000)} is empty and rejected. */
    public static PortRange closedOpen(int start, int endExclusive) {
        if (endExclusive <= start) {
            throw new IllegalArgumentException("invalid port range [" + start + ", " + endExclusive
                    + "): the exclusive end must be greater than the start (for example [15000, 16000))");
        }
        return new PortRange(start, endExclusive - 1);
    }

    public static PortRange single(int port) {
        Ports.check(port, "port");
        return new PortRange(port, port);
    }

    /**
     * Parses {@code "START-END"} (inclusive) or a single {@code "PORT"}, surrounding blanks ignored.
     *
     * @throws IllegalArgumentException naming the input and the valid form
     */
    public static PortRange parse(String text) {
        if (text == null) {
            throw new IllegalArgumentException("port range is missing: expected START-END within 1-65535, for example 15000-15999");
        }
        String s = text.strip();
        int dash = s.indexOf('-', 1);
        try {
            if (dash < 0) {
                int port = Integer.parseInt(s);
                return new PortRange(port, port);
            }
            int a = Integer.parseInt(s.substring(0, dash).strip());
            int b = Integer.parseInt(s.substring(dash + 1).strip());
            return new PortRange(a, b);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("invalid port range '" + text
                    + "': expected START-END (inclusive) or a single PORT, within 1-65535 with START <= END, for example 15000-15999", e);
        }
    }

    public int size() {
        return end - start + 1;
    }

    public boolean contains(int port) {
        return port >= start && port <= end;
    }

    public boolean contains(PortRange other) {
        return other.start >= start && other.end <= end;
    }

    public boolean overlaps(PortRange other) {
        return other.start <= end && other.end >= start;
    }

    /** True when any port of the range needs privileges (below 1024). */
    public boolean includesPrivileged() {
        return start < FIRST_UNPRIVILEGED;
    }

    @Override
    public PrimitiveIterator.OfInt iterator() {
        return new PrimitiveIterator.OfInt() {
            private int next = start;

            @Override
            public boolean hasNext() {
                return next <= end;
            }

            @Override
            public int nextInt() {
                if (next > end) {
                    throw new NoSuchElementException();
                }
                return next++;
            }
        };
    }

    @Override
    public String toString() {
        return start == end ? Integer.toString(start) : start + "-" + end;
    }
}
