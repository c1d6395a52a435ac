package io.ports.bench.core;

import java.util.OptionalInt;
import java.util.TreeSet;

/**
 * Baseline for {@link ReservationBenchmark}: in-process reservation as openport's {@code PortReservation}
 * does it, a sorted set of reserved ports behind one lock. Reserving scans the range from its start
 * for the first port not in the set and adds it, so its cost grows with the number of ports held;
 * releasing removes the port. Not part of ports: it exists only to be measured against
 * {@link io.ports.core.PortReservation}.
 */
public final class SynchronizedTreeSetReservation {
    private final int start;
    private final int end;
    private final TreeSet<Integer> reserved = new TreeSet<>();

    /** Ports {@code start..end}, both inclusive. */
    public SynchronizedTreeSetReservation(int start, int end) {
        if (start > end) {
            throw new IllegalArgumentException("empty range " + start + "-" + end);
        }
        this.start = start;
        this.end = end;
    }

    /** Reserves the lowest free port of the range, or empty when every port is reserved. */
    public synchronized OptionalInt reservePort() {
        for (int p = start; p <= end; p++) {
            if (!reserved.contains(p)) {
                reserved.add(p);
                return OptionalInt.of(p);
            }
        }
        return OptionalInt.empty();
    }

    /** Reserves one specific port. @return false when it is already reserved */
    public synchronized boolean reserve(int port) {
        check(port);
        return reserved.add(port);
    }

    /** @return true when the port was reserved and is now free */
    public synchronized boolean releasePort(int port) {
        check(port);
        return reserved.remove(port);
    }

    public synchronized int reservedCount() {
        return reserved.size();
    }

    private void check(int port) {
        if (port < start || port > end) {
            throw new IllegalArgumentException("port " + port + " is outside " + start + "-" + end);
        }
    }
}
