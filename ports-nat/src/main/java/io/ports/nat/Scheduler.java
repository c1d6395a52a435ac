package io.ports.nat;

import io.netty.channel.EventLoop;

import java.util.concurrent.TimeUnit;

/** Runs renewal timers; the default is the traversal's event loop, tests pass one they drive by hand. */
interface Scheduler {
    /** A scheduled task that can be cancelled. */
    interface Cancellable {
        void cancel();
    }

    Cancellable schedule(Runnable task, long delayNanos);

    static Scheduler of(EventLoop loop) {
        return (task, delay) -> {
            io.netty.util.concurrent.ScheduledFuture<?> f = loop.schedule(task, Math.max(0, delay), TimeUnit.NANOSECONDS);
            return () -> f.cancel(false);
        };
    }
}
