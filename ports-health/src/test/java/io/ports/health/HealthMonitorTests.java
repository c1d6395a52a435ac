package io.ports.health;

import io.ports.core.EventLoops;
import io.ports.core.PortRange;
import io.ports.core.Protocol;
import io.ports.core.ServiceCatalog;
import io.ports.core.ServiceType;
import io.ports.core.registry.Allocation;
import io.ports.core.registry.AllocationRequest;
import io.ports.core.registry.AllocationStatus;
import io.ports.core.registry.Registry;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.BooleanSupplier;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

@Timeout(120)
class HealthMonitorTests {
    /** Ten ports: utilization moves in steps of 10%. */
    static final PortRange TINY = PortRange.of(31400, 31409);
    static final ServiceCatalog CATALOG = ServiceCatalog.empty().with(ServiceType.tcp("monitored", 0, TINY, "health monitor tests"));

    private static EventLoops loops;

    @TempDir
    Path tmp;

    private final Children children = new Children();
    private final List<HealthMonitor> monitors = new ArrayList<>();
    private Registry registry;

    @BeforeAll
    static void startLoops() {
        loops = EventLoops.builder().threads(1).threadNamePrefix("health-test").build();
    }

    @AfterAll
    static void stopLoops() {
        loops.close();
    }

    @BeforeEach
    void setUp() {
        registry = Registry.builder().catalog(CATALOG).lockDirectory(tmp.resolve("locks")).build();
    }

    @AfterEach
    void tearDown() {
        try {
            monitors.forEach(HealthMonitor::close);
            children.close();
        } finally {
            registry.close();
        }
    }

    private HealthMonitor.Builder monitor() {
        return HealthMonitor.builder(registry, loops).interval(Duration.ofHours(1)); // rounds by checkNow() unless a test asks
    }

    private HealthMonitor track(HealthMonitor m) {
        monitors.add(m);
        return m;
    }

    private static Health now(HealthMonitor m) throws InterruptedException, ExecutionException, TimeoutException {
        return m.checkNow().get(30, TimeUnit.SECONDS);
    }

    private Allocation allocate(String name) {
        return registry.allocate(AllocationRequest.builder(name, "monitored").build());
    }

