package io.ports.core;

import java.util.Collection;
import java.util.OptionalInt;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLongArray;

/**
 * In-process port reservation with the semantics of openport's {@code PortReservation}: ports of a
 * range are handed out at most once until released. It knows nothing of sockets or other processes;
 * {@link PortAllocator} adds those layers on top.
 *
 * <p>Safe for any number of threads. {@code reservePort()} stays constant-time however many ports
 * are held: no lock and no scan of the held set.
 *
 * <h2>Concurrency</h2>
 * One bit per port in an {@link AtomicLongArray}; a set bit is a reserved port. Reserving takes the
 * lowest clear bit of a word with one compare-and-set, starting at a hint: the index of a word that
 * had room the last time anyone looked. Words below the hint are full, or were freed after the hint
 * moved; a release lowers the hint to its word, so freed ports are handed out again first and the
 * reserved set stays dense at the start of the range (what a sequential scan would give) without
 * anyone scanning it. Bits past the end of the range are set once at construction and never cleared.
 */
public final class PortReservation {
    private final PortRange range;
    private final AtomicLongArray words;
    /** Index of the first word that may have a clear bit. */
    private final AtomicInteger hint = new AtomicInteger();

    private PortReservation(PortRange range) {
        this.range = range;
        int n = (range.size() + 63) >>> 6;
        this.words = new AtomicLongArray(n);
        int tail = range.size() & 63;
        if (tail != 0) {
            words.set(n - 1, -1L << tail); // bits beyond the range read as reserved forever
        }
    }

    /** Ports {@code start..end}, both inclusive. */
    public static PortReservation inclusive(int start, int end) {
        return new PortReservation(PortRange.of(start, end));
    }

    /** Ports {@code start..endExclusive-1}. */
    public static PortReservation exclusive(int start, int endExclusive) {
        return new PortReservation(PortRange.closedOpen(start, endExclusive));
    }

    public static PortReservation of(PortRange range) {
        return new PortReservation(range);
    }

    public PortRange range() {
        return range;
    }

    /** Reserves the first free port (lowest first, approximately under contention), or empty when none is left. */
    public OptionalInt reservePort() {
        int p = reserveOne();
        return p < 0 ? OptionalInt.empty() : OptionalInt.of(p);
    }

    private int reserveOne() {
        int n = words.length();
        int h = hint.get();
        for (int i = 0; i < n; i++) {
            int w = h + i;
            if (w >= n) {
                w -= n;
            }
            long v = words.get(w);
            while (v != -1L) {
                long bit = Long.lowestOneBit(~v);
                long nv = v | bit;
                long witness = words.compareAndExchange(w, v, nv);
                if (witness == v) {
                    if (nv == -1L) {
                        hint.compareAndSet(h, w + 1 < n ? w + 1 : 0);
                    } else if (w != h) {
                        hint.compareAndSet(h, w);
                    }
                    return range.start() + (w << 6) + Long.numberOfTrailingZeros(bit);
                }
                v = witness;
            }
        }
        return -1;
    }

    /** Reserves as many ports as are free, at most {@code count}; fewer (possibly none) when the range runs out. */
    public int[] reservePorts(int count) {
        checkCount(count);
        int[] got = new int[count];
        int k = 0;
        while (k < count) {
            int p = reserveOne();
            if (p < 0) {
                break;
            }
            got[k++] = p;
        }
        return k == count ? got : java.util.Arrays.copyOf(got, k);
    }

    /**
     * Reserves exactly {@code count} ports or none.
     *
     * @throws PortExhaustedException when fewer than {@code count} are free; nothing stays reserved
     */
    public int[] reservePortsAllOrNothing(int count) {
        int[] got = reservePorts(count);
        if (got.length < count) {
            releasePorts(got);
            throw new PortExhaustedException("asked for " + count + " ports of range " + range + " but only "
                    + got.length + " were free (" + reservedCount() + " of " + range.size()
                    + " reserved); nothing was reserved. Release ports or use a wider range", "", range);
        }
        return got;
    }

    /** Reserves one specific port. @return false when it is already reserved */
    public boolean reserve(int port) {
        int i = index(port);
        int w = i >>> 6;
        long bit = 1L << i;
        long v = words.get(w);
        while ((v & bit) == 0) {
            long witness = words.compareAndExchange(w, v, v | bit);
            if (witness == v) {
                return true;
            }
            v = witness;
        }
        return false;
    }

    /** @return true when the port was reserved and is now free */
    public boolean releasePort(int port) {
        int i = index(port);
        int w = i >>> 6;
        long bit = 1L << i;
        long v = words.get(w);
        while ((v & bit) != 0) {
            long witness = words.compareAndExchange(w, v, v & ~bit);
            if (witness == v) {
                int h;
                while ((h = hint.get()) > w && !hint.compareAndSet(h, w)) {
                    Thread.onSpinWait();
                }
                return true;
            }
            v = witness;
        }
        return false;
    }

    /** @return how many of the ports were reserved and are now free */
    public int releasePorts(int... ports) {
        int n = 0;
        for (int p : ports) {
            if (releasePort(p)) {
                n++;
            }
        }
        return n;
    }

    public int releasePorts(Collection<Integer> ports) {
        int n = 0;
        for (int p : ports) {
            if (releasePort(p)) {
                n++;
            }
        }
        return n;
    }

    public boolean isReserved(int port) {
        int i = index(port);
        return (words.get(i >>> 6) & (1L << i)) != 0;
    }

    /** A moment's count; exact when no other thread changes the set. */
    public int reservedCount() {
        int n = words.length();
        int count = 0;
        for (int w = 0; w < n; w++) {
            count += Long.bitCount(words.get(w));
        }
        int tail = range.size() & 63;
        return tail == 0 ? count : count - (64 - tail);
    }

    public int availableCount() {
        return range.size() - reservedCount();
    }

    /**
     * The first port in {@code from..to} (inclusive, clipped to the range) not reserved at the moment of
     * the call, or -1. Skips full words 64 ports at a time.
     */
    int nextUnreserved(int from, int to) {
        int lo = Math.max(from, range.start());
        int hi = Math.min(to, range.end());
        if (lo > hi) {
            return -1;
        }
        int i = lo - range.start();
        int last = hi - range.start();
        int w = i >>> 6;
        long free = ~words.get(w) & (-1L << i);
        while (true) {
            if (free != 0) {
                int idx = (w << 6) + Long.numberOfTrailingZeros(free);
                return idx <= last ? range.start() + idx : -1;
            }
            if (++w > (last >>> 6)) {
                return -1;
            }
            free = ~words.get(w);
        }
    }

    private int index(int port) {
        if (!range.contains(port)) {
            throw new IllegalArgumentException("port " + port + " is outside this reservation's range " + range);
        }
        return port - range.start();
    }

    private static void checkCount(int count) {
        if (count < 0) {
            throw new IllegalArgumentException("port count " + count + " is negative: expected 0 or more");
        }
    }

    @Override
    public String toString() {
        return "PortReservation[" + range + ", reserved=" + reservedCount() + "]";
    }
}
