package io.ports.health;

import io.ports.core.BindProbe;
import io.ports.core.PortRange;
import io.ports.core.Protocol;
import io.ports.core.ServiceCatalog;
import io.ports.core.ServiceType;
import io.ports.core.registry.Allocation;
import io.ports.core.registry.AllocationRequest;
import io.ports.core.registry.AllocationStatus;
import io.ports.core.registry.Registry;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Every finding produced for real: child JVMs listen, idle, get killed; the registry is a real one. */
@Timeout(180)
class ReconcilerTests {
    static final PortRange MANAGED = PortRange.of(31000, 31099);
    static final ServiceCatalog CATALOG = ServiceCatalog.empty().with(ServiceType.tcp("health-test", 0, MANAGED, "reconciler tests"));
    private static final Duration GRACE = Duration.ofSeconds(30);

    @TempDir
    Path tmp;

    private final Children children = new Children();
    private final TestClocks.Shifted clock = new TestClocks.Shifted();
    private Registry registry;
    private Reconciler reconciler;

    @BeforeEach
    void setUp() {
        registry = Registry.builder().catalog(CATALOG).lockDirectory(tmp.resolve("locks")).build();
        reconciler = Reconciler.builder(registry).clock(clock).reservedGrace(GRACE).build();
    }

    @AfterEach
    void tearDown() {
        try {
            children.close();
        } finally {
            registry.close();
        }
    }

    private Allocation allocate(String name, long pid) {
        return registry.allocate(AllocationRequest.builder(name, "health-test").pid(pid).build());
    }

    private static List<Finding> on(Reconciliation r, int port) {
        return r.findings(PortKey.tcp(port));
    }

    private AllocationStatus statusOf(Allocation a) {
        return registry.find(a.id()).orElseThrow().status();
    }

    @Test
    void reservedRecordNobodyBinds_isReportedOnlyAfterTheGrace_andReleasedOnlyOnceItsHolderIsGone() throws Exception {
        Children.Child holder = children.start();
        Allocation a = allocate("never-binds", holder.pid);

        assertEquals(List.of(), on(reconciler.reconcile(false), a.port()), "within the grace period");

        clock.advance(GRACE.plusSeconds(1));
        Reconciliation r = reconciler.reconcile(true);
        Finding f = on(r, a.port()).get(0);
        assertEquals(Finding.Kind.RESERVED_NEVER_BOUND, f.kind(), r.findings().toString());
        assertEquals(Finding.Action.CHECK_HOLDER, f.action(), "its holder still runs: ask it, do not release");
        assertEquals(holder.pid, f.holder().orElseThrow().pid());
        assertEquals(a.id(), f.recordId().orElseThrow());
        assertTrue(r.actions().isEmpty(), r.actions().toString());
        assertEquals(AllocationStatus.RESERVED, statusOf(a));

        holder.kill();
        Reconciliation dry = reconciler.reconcile(false);
        Finding gone = on(dry, a.port()).get(0);
        assertEquals(Finding.Kind.RESERVED_NEVER_BOUND, gone.kind());
        assertEquals(Finding.Action.EXPIRE, gone.action(), gone.detail());
        assertTrue(gone.holder().isEmpty());
        assertTrue(dry.actions().isEmpty());
        assertEquals(AllocationStatus.RESERVED, statusOf(a), "reconcile(false) changes nothing");

        Reconciliation applied = reconciler.reconcile(true);
        assertEquals(1, applied.done().size(), applied.actions().toString());
        assertEquals(AllocationStatus.EXPIRED, statusOf(a));
        assertTrue(registry.byPort(a.port(), Protocol.TCP).isEmpty());
    }

    @Test
    void activeRecordWhoseHolderWasKilled_isActiveNotListening_andReleasedWhenApplying() throws Exception {
        Children.Child holder = children.start();
        Allocation a = allocate("crashes", holder.pid);
        holder.listenTcp(a.port());
        registry.heartbeat(a.id());
        assertEquals(List.of(), on(reconciler.reconcile(false), a.port()), "ACTIVE and served by its holder: nothing to say");

        holder.kill(); // kill -9: nobody closes anything, nobody releases the record

        Reconciliation r = reconciler.reconcile(false);
        Finding f = on(r, a.port()).get(0);
        assertEquals(Finding.Kind.ACTIVE_NOT_LISTENING, f.kind(), r.findings().toString());
        assertEquals(Finding.Action.EXPIRE, f.action(), f.detail());
        assertTrue(f.observed().isEmpty());
        assertTrue(f.detail().contains("crashed"), f.detail());
        PortStatus checked = r.checked().stream().filter(s -> s.port() == a.port()).findFirst().orElseThrow();
        assertTrue(checked.isFree(), checked.toString());
        assertEquals(AllocationStatus.ACTIVE, statusOf(a));

        Reconciliation applied = reconciler.reconcile(true);
        AppliedAction done = applied.done().get(0);
        assertEquals(Finding.Action.EXPIRE, done.action());
        assertEquals(AllocationStatus.EXPIRED, done.record().orElseThrow().status());
        assertEquals(AppliedAction.Result.DONE, done.result());
        assertEquals(AllocationStatus.EXPIRED, statusOf(a));
        assertEquals(List.of(), on(reconciler.reconcile(false), a.port()), "expired: nothing left to report");
    }