    /** Waits (polling, at most {@code seconds}) until the condition holds. */
    private static void await(String what, long seconds, BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() - deadline > 0) {
                throw new AssertionError("not within " + seconds + " s: " + what);
            }
            Thread.sleep(20);
        }
    }

    @Test
    void scheduledRounds_runOnTheSharedLoops_andKeepABoundedHistoryPerPort() throws Exception {
        Allocation a = allocate("watched");
        HealthMonitor m = track(monitor().interval(Duration.ofMillis(20)).initialDelay(Duration.ZERO).historySize(3).build().start());

        await("six scheduled rounds", 30, () -> m.rounds() >= 6);

        List<PortObservation> h = m.history(PortKey.tcp(a.port()));
        assertEquals(3, h.size(), "at most historySize observations per port");
        assertTrue(h.get(0).checkedAt().compareTo(h.get(2).checkedAt()) <= 0, "oldest first");
        assertEquals(a.id(), h.get(2).record().orElseThrow().id());
        assertTrue(h.get(2).isHealthy(), h.get(2).toString());
        assertEquals(3, m.recent().size());
        assertEquals(Health.Status.UP, m.current().orElseThrow().status());
        assertTrue(m.history(PortKey.udp(a.port())).isEmpty(), "a port never looked at has no history");
    }

    @Test
    void close_stopsTheScheduleButNotTheEventLoops() throws Exception {
        HealthMonitor m = track(monitor().interval(Duration.ofMillis(20)).initialDelay(Duration.ZERO).build().start());
        await("two scheduled rounds", 30, () -> m.rounds() >= 2);

        m.close();
        m.close(); // once
        long after = m.rounds();
        Thread.sleep(200); // ten intervals: no round may start now (one under way may still finish)

        assertTrue(m.rounds() <= after + 1, "rounds after close: " + (m.rounds() - after));
        assertTrue(m.isClosed());
        assertFalse(loops.isClosed());
        assertEquals(42, loops.next().submit(() -> 42).get(10, TimeUnit.SECONDS), "the loops still run tasks");
        ExecutionException e = assertThrows(ExecutionException.class, () -> m.checkNow().get(10, TimeUnit.SECONDS));
        assertInstanceOf(IllegalStateException.class, e.getCause());
    }

    @Test
    void status_goesUpDegradedDownAndBack_withRangeUtilization() throws Exception {
        ExhaustionMonitor exhaustion = ExhaustionMonitor.builder(registry).warningThreshold(0.5).criticalThreshold(0.8).build();
        HealthMonitor m = track(monitor().exhaustion(exhaustion).build());

        Health up = now(m);
        assertEquals(Health.Status.UP, up.status(), up.toString());
        assertEquals(List.of(), up.reasons());
        assertEquals(TINY.toString(), up.ranges().get(0).range());

        List<Allocation> held = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            held.add(allocate("svc-" + i));
        }
        Health degraded = now(m);
        assertEquals(Health.Status.DEGRADED, degraded.status(), degraded.toString());
        assertTrue(degraded.reasons().get(0).contains(TINY.toString()) && degraded.reasons().get(0).contains("warning"), degraded.reasons().toString());

        for (int i = 5; i < 8; i++) {
            held.add(allocate("svc-" + i));
        }
        Health down = now(m);
        assertEquals(Health.Status.DOWN, down.status(), down.toString());
        assertTrue(down.reasons().get(0).contains("critical"), down.reasons().toString());

        held.forEach(a -> registry.release(a.id()));
        assertEquals(Health.Status.UP, now(m).status());
        assertEquals(List.of(Health.Status.UP, Health.Status.DEGRADED, Health.Status.DOWN, Health.Status.UP),
                m.recent().stream().map(Health::status).toList());
    }

    @Test
    void unresolvedFinding_degradesHealth_untilItIsGone() throws Exception {
        HealthMonitor m = track(monitor().build());
        Children.Child squatter = children.start();
        int port = Children.freePort(TINY, Set.of());
        squatter.listenTcp(port);

        Health degraded = now(m);
        assertEquals(Health.Status.DEGRADED, degraded.status(), degraded.toString());
        assertEquals(1, degraded.findings(Finding.Kind.SQUATTER).size(), degraded.findings().toString());
        assertTrue(degraded.reasons().get(0).startsWith("SQUATTER"), degraded.reasons().toString());
        assertEquals(List.of(Finding.Kind.SQUATTER), m.history(PortKey.tcp(port)).get(0).findings());

        squatter.closeSockets();
        Health up = now(m);
        assertEquals(Health.Status.UP, up.status(), up.toString());
    }

    @Test
    void portBoundByItsHolder_isMarkedActiveByTheMonitor_withoutDegradingHealth() throws Exception {
        HealthMonitor m = track(monitor().build());
        Children.Child holder = children.start();
        Allocation a = registry.allocate(AllocationRequest.builder("binder", "monitored").pid(holder.pid).build());
        holder.listenTcp(a.port());

        Health h = now(m);

        assertEquals(Health.Status.UP, h.status(), h.toString());
        assertEquals(Finding.Action.MARK_ACTIVE, h.actions().get(0).action());
        assertTrue(h.actions().get(0).done());
        assertEquals(AllocationStatus.ACTIVE, registry.find(a.id()).orElseThrow().status());
        PortObservation seen = m.history(PortKey.tcp(a.port())).get(0);
        assertEquals(AllocationStatus.ACTIVE, seen.record().orElseThrow().status(), "history holds the record after the round's actions");
        assertEquals(List.of(holder.pid), seen.status().listeningProcesses().stream().map(ProcessInfo::pid).toList());
    }

    @Test
    void monitorThatOnlyObserves_appliesNothing() throws Exception {
        HealthMonitor m = track(monitor().applySafeActions(false).build());
        Children.Child holder = children.start();
        Allocation a = registry.allocate(AllocationRequest.builder("binder", "monitored").pid(holder.pid).build());
        holder.listenTcp(a.port());

        Health h = now(m);

        assertEquals(List.of(Finding.Kind.BOUND_BY_HOLDER), h.findings().stream().map(Finding::kind).toList());
        assertTrue(h.actions().isEmpty());
        assertEquals(AllocationStatus.RESERVED, registry.find(a.id()).orElseThrow().status());
    }

    @Test
    void roundThatCannotRun_isDown_withTheReason() throws Exception {
        HealthMonitor refused = track(monitor().executor(task -> {
            throw new RejectedExecutionException("executor shut down");
        }).build());
        Health h = now(refused);
        assertEquals(Health.Status.DOWN, h.status());
        assertTrue(h.reasons().get(0).contains("executor shut down"), h.reasons().toString());

        HealthMonitor expiring = track(monitor().expireOverdue(true).executor(loops.next()).build());
        registry.close();
        Health failed = now(expiring);
        assertEquals(Health.Status.DOWN, failed.status());
        assertTrue(failed.reasons().get(0).contains("the registry is closed"), failed.reasons().toString());
    }

    @Test
    void hostWhoseSocketTablesCannotBeRead_isDegraded_notUp() throws Exception {
        Reconciler blind = Reconciler.builder(registry)
                .portCheck(PortCheck.builder().snapshots(() -> SocketSnapshot.unavailable(java.time.Instant.now())).build()).build();
        HealthMonitor m = track(monitor().reconciler(blind).build());

        Health h = now(m);

        assertEquals(Health.Status.DEGRADED, h.status());
        assertTrue(h.reasons().get(0).contains("not readable"), h.reasons().toString());
    }

    @Test
    void expireOverdue_expiresRecordsWhoseHolderIsGone() throws Exception {
        HealthMonitor m = track(monitor().expireOverdue(true).applySafeActions(false).build());
        Children.Child holder = children.start();
        Allocation a = registry.allocate(AllocationRequest.builder("doomed", "monitored").pid(holder.pid).build());
        holder.kill();

        Health h = now(m);

        assertEquals(AllocationStatus.EXPIRED, registry.find(a.id()).orElseThrow().status());
        assertTrue(h.findings().isEmpty(), h.findings().toString());
        assertEquals(1, registry.statistics().expiries());
        assertTrue(registry.byPort(a.port(), Protocol.TCP).isEmpty());
    }
}
