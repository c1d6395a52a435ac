package io.ports.nat;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

/** A ticker tests advance by hand, and a scheduler that runs what is due when they do. */
final class ManualScheduler implements Scheduler, Ticker {
    private final AtomicLong now = new AtomicLong(1_000_000_000_000L);
    private final List<Task> tasks = new ArrayList<>();

    private static final class Task {
        final long due;
        final long delay;
        final Runnable run;
        volatile boolean cancelled;

        Task(long due, long delay, Runnable run) {
            this.due = due;
            this.delay = delay;
            this.run = run;
        }
    }

    @Override
    public long read() {
        return now.get();
    }

    @Override
    public synchronized Cancellable schedule(Runnable task, long delayNanos) {
        Task t = new Task(now.get() + delayNanos, delayNanos, task);
        tasks.add(t);
        return () -> t.cancelled = true;
    }

    /** Delays of the tasks still pending, in scheduling order. */
    synchronized List<Duration> pendingDelays() {
        List<Duration> d = new ArrayList<>();
        for (Task t : tasks) {
            if (!t.cancelled) {
                d.add(Duration.ofNanos(t.delay));
            }
        }
        return d;
    }

    /** Moves time forward and runs every task now due, earliest first. */
    void advance(Duration d) {
        now.addAndGet(d.toNanos());
        List<Task> due = new ArrayList<>();
        synchronized (this) {
            for (Task t : List.copyOf(tasks)) {
                if (t.due <= now.get()) {
                    tasks.remove(t);
                    if (!t.cancelled) {
                        due.add(t);
                    }
                }
            }
        }
        due.sort(Comparator.comparingLong(t -> t.due));
        due.forEach(t -> t.run.run());
    }
}
