package io.ports.nat;

/**
 * A source of monotonic nanoseconds, as {@link System#nanoTime()}. Renewal deadlines and the
 * NAT-PMP/PCP epoch check read it; tests pass a ticker they advance by hand.
 */
@FunctionalInterface
public interface Ticker {
    /** Nanoseconds since an arbitrary origin; only differences mean anything. */
    long read();

    /** {@link System#nanoTime()}. */
    static Ticker system() {
        return SystemTicker.INSTANCE;
    }
}

enum SystemTicker implements Ticker {
    INSTANCE;

    @Override
    public long read() {
        return System.nanoTime();
    }
}
