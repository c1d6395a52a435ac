package io.ports.bench.core;

import io.ports.core.PortReservation;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;

import java.util.concurrent.TimeUnit;

/**
 * In-process reservation of one port, no sockets and no other process: one operation reserves the
 * lowest free port of 10000-59999 and releases that same port, so the held set is as it was before.
 * {@code held} ports (the first ones of the range) are reserved once per trial before measuring, so
 * the operation shows how the cost grows with the number of ports a process already holds.
 *
 * <ul>
 *   <li>{@code impl=bitmap}: {@link PortReservation}, the lock-free bitmap of ports-core;</li>
 *   <li>{@code impl=treeset}: {@link SynchronizedTreeSetReservation}, openport's design (a sorted set
 *       behind one lock, reserve scans from the range start).</li>
 * </ul>
 * {@code oneThread} runs the operation on one thread, {@code twoThreads} on two threads sharing one
 * reservation (each reserves a different port; the score is the average time of one operation as
 * seen by one thread).
 *
 * <p>Run: {@code scripts/bench ReservationBenchmark} (from the repository root), or after a build
 * {@code java -jar ports-bench/target/benchmarks.jar ReservationBenchmark}.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Fork(1)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@State(Scope.Benchmark)
public class ReservationBenchmark {
    static final int RANGE_START = 10000;
    static final int RANGE_END = 59999;

    /** Ports reserved before measuring: the first {@code held} ports of the range. */
    @Param({"0", "1000", "10000"})
    public int held;

    @Param({"bitmap", "treeset"})
    public String impl;

    private Reservation reservation;

    /** The two implementations behind one call site; only one is loaded per fork, so the call stays monomorphic. */
    interface Reservation {
        int reserveRelease();

        int reservedCount();
    }

    static final class Bitmap implements Reservation {
        final PortReservation r = PortReservation.inclusive(RANGE_START, RANGE_END);

        @Override
        public int reserveRelease() {
            int p = r.reservePort().orElseThrow();
            if (!r.releasePort(p)) {
                throw new IllegalStateException("port " + p + " was not reserved");
            }
            return p;
        }

        @Override
        public int reservedCount() {
            return r.reservedCount();
        }
    }

    static final class TreeSetBased implements Reservation {
        final SynchronizedTreeSetReservation r = new SynchronizedTreeSetReservation(RANGE_START, RANGE_END);

        @Override
        public int reserveRelease() {
            int p = r.reservePort().orElseThrow();
            if (!r.releasePort(p)) {
                throw new IllegalStateException("port " + p + " was not reserved");
            }
            return p;
        }

        @Override
        public int reservedCount() {
            return r.reservedCount();
        }
    }

    @Setup(Level.Trial)
    public void setUp() {
        switch (impl) {
            case "bitmap": {
                Bitmap b = new Bitmap();
                for (int i = 0; i < held; i++) {
                    b.r.reserve(RANGE_START + i);
                }
                reservation = b;
                break;
            }
            case "treeset": {
                TreeSetBased t = new TreeSetBased();
                for (int i = 0; i < held; i++) {
                    t.r.reserve(RANGE_START + i);
                }
                reservation = t;
                break;
            }
            default:
                throw new IllegalArgumentException("unknown impl " + impl + ": expected bitmap or treeset");
        }
        check();
    }

    @TearDown(Level.Trial)
    public void check() {
        int n = reservation.reservedCount();
        if (n != held) {
            throw new IllegalStateException(impl + " holds " + n + " ports, expected " + held);
        }
    }

    @Benchmark
    @Threads(1)
    public int oneThread() {
        return reservation.reserveRelease();
    }

    @Benchmark
    @Threads(2)
    public int twoThreads() {
        return reservation.reserveRelease();
    }
}
