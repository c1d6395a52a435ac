package io.ports.resolver;

/**
 * A source of nanoseconds, as {@link System#nanoTime()} gives them: only differences between two
 * readings mean anything. The resolver's cache reads it to decide whether an answer is fresh, due
 * for refresh, stale or dead; tests inject a ticker they advance by hand. Network timeouts do not
 * use it: they run on the event loops' own clock.
 */
@FunctionalInterface
public interface Ticker {

    /** The current reading in nanoseconds. */
    long read();

    /** The ticker backed by {@link System#nanoTime()}. */
    static Ticker systemTicker() {
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
