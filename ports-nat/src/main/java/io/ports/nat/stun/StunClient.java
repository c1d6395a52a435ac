package io.ports.nat.stun;

import io.ports.core.EventLoops;
import io.ports.core.PortLease;
import io.ports.core.Protocol;
import io.ports.nat.NatTimeoutException;
import io.ports.nat.NatTraversalException;
import io.ports.nat.internal.NatUtil;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A STUN client (RFC 8489) on the node's shared event loops: asks STUN servers which transport
 * address they see this node at, over UDP or TCP, IPv4 or IPv6, optionally from a given local port
 * (the one a service was given, to learn that port's public mapping).
 *
 * <p>UDP requests are retransmitted on the RFC schedule: RTO 500 ms, doubling, 7 sends, then 16 RTOs
 * of waiting, so a silent server fails after 39.5 s with the number of sends in the message. TCP sends
 * once and waits Ti (39.5 s). Servers are tried in order until one answers; a 300 Try Alternate is
 * followed once. Every request carries FINGERPRINT; responses with a wrong FINGERPRINT, another
 * transaction id or a broken header are discarded as RFC 8489 says.
 *
 * <pre>{@code
 * StunClient stun = StunClient.builder(loops).servers(List.of(stun1, stun2)).build();
 * stun.binding(lease, Protocol.UDP).thenAccept(b -> log.info("public endpoint {}", b.mapped()));
 * stun.natBehavior().thenAccept(nat -> log.info("mapping {}", nat.mapping()));
 * }</pre>
 *
 * <p>Futures complete on an event loop thread: do not block in their callbacks. {@link #close()}
 * fails what is still running and closes its sockets; the event loops are borrowed, never closed.
 */
public final class StunClient implements AutoCloseable {
    static final SecureRandom RANDOM = new SecureRandom();

    private final EventLoops loops;
    private final List<InetSocketAddress> servers;
    private final UdpStunSession.Schedule schedule;
    private final UdpStunSession.Schedule filteringSchedule;
    private final Duration tcpTimeout;
    private final boolean fingerprint;
    private final Set<UdpStunSession> open = ConcurrentHashMap.newKeySet();
    private final AtomicBoolean closed = new AtomicBoolean();

    private StunClient(Builder b) {
        this.loops = b.loops;
        this.servers = List.copyOf(b.servers);
        this.schedule = new UdpStunSession.Schedule(b.rto, b.sends, b.lastWait);
        this.filteringSchedule = new UdpStunSession.Schedule(b.rto, b.filteringSends, b.filteringLastWait);
        this.tcpTimeout = b.tcpTimeout;
        this.fingerprint = b.fingerprint;
    }

    /** A builder borrowing {@code loops}. */
    public static Builder builder(EventLoops loops) {
        return new Builder(loops);
    }

    public List<InetSocketAddress> servers() {
        return servers;
    }

    /** The public endpoint of an ephemeral UDP port, from the first server that answers. */
    public CompletionStage<StunBinding> binding() {
        return binding(Protocol.UDP, 0);
    }

    /** The public endpoint of an ephemeral port of {@code transport}, from the first server that answers. */
    public CompletionStage<StunBinding> binding(Protocol transport) {
        return binding(transport, 0);
    }

    /** The public endpoint of the lease's port: the request leaves from that port (with SO_REUSEADDR). */
    public CompletionStage<StunBinding> binding(PortLease lease, Protocol transport) {
        Objects.requireNonNull(lease, "lease");
        if (lease.isReleased()) {
            return CompletableFuture.failedFuture(new IllegalStateException("lease " + lease + " is released: ask for a live lease's port"));
        }
        return binding(transport, lease.port());
    }

    /**
     * The public endpoint of {@code localPort} (0: an ephemeral port) over {@code transport}, asking
     * the configured servers in order until one answers.
     */
    public CompletionStage<StunBinding> binding(Protocol transport, int localPort) {
        Objects.requireNonNull(transport, "transport");
        if (localPort < 0 || localPort > 65_535) {
            return CompletableFuture.failedFuture(new IllegalArgumentException("local port : " + localPort + " (expected: 0-65535)"));
        }
        if (servers.isEmpty()) {
            return CompletableFuture.failedFuture(new IllegalStateException(
                    "no STUN servers configured: pass them with StunClient.builder(loops).servers(...)"));
        }
        return failover(new ArrayList<>(servers), 0, transport, localPort, new ArrayList<>(), false);
    }

    /** The public endpoint of {@code localPort} as {@code server} sees it; no failover. */
    public CompletionStage<StunBinding> binding(InetSocketAddress server, Protocol transport, int localPort) {
        Objects.requireNonNull(server, "server");
        Objects.requireNonNull(transport, "transport");
        if (closed.get()) {
            return CompletableFuture.failedFuture(closedException());
        }
        return once(server, transport, localPort);
    }

    private CompletableFuture<StunBinding> failover(List<InetSocketAddress> queue, int index, Protocol transport, int localPort,
                                                   List<Throwable> failures, boolean redirected) {
        if (closed.get()) {
            return CompletableFuture.failedFuture(closedException());
        }
        if (index >= queue.size()) {
            return CompletableFuture.failedFuture(allFailed(transport, failures));
        }
        InetSocketAddress server = queue.get(index);
        return once(server, transport, localPort).handle((b, t) -> {
            if (t == null) {
                return CompletableFuture.completedFuture(b);
            }
            Throwable cause = NatUtil.unwrap(t);
            failures.add(cause);
            boolean follow = !redirected && cause instanceof StunErrorException && ((StunErrorException) cause).errorCode() == 300
                    && ((StunErrorException) cause).alternateServer() != null;
            if (follow) {
                queue.add(index + 1, ((StunErrorException) cause).alternateServer());
            }
            return failover(queue, index + 1, transport, localPort, failures, redirected || follow);
        }).thenCompose(f -> f);
    }

    private NatTraversalException allFailed(Protocol transport, List<Throwable> failures) {
        if (failures.size() == 1 && failures.get(0) instanceof NatTraversalException) {
            return (NatTraversalException) failures.get(0);
        }
        StringBuilder m = new StringBuilder("STUN Binding over ").append(transport).append(" failed on all ")
                .append(failures.size()).append(" servers tried:");
        boolean allTimeouts = true;
        int sends = 0;
        Duration elapsed = Duration.ZERO;
        for (int i = 0; i < failures.size(); i++) {
            Throwable f = failures.get(i);
            m.append(" [").append(i + 1).append("] ").append(NatUtil.describe(f));
            if (f instanceof NatTimeoutException) {
                sends += ((NatTimeoutException) f).attempts();
                elapsed = elapsed.plus(((NatTimeoutException) f).elapsed());
            } else {
                allTimeouts = false;
            }
        }
        NatTraversalException e = allTimeouts ? new NatTimeoutException(m.toString(), sends, elapsed) : new NatTraversalException(m.toString());
        failures.forEach(e::addSuppressed);
        return e;
    }

    private CompletableFuture<StunBinding> once(InetSocketAddress server, Protocol transport, int localPort) {
        if (server.isUnresolved()) {
            return CompletableFuture.failedFuture(new IllegalArgumentException("STUN server " + server
                    + " is unresolved: resolve it first (ports-resolver)"));
        }
        InetSocketAddress local = new InetSocketAddress(NatUtil.wildcardFor(server.getAddress()), localPort);
        if (transport == Protocol.TCP) {
            return TcpStunExchange.run(loops, server, localPort == 0 ? null : local, tcpTimeout, fingerprint)
                    .thenApply(r -> toBinding(r, server, Protocol.TCP));
        }
        // bound to the address the route to the server leaves from, so the session knows its real local endpoint
        InetAddress source = NatUtil.sourceAddressFor(server.getAddress());
        InetSocketAddress udpLocal = source != null ? new InetSocketAddress(source, localPort) : local;
        return UdpStunSession.open(loops, udpLocal, server).thenCompose(session -> {
            open.add(session);
            return session.transact(server, 0, fingerprint, schedule).whenComplete((r, t) -> {
                open.remove(session);
                session.close();
            });
        }).thenApply(r -> toBinding(r, server, Protocol.UDP));
    }

    private static StunBinding toBinding(UdpStunSession.Response r, InetSocketAddress server, Protocol transport) {
        StunMessage m = r.message();
        if (m.isError()) {
            throw new StunErrorException("STUN Binding request to " + NatUtil.format(server) + " over " + transport
                    + " answered with error " + m.errorCode + (m.errorReason.isEmpty() ? "" : " '" + m.errorReason + "'")
                    + ": " + StunErrorException.explain(m.errorCode)
                    + (m.alternateServer != null ? " (ALTERNATE-SERVER " + NatUtil.format(m.alternateServer) + ")" : "")
                    + (m.unknownAttributes.isEmpty() ? "" : " (UNKNOWN-ATTRIBUTES " + hex(m.unknownAttributes) + ")"),
                    server, m.errorCode, m.errorReason, m.alternateServer);
        }
        if (!m.unknownRequired.isEmpty()) {
            throw new NatTraversalException("STUN Binding response from " + NatUtil.format(server) + " over " + transport
                    + " carries comprehension-required attributes this client does not know (" + hex(m.unknownRequired)
                    + "): discarded as RFC 8489 section 6.3.3 requires");
        }
        if (m.mapped() == null) {
            throw new NatTraversalException("STUN Binding response from " + NatUtil.format(server) + " over " + transport
                    + " has neither XOR-MAPPED-ADDRESS nor MAPPED-ADDRESS: is it a STUN server?");
        }
        return new StunBinding(m.mapped(), server, r.local(), transport, m.otherAddress, m.responseOrigin, m.software,
                r.sends(), Duration.ofNanos(r.roundTripNanos()));
    }

    private static String hex(List<Integer> attrs) {
        StringBuilder s = new StringBuilder();
        for (int a : attrs) {
            s.append(s.length() == 0 ? "" : ", ").append(String.format("0x%04x", a));
        }
        return s.toString();
    }

    /** {@link #natBehavior(int)} from an ephemeral UDP port. */
    public CompletionStage<NatBehavior> natBehavior() {
        return natBehavior(0);
    }

    /**
     * How the NAT in front of {@code localPort} (0: an ephemeral port) maps and filters UDP. When the
     * first server that answers offers OTHER-ADDRESS, runs RFC 5780's mapping tests (I: primary
     * address; II: alternate address, primary port; III: alternate address and port) and filtering tests
     * (CHANGE-REQUEST for address and port, then port only; these wait a shorter time, see
     * {@link Builder#filteringSends}). Otherwise compares what the first two answering servers see.
     */
    public CompletionStage<NatBehavior> natBehavior(int localPort) {
        if (localPort < 0 || localPort > 65_535) {
            return CompletableFuture.failedFuture(new IllegalArgumentException("local port : " + localPort + " (expected: 0-65535)"));
        }
        if (servers.isEmpty()) {
            return CompletableFuture.failedFuture(new IllegalStateException(
                    "no STUN servers configured: pass them with StunClient.builder(loops).servers(...)"));
        }
        if (closed.get()) {
            return CompletableFuture.failedFuture(closedException());
        }
        InetSocketAddress first = servers.get(0);
        InetAddress source = NatUtil.sourceAddressFor(first.getAddress());
        InetSocketAddress local = new InetSocketAddress(source != null ? source : NatUtil.wildcardFor(first.getAddress()), localPort);
        return UdpStunSession.open(loops, local, null).thenCompose(session -> {
            open.add(session);
            return new BehaviorTest(session).run().whenComplete((r, t) -> {
                open.remove(session);
                session.close();
            });
        });
    }

    /** The RFC 5780 / comparison procedure on one unconnected socket. */
    private final class BehaviorTest {
        final UdpStunSession session;
        final StringBuilder detail = new StringBuilder();

        BehaviorTest(UdpStunSession session) {
            this.session = session;
        }

        CompletableFuture<NatBehavior> run() {
            return firstAnswer(0, new ArrayList<>()).thenCompose(primary -> {
                StunBinding t1 = primary;
                InetSocketAddress local = session.localAddress();
                boolean translated = !NatUtil.sameEndpoint(t1.mapped(), local);
                note("test I " + NatUtil.format(t1.server()) + " saw " + NatUtil.format(t1.mapped()));
                if (t1.otherAddress() == null) {
                    int next = servers.indexOf(t1.server()) + 1;
                    if (next <= 0 || next >= servers.size()) {
                        note("no OTHER-ADDRESS and no second server");
                        return CompletableFuture.completedFuture(result(NatBehavior.Mapping.UNKNOWN, NatBehavior.Filtering.UNKNOWN,
                                translated, t1, NatBehavior.Method.SINGLE_SERVER));
                    }
                    return ask(servers.get(next), 0, schedule).thenApply(t2 -> {
                        note(NatUtil.format(t2.server()) + " saw " + NatUtil.format(t2.mapped()));
                        NatBehavior.Mapping m = NatUtil.sameEndpoint(t1.mapped(), t2.mapped())
                                ? NatBehavior.Mapping.ENDPOINT_INDEPENDENT : NatBehavior.Mapping.ENDPOINT_DEPENDENT;
                        return result(m, NatBehavior.Filtering.UNKNOWN, translated, t1, NatBehavior.Method.SERVER_COMPARISON);
                    });
                }
                InetSocketAddress other = t1.otherAddress();
                CompletableFuture<NatBehavior.Mapping> mapping;
                if (!translated) {
                    note("no NAT: the mapped endpoint is the local one");
                    mapping = CompletableFuture.completedFuture(NatBehavior.Mapping.ENDPOINT_INDEPENDENT);
                } else {
                    InetSocketAddress altIpPrimaryPort = new InetSocketAddress(other.getAddress(), t1.server().getPort());
                    mapping = ask(altIpPrimaryPort, 0, schedule).thenCompose(t2 -> {
                        note("test II " + NatUtil.format(altIpPrimaryPort) + " saw " + NatUtil.format(t2.mapped()));
                        if (NatUtil.sameEndpoint(t2.mapped(), t1.mapped())) {
                            return CompletableFuture.completedFuture(NatBehavior.Mapping.ENDPOINT_INDEPENDENT);
                        }
                        return ask(other, 0, schedule).thenApply(t3 -> {
                            note("test III " + NatUtil.format(other) + " saw " + NatUtil.format(t3.mapped()));
                            return NatUtil.sameEndpoint(t3.mapped(), t2.mapped()) ? NatBehavior.Mapping.ADDRESS_DEPENDENT
                                    : NatBehavior.Mapping.ADDRESS_AND_PORT_DEPENDENT;
                        });
                    });
                }
                return mapping.thenCompose(m -> filtering(t1.server()).thenApply(f ->
                        result(m, f, translated, t1, NatBehavior.Method.RFC_5780)));
            });
        }

        private CompletableFuture<NatBehavior.Filtering> filtering(InetSocketAddress server) {
            return ask(server, StunMessage.CHANGE_IP | StunMessage.CHANGE_PORT, filteringSchedule).handle((b, t) -> {
                if (t == null) {
                    note("filtering test II answered from " + NatUtil.format(b.responseOrigin()));
                    return CompletableFuture.completedFuture(NatBehavior.Filtering.ENDPOINT_INDEPENDENT);
                }
                Throwable c = NatUtil.unwrap(t);
                if (!(c instanceof NatTimeoutException)) {
                    note("filtering test II failed: " + NatUtil.describe(c));
                    return CompletableFuture.completedFuture(NatBehavior.Filtering.UNKNOWN);
                }
                note("filtering test II: no answer");
                return ask(server, StunMessage.CHANGE_PORT, filteringSchedule).handle((b3, t3) -> {
                    if (t3 == null) {
                        note("filtering test III answered");
                        return NatBehavior.Filtering.ADDRESS_DEPENDENT;
                    }
                    Throwable c3 = NatUtil.unwrap(t3);
                    note("filtering test III: " + (c3 instanceof NatTimeoutException ? "no answer" : NatUtil.describe(c3)));
                    return c3 instanceof NatTimeoutException ? NatBehavior.Filtering.ADDRESS_AND_PORT_DEPENDENT
                            : NatBehavior.Filtering.UNKNOWN;
                });
            }).thenCompose(f -> f);
        }

        private CompletableFuture<StunBinding> firstAnswer(int index, List<Throwable> failures) {
            if (index >= servers.size()) {
                return CompletableFuture.failedFuture(allFailed(Protocol.UDP, failures));
            }
            return ask(servers.get(index), 0, schedule).handle((b, t) -> {
                if (t == null) {
                    return CompletableFuture.completedFuture(b);
                }
                failures.add(NatUtil.unwrap(t));
                return firstAnswer(index + 1, failures);
            }).thenCompose(f -> f);
        }

        private CompletableFuture<StunBinding> ask(InetSocketAddress server, int change, UdpStunSession.Schedule s) {
            if (closed.get()) {
                return CompletableFuture.failedFuture(closedException());
            }
            return session.transact(server, change, fingerprint, s).thenApply(r -> toBinding(r, server, Protocol.UDP));
        }

        private void note(String s) {
            detail.append(detail.length() == 0 ? "" : "; ").append(s);
        }

        private NatBehavior result(NatBehavior.Mapping m, NatBehavior.Filtering f, boolean translated, StunBinding t1, NatBehavior.Method method) {
            return new NatBehavior(m, f, translated, session.localAddress(), t1.mapped(), method, detail.toString());
        }
    }

    private static NatTraversalException closedException() {
        return new NatTraversalException("the STUN client is closed");
    }

    /** Fails what is still running and closes its sockets. Idempotent. */
    @Override
    public void close() {
        if (closed.compareAndSet(false, true)) {
            for (UdpStunSession s : List.copyOf(open)) {
                s.close();
            }
            open.clear();
        }
    }

    /** Configures a {@link StunClient}. */
    public static final class Builder {
        private final EventLoops loops;
        private final List<InetSocketAddress> servers = new ArrayList<>();
        private Duration rto = Duration.ofMillis(500);
        private int sends = 7;
        private int lastWait = 16;
        private int filteringSends = 3;
        private int filteringLastWait = 4;
        private Duration tcpTimeout = Duration.ofMillis(39_500);
        private boolean fingerprint = true;

        private Builder(EventLoops loops) {
            this.loops = Objects.requireNonNull(loops, "event loops");
        }

        /** Servers to ask, in order; each must be resolved. @return {@code this} */
        public Builder servers(List<InetSocketAddress> servers) {
            Objects.requireNonNull(servers, "servers");
            for (InetSocketAddress s : servers) {
                Objects.requireNonNull(s, "server");
                if (s.isUnresolved()) {
                    throw new IllegalArgumentException("STUN server " + s + " is unresolved: resolve it first");
                }
                if (s.getPort() == 0) {
                    throw new IllegalArgumentException("STUN server " + s + " has port 0 (expected: 1-65535, usually 3478)");
                }
            }
            this.servers.clear();
            this.servers.addAll(servers);
            return this;
        }

        /** @return {@code this} */
        public Builder server(InetSocketAddress server) {
            List<InetSocketAddress> all = new ArrayList<>(servers);
            all.add(server);
            return servers(all);
        }

        /** Initial retransmission timeout for UDP; default 500 ms (RFC 8489 section 6.2.1). @return {@code this} */
        public Builder rto(Duration rto) {
            Objects.requireNonNull(rto, "rto");
            if (rto.isNegative() || rto.isZero()) {
                throw new IllegalArgumentException("rto : " + rto + " (expected: > 0)");
            }
            this.rto = rto;
            return this;
        }

        /** Sends per UDP request (Rc); default 7. @return {@code this} */
        public Builder sends(int sends) {
            if (sends < 1 || sends > 20) {
                throw new IllegalArgumentException("sends : " + sends + " (expected: 1-20)");
            }
            this.sends = sends;
            return this;
        }

        /** RTOs to wait after the last send (Rm); default 16. @return {@code this} */
        public Builder lastWait(int rtos) {
            if (rtos < 1 || rtos > 64) {
                throw new IllegalArgumentException("last wait : " + rtos + " (expected: 1-64 RTOs)");
            }
            this.lastWait = rtos;
            return this;
        }

        /**
         * Sends and last wait (in RTOs) of the RFC 5780 filtering tests, where silence is an expected
         * answer; default 3 sends and 4 RTOs (3.5 s with the default RTO). @return {@code this}
         */
        public Builder filteringSends(int sends, int lastWaitRtos) {
            if (sends < 1 || sends > 20 || lastWaitRtos < 1 || lastWaitRtos > 64) {
                throw new IllegalArgumentException("filtering sends : " + sends + ", last wait : " + lastWaitRtos
                        + " (expected: 1-20 sends, 1-64 RTOs)");
            }
            this.filteringSends = sends;
            this.filteringLastWait = lastWaitRtos;
            return this;
        }

        /** Transaction timeout over TCP (Ti); default 39.5 s. @return {@code this} */
        public Builder tcpTimeout(Duration timeout) {
            Objects.requireNonNull(timeout, "tcp timeout");
            if (timeout.isNegative() || timeout.isZero()) {
                throw new IllegalArgumentException("tcp timeout : " + timeout + " (expected: > 0)");
            }
            this.tcpTimeout = timeout;
            return this;
        }

        /** Whether requests carry FINGERPRINT; default true. @return {@code this} */
        public Builder fingerprint(boolean fingerprint) {
            this.fingerprint = fingerprint;
            return this;
        }

        public StunClient build() {
            return new StunClient(this);
        }
    }
}