    @Test
    void activeRecordWhoseHolderRunsButStoppedListening_isReportedAndLeftAlone() throws Exception {
        Children.Child holder = children.start();
        Allocation a = allocate("stopped", holder.pid);
        holder.listenTcp(a.port());
        registry.heartbeat(a.id());
        holder.closeSockets();

        Reconciliation r = reconciler.reconcile(true);

        Finding f = on(r, a.port()).get(0);
        assertEquals(Finding.Kind.ACTIVE_NOT_LISTENING, f.kind());
        assertEquals(Finding.Action.CHECK_HOLDER, f.action(), f.detail());
        assertEquals(holder.pid, f.holder().orElseThrow().pid());
        assertTrue(r.actions().isEmpty(), r.actions().toString());
        assertEquals(AllocationStatus.ACTIVE, statusOf(a));
        assertTrue(holder.isAlive());
    }

    @Test
    void recordedPortListenedOnByAnotherProcess_isStolen_andNeitherPartyIsTouched() throws Exception {
        Children.Child holder = children.start();
        Children.Child thief = children.start();
        Allocation a = allocate("victim", holder.pid);
        registry.heartbeat(a.id());
        thief.listenTcp(a.port());

        Reconciliation r = reconciler.reconcile(true);

        Finding f = on(r, a.port()).get(0);
        assertEquals(Finding.Kind.STOLEN, f.kind(), r.findings().toString());
        assertEquals(List.of(thief.pid), f.observed().stream().map(ProcessInfo::pid).toList());
        assertEquals(holder.pid, f.holder().orElseThrow().pid());
        assertEquals(a.id(), f.record().orElseThrow().id());
        assertEquals(Finding.Action.RESOLVE_CONFLICT, f.action());
        assertFalse(f.action().isAutomatic());
        assertTrue(r.actions().isEmpty(), r.actions().toString());
        assertEquals(AllocationStatus.ACTIVE, statusOf(a));
        assertTrue(thief.isAlive() && holder.isAlive());
        assertTrue(SocketSnapshot.take().listeningProcesses(a.port(), Protocol.TCP).stream().anyMatch(p -> p.pid() == thief.pid),
                "the thief still listens");
    }

    @Test
    void listenerInAManagedRangeWithoutRecord_isASquatter_whileOneOutsideTheRangesIsNot() throws Exception {
        Children.Child squatter = children.start();
        int inRange = Children.freePort(MANAGED, Set.of());
        squatter.listenTcp(inRange);
        int outside = squatter.listenTcp(0); // the kernel's ephemeral range, not managed

        Reconciliation r = reconciler.reconcile(true);

        Finding f = on(r, inRange).get(0);
        assertEquals(Finding.Kind.SQUATTER, f.kind());
        assertTrue(f.record().isEmpty());
        assertEquals(List.of(squatter.pid), f.observed().stream().map(ProcessInfo::pid).toList());
        assertEquals(Finding.Action.REGISTER_OR_STOP, f.action());
        assertTrue(f.detail().contains(MANAGED.toString()), f.detail());
        assertEquals(List.of(), on(r, outside));
        assertTrue(r.actions().isEmpty());
        assertTrue(squatter.isAlive());
    }

    @Test
    void exemptListener_isNoSquatter_andTheExemptionIsAskedEachRound() throws Exception {
        Children.Child own = children.start();
        int port = Children.freePort(MANAGED, Set.of());
        own.listenTcp(port);
        java.util.concurrent.atomic.AtomicInteger exemptPort = new java.util.concurrent.atomic.AtomicInteger();
        Reconciler r = Reconciler.builder(registry).clock(clock).reservedGrace(GRACE)
                .exempt(k -> k.protocol() == Protocol.TCP && k.port() == exemptPort.get()).build();

        assertEquals(Finding.Kind.SQUATTER, on(r.reconcile(false), port).get(0).kind(), "not exempt yet");
        exemptPort.set(port); // as the daemon does once its listener is bound
        assertEquals(List.of(), on(r.reconcile(false), port));
        assertThrows(NullPointerException.class, () -> Reconciler.builder(registry).exempt(null));
    }

    @Test
    void reservedPortListenedOnByItsHolder_isMarkedActiveOnlyWhenApplying() throws Exception {
        Children.Child holder = children.start();
        Allocation a = allocate("binds", holder.pid);
        holder.listenTcp(a.port());

        Reconciliation dry = reconciler.reconcile(false);
        Finding f = on(dry, a.port()).get(0);
        assertEquals(Finding.Kind.BOUND_BY_HOLDER, f.kind());
        assertEquals(Finding.Action.MARK_ACTIVE, f.action());
        assertFalse(f.kind().isProblem());
        assertEquals(AllocationStatus.RESERVED, statusOf(a), "reconcile(false) changes nothing");

        Reconciliation applied = reconciler.reconcile(true);
        assertEquals(Finding.Action.MARK_ACTIVE, applied.done().get(0).action());
        assertEquals(AllocationStatus.ACTIVE, statusOf(a));
        assertEquals(List.of(), on(reconciler.reconcile(false), a.port()));
    }

