package io.ports.core;

import io.netty.channel.EventLoop;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.concurrent.TimeUnit;

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
}
