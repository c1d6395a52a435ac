package io.ports.resolver;

import io.ports.core.EventLoops;
import io.ports.resolver.testsupport.Knot;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

import java.io.IOException;
import java.net.InetAddress;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.fail;

/** One knotd and one event loop group per test class, both stopped in {@link #stopAll()} whatever happened. */
abstract class KnotTestSupport {
    static Knot knot;
    static EventLoops loops;

    @BeforeAll
    static void startAll() throws Exception {
        Knot.require();
        loops = EventLoops.builder().threads(2).threadNamePrefix("resolver-test").build();
        knot = Knot.start(TestZone.TEXT);
    }

    @AfterAll
    static void stopAll() {
        try {
            if (knot != null) {
                knot.close();
            }
        } finally {
            knot = null;
            if (loops != null) {
                loops.close();
                loops = null;
            }
        }
    }

    /** A resolver asking only the test's knotd over IPv4, reading no system files. */
    static PortsResolver.Builder resolver() {
        return PortsResolver.builder().eventLoops(loops).servers(knot.v4()).resolvConf(null).hostsFile(null)
                .timeout(Duration.ofMillis(1000)).attempts(2);
    }

    static <T> T await(CompletionStage<T> stage) throws Exception {
        try {
            return stage.toCompletableFuture().get(20, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            throw new AssertionError("expected success, got " + e.getCause(), e.getCause());
        }
    }

    /** The failure of {@code stage}, unwrapped; fails the test if it succeeds. */
    static Throwable failure(CompletionStage<?> stage) throws Exception {
        try {
            Object v = stage.toCompletableFuture().get(20, TimeUnit.SECONDS);
            return fail("expected a failure, got " + v);
        } catch (ExecutionException e) {
            Throwable t = e.getCause();
            return t instanceof CompletionException && t.getCause() != null ? t.getCause() : t;
        }
    }

    /** A knot mod-stats counter, for example {@code query-type[A]}. */
    static long served(String counter) throws IOException, InterruptedException {
        return knot.count(counter);
    }

    /** Waits (at most 10 s) until the knot counter reaches {@code expected}, then returns its value. */
    static long servedAtLeast(String counter, long expected) throws IOException, InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        long v = served(counter);
        while (v < expected && System.nanoTime() < deadline) {
            Thread.sleep(10);
            v = served(counter);
        }
        return v;
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

    static List<String> ips(List<InetAddress> addresses) {
        return addresses.stream().map(io.netty.util.NetUtil::toAddressString).collect(Collectors.toList());
    }
}
