package io.ports.nat;

import io.ports.core.EventLoops;
import io.ports.core.PortAllocator;
import io.ports.core.PortLease;
import io.ports.core.PortRequest;
import io.ports.core.Protocol;
import io.ports.core.ServiceType;
import io.ports.nat.internal.NatUtil;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

import java.util.Set;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

import static org.junit.jupiter.api.Assertions.fail;

/** One event loop group and one allocator per test class, closed whatever happened. */
abstract class NatTestSupport {
    static EventLoops loops;
    static PortAllocator ports;

    @BeforeAll
    static void startLoops() {
        loops = EventLoops.builder().threads(2).threadNamePrefix("nat-test").build();
        ports = PortAllocator.builder().hostWide(false).build();
    }

    @AfterAll
    static void stopLoops() {
        try {
            if (ports != null) {
                ports.close();
            }
        } finally {
            if (loops != null) {
                loops.close();
            }
        }
    }

    static PortLease lease(String service, Protocol... transports) {
        return ports.allocate(PortRequest.builder(service, ServiceType.DYNAMIC).protocols(Set.of(transports)).build());
    }

    static <T> T await(CompletionStage<T> stage) throws Exception {
        try {
            return stage.toCompletableFuture().get(20, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            throw new AssertionError("expected success, got " + e.getCause(), e.getCause());
        }
    }

    static Throwable failure(CompletionStage<?> stage) throws Exception {
        try {
            Object v = stage.toCompletableFuture().get(20, TimeUnit.SECONDS);
            return fail("expected a failure, got " + v);
        } catch (ExecutionException e) {
            return NatUtil.unwrap(e.getCause());
        }
    }

    static void eventually(BooleanSupplier condition, String what) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                fail("not within 10 s: " + what);
            }
            Thread.sleep(5);
        }
    }
}