    @Test
    void listenerForkedByTheRecordedProcess_countsAsTheHolder() throws Exception {
        // the recorded pid is a shell; the JVM that listens is its child
        Children.Child wrapper = children.start(List.of("/bin/sh", "-c", "\"$0\" \"$@\"; exit $?"));
        Allocation a = allocate("wrapped", wrapper.pid);
        wrapper.listenTcp(a.port());
        assertTrue(wrapper.jvmPid != wrapper.pid, "the shell forked the JVM");

        Reconciliation r = reconciler.reconcile(true);

        Finding f = on(r, a.port()).get(0);
        assertEquals(Finding.Kind.BOUND_BY_HOLDER, f.kind(), r.findings().toString());
        assertEquals(List.of(wrapper.jvmPid), f.observed().stream().map(ProcessInfo::pid).toList());
        assertEquals(AllocationStatus.ACTIVE, statusOf(a));
    }

    @Test
    void unreadableSocketTables_giveNoFindings_ratherThanEveryPortNotListening() throws Exception {
        Children.Child holder = children.start();
        Allocation a = allocate("served", holder.pid);
        holder.listenTcp(a.port());
        registry.heartbeat(a.id());
        Reconciler blind = Reconciler.builder(registry)
                .portCheck(PortCheck.builder().snapshots(() -> SocketSnapshot.unavailable(java.time.Instant.now())).build()).build();

        Reconciliation r = blind.reconcile(true);

        assertFalse(r.socketsVisible());
        assertEquals(List.of(), r.findings());
        assertEquals(AllocationStatus.ACTIVE, statusOf(a));
    }

    @Test
    void reconcileTrue_appliesOnlyTheSafeActions() throws Exception {
        Children.Child binder = children.start();
        Children.Child crasher = children.start();
        Children.Child idle = children.start();
        Children.Child thief = children.start();
        Children.Child squatter = children.start();

        Allocation bound = allocate("bound", binder.pid);
        binder.listenTcp(bound.port());
        Allocation crashed = allocate("crashed", crasher.pid);
        crasher.listenTcp(crashed.port());
        registry.heartbeat(crashed.id());
        Allocation waiting = allocate("waiting", idle.pid);
        Allocation stolen = allocate("stolen", idle.pid);
        registry.heartbeat(stolen.id());
        thief.listenTcp(stolen.port());
        Set<Integer> recorded = Set.of(bound.port(), crashed.port(), waiting.port(), stolen.port());
        int squatted = Children.freePort(MANAGED, recorded);
        squatter.listenTcp(squatted);
        crasher.kill();
        clock.advance(GRACE.plusSeconds(5));

        Reconciliation r = reconciler.reconcile(true);

        Map<Integer, Finding.Kind> kinds = r.findings().stream()
                .filter(f -> recorded.contains(f.port()) || f.port() == squatted)
                .collect(Collectors.toMap(Finding::port, Finding::kind));
        assertEquals(Map.of(bound.port(), Finding.Kind.BOUND_BY_HOLDER, crashed.port(), Finding.Kind.ACTIVE_NOT_LISTENING,
                waiting.port(), Finding.Kind.RESERVED_NEVER_BOUND, stolen.port(), Finding.Kind.STOLEN,
                squatted, Finding.Kind.SQUATTER), kinds, r.findings().toString());
        Map<Integer, Finding.Action> done = r.done().stream().filter(x -> recorded.contains(x.finding().port()))
                .collect(Collectors.toMap(x -> x.finding().port(), AppliedAction::action));
        assertEquals(Map.of(bound.port(), Finding.Action.MARK_ACTIVE, crashed.port(), Finding.Action.EXPIRE), done, r.actions().toString());
        assertTrue(r.actions().stream().allMatch(x -> x.action().isAutomatic()), "only automatic remedies are attempted");

        assertEquals(AllocationStatus.ACTIVE, statusOf(bound));
        assertEquals(AllocationStatus.EXPIRED, statusOf(crashed));
        assertEquals(AllocationStatus.RESERVED, statusOf(waiting), "its holder runs: not released");
        assertEquals(AllocationStatus.ACTIVE, statusOf(stolen), "a conflict is reported, never settled");
        assertTrue(binder.isAlive() && idle.isAlive() && thief.isAlive() && squatter.isAlive(), "no process is touched");
        assertFalse(BindProbe.wildcard().isFree(stolen.port()), "the thief still listens");
        assertFalse(BindProbe.wildcard().isFree(squatted), "the squatter still listens");
        assertEquals(r.findings().stream().filter(f -> f.kind().isProblem() && f.port() != crashed.port()
                && (recorded.contains(f.port()) || f.port() == squatted)).toList(),
                r.unresolved().stream().filter(f -> recorded.contains(f.port()) || f.port() == squatted).toList());
    }
}
