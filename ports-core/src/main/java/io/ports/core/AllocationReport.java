package io.ports.core;

import java.time.Duration;
import java.util.List;
import java.util.Locale;

/**
 * Every live lease of an allocator with how it was found, and totals: the summary a node prints at
 * start-up.
 *
 * <pre>
 * SERVICE      TYPE         PORT   OUTCOME    ATTEMPTS  TIME
 * orders-db    DATABASE     5432   PREFERRED         1  48 µs
 * orders-raft  CLUSTER      5400   FALLBACK          2  95 µs
 * 2 services: 1 preferred, 1 fallback, 3 attempts
 * </pre>
 */
public record AllocationReport(List<Entry> entries) {

    /** One lease. */
    public record Entry(String service, String type, int port, PortLease.Outcome outcome, int attempts, Duration elapsed) {
    }

    public AllocationReport {
        entries = List.copyOf(entries);
    }

    public int preferredCount() {
        return (int) entries.stream().filter(e -> e.outcome() == PortLease.Outcome.PREFERRED).count();
    }

    public int fallbackCount() {
        return entries.size() - preferredCount();
    }

    public int totalAttempts() {
        return entries.stream().mapToInt(Entry::attempts).sum();
    }

    /** The table above, one line per service, then the totals. */
    public String format() {
        int sw = Math.max(7, entries.stream().mapToInt(e -> e.service().length()).max().orElse(0));
        int tw = Math.max(4, entries.stream().mapToInt(e -> e.type().length()).max().orElse(0));
        String row = "%-" + sw + "s  %-" + tw + "s  %5s  %-9s  %8s  %s%n";
        StringBuilder sb = new StringBuilder();
        sb.append(String.format(Locale.ROOT, row, "SERVICE", "TYPE", "PORT", "OUTCOME", "ATTEMPTS", "TIME"));
        for (Entry e : entries) {
            sb.append(String.format(Locale.ROOT, row, e.service(), e.type(), e.port(), e.outcome(), e.attempts(),
                    micros(e.elapsed())));
        }
        sb.append(entries.size()).append(entries.size() == 1 ? " service: " : " services: ")
                .append(preferredCount()).append(" preferred, ").append(fallbackCount()).append(" fallback, ")
                .append(totalAttempts()).append(" attempts");
        return sb.toString();
    }

    private static String micros(Duration d) {
        long us = d.toNanos() / 1_000;
        return us < 10_000 ? us + " µs" : (us / 1_000) + " ms";
    }

    @Override
    public String toString() {
        return format();
    }
}
