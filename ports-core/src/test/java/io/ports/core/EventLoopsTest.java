package io.ports.core;

import io.netty.channel.EventLoop;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.util.concurrent.BlockingOperationException;
import io.ports.core.testsupport.ThreadStarts;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class EventLoopsTest {

    @Test
    void auto_picksTheBestAvailableTransport() {
        try (EventLoops loops = EventLoops.builder().threads(2).build()) {
            EventLoops.Transport expected = EventLoops.Transport.IO_URING.isAvailable() ? EventLoops.Transport.IO_URING
                    : EventLoops.Transport.EPOLL.isAvailable() ? EventLoops.Transport.EPOLL : EventLoops.Transport.NIO;
            assertEquals(expected, loops.transport());
            assertEquals(2, loops.threads());
        }
    }

    @Test
    void everyAvailableTransport_runsTasksOnNamedThreads() throws Exception {
        for (EventLoops.Transport t : EventLoops.Transport.values()) {
            if (!t.isAvailable()) {
                continue;
            }
            try (EventLoops loops = EventLoops.builder().transport(t).threads(2).threadNamePrefix("ports-io").build()) {
                EventLoop loop = loops.next();
                String name = loop.submit(() -> Thread.currentThread().getName()).get(5, TimeUnit.SECONDS);
                assertTrue(name.matches("ports-io-\\d+"), name);
                assertEquals(t, loops.transport());
            }
        }
    }

    @Test
    void close_isOnceAndShutsTheGroupDown() {
        EventLoops loops = EventLoops.builder().threads(1).shutdownTimeout(Duration.ofSeconds(2)).build();
        loops.close();
        loops.close();
        assertTrue(loops.isClosed());
        assertTrue(loops.group().isShutdown());
    }

    @Test
    void badConfiguration_isRejectedWithTheValidForms() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> EventLoops.Transport.parse("kqueue"));
        assertTrue(e.getMessage().contains("'kqueue'") && e.getMessage().contains("io_uring, epoll, nio"), e.getMessage());
        assertNull(EventLoops.Transport.parse("auto"));
        assertEquals(EventLoops.Transport.IO_URING, EventLoops.Transport.parse("io-uring"));
        assertThrows(IllegalArgumentException.class, () -> EventLoops.builder().threads(0));
        assertThrows(IllegalArgumentException.class, () -> EventLoops.builder().shutdownTimeout(Duration.ofSeconds(-1)));
    }

    private static boolean globalThreadAlive() {
        return Thread.getAllStackTraces().keySet().stream().anyMatch(t -> t.isAlive() && t.getName().startsWith("globalEventExecutor"));
    }

    @Test
    void close_startsNoGlobalEventExecutorThread_whileAPlainNettyGroupDoes() throws Exception {
        EventLoops loops = EventLoops.builder().threads(2).build();
        EventLoop loop = loops.next();
        loop.submit(() -> { }).get(5, TimeUnit.SECONDS);
        AtomicInteger notified = new AtomicInteger();
        loop.terminationFuture().addListener(f -> notified.incrementAndGet());
        List<String> started = ThreadStarts.during(loops::close);
        // a loop that never ran a task gets its thread only to terminate; nothing else may start
        assertTrue(started.stream().allMatch(n -> n.startsWith("ports-io-")), "threads started by close(): " + started);
        assertTrue(loops.group().isTerminated());
        assertTrue(loops.group().terminationFuture().isSuccess(), "the group's termination future completes");
        assertTrue(loop.terminationFuture().isSuccess(), "each loop's termination future completes");
        assertEquals(1, notified.get(), "a listener added before close ran");
        loop.terminationFuture().addListener(f -> notified.incrementAndGet());
        assertEquals(2, notified.get(), "a listener added after termination runs at once");

        // the same with Netty's own group: its loops notify through GlobalEventExecutor, whose non-daemon thread starts
        MultiThreadIoEventLoopGroup plain = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
        plain.next().submit(() -> { }).get(5, TimeUnit.SECONDS);
        List<String> plainStarted = ThreadStarts.during(() -> plain.shutdownGracefully(0, 1, TimeUnit.SECONDS).await(5, TimeUnit.SECONDS));
        assertTrue(plainStarted.stream().anyMatch(n -> n.startsWith("globalEventExecutor")) || globalThreadAlive(),
                "a plain Netty group hands its termination to the global executor's thread: " + plainStarted);
    }

    @Test
    void waitingForALoopsTerminationOnThatLoop_isRefused() throws Exception {
        try (EventLoops loops = EventLoops.builder().threads(1).build()) {
            EventLoop loop = loops.next();
            Throwable t = loop.submit(() -> {
                try {
                    loop.terminationFuture().await(10, TimeUnit.MILLISECONDS);
                    return null;
                } catch (Throwable e) {
                    return e;
                }
            }).get(5, TimeUnit.SECONDS);
            assertTrue(t instanceof BlockingOperationException, String.valueOf(t));
        }
    }
}
