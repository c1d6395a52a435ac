package io.ports.bench.resolver;

import io.netty.resolver.ResolvedAddressTypes;
import io.netty.resolver.dns.DnsNameResolver;
import io.netty.resolver.dns.DnsNameResolverBuilder;
import io.netty.resolver.dns.DnsNameResolverChannelStrategy;
import io.netty.resolver.dns.SingletonDnsServerAddressStreamProvider;
import io.ports.core.EventLoops;
import io.ports.resolver.FamilyPreference;
import io.ports.resolver.PortsResolver;
import io.ports.resolver.testsupport.Knot;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;
import org.xbill.DNS.ARecord;
import org.xbill.DNS.Cache;
import org.xbill.DNS.Name;
import org.xbill.DNS.SimpleResolver;
import org.xbill.DNS.Type;
import org.xbill.DNS.lookup.LookupResult;
import org.xbill.DNS.lookup.LookupSession;

import java.net.InetAddress;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Host lookups (A records only) through three caching resolvers, each asking the same kind of
 * server: a Debian knotd on 127.0.0.1, started in the trial's setup by the ports-resolver test
 * support ({@link Knot}) with the zone {@link #ZONE} and stopped in its teardown (each fork, that
 * is each trial, has its own knotd with the same zone and configuration, one UDP worker).
 *
 * <ul>
 *   <li>{@code impl=ports}: {@link PortsResolver} on {@link EventLoops} (2 threads, best transport),
 *       knot as its only server, {@link FamilyPreference#IPV4_ONLY}, no search list, its default UDP
 *       sockets (4 shared sockets, each replaced after 1,000 questions or 10 s);
 *       {@code resolve(host).toCompletableFuture().join()}.</li>
 *   <li>{@code impl=portsSocketPerQuestion}: the same with {@code udpSocketRotation(1, 10 s)}: every
 *       question has a socket (and port) of its own, opened ahead of it. Not one of the three of the
 *       issue: it shows what a socket per question costs now.</li>
 *   <li>{@code impl=portsRotation100}: the same with {@code udpSocketRotation(100, 10 s)}, the default
 *       before it became 1,000: it shows what opening a socket every 25 questions (4 sockets) costs
 *       the tail of the misses.</li>
 *   <li>{@code impl=netty}: Netty's {@link DnsNameResolver} on one event loop of the same kind of
 *       {@code EventLoops}, with its datagram channel class ({@code EventLoops.datagramChannelClass()}),
 *       knot as the single name server, {@link ResolvedAddressTypes#IPV4_ONLY}, no search domains,
 *       its default caches and its default channel strategy (one datagram channel for all queries);
 *       {@code resolveAll(host).get()}.</li>
 *   <li>{@code impl=nettyChannelPerResolution}: the same with
 *       {@link DnsNameResolverChannelStrategy#ChannelPerResolution}, a new datagram channel (so a new
 *       source port) per resolution. Not one of the three of the issue: it shows what the fresh
 *       socket costs Netty on a miss.</li>
 *   <li>{@code impl=dnsjava}: dnsjava's {@link LookupSession} with {@code new SimpleResolver(knot)} and
 *       {@code new Cache()}; {@code lookupAsync(name, Type.A).toCompletableFuture().join()}. dnsjava
 *       takes a {@link Name}: hits use one parsed in setup (which favours dnsjava a little), misses
 *       parse theirs per operation as the other two parse their strings.</li>
 * </ul>
 *
 * <p>{@code hitThroughput_*} (ops/s; two threads: the sum) and {@code hitLatency_*} (Mode
 * {@code SampleTime}, ns: the distribution, for the median), on one and two threads: {@value #HIT}
 * (TTL 3600 s), resolved once in setup, so every measured lookup is a cache hit. The teardown prints how many A queries knot
 * answered during the trial, which shows that the measured lookups never reached the server.
 *
 * <p>{@code miss}: each operation resolves a name never asked before, {@code q<n>-<run>.miss.cluster.test.}
 * (the zone's wildcard {@code *.miss 3600 A 10.9.9.9} answers it): one A query over UDP to knot and
 * the answer stored in the cache. One thread, Mode {@code SampleTime}. The caches keep these entries
 * (Netty's has no bound, dnsjava's keeps 50,000, ours 10,000, so ours evicts once full).
 *
 * <p>Run: {@code scripts/bench ResolverBenchmark} (needs {@code knotd}: Debian's {@code knot}); the three
 * of the comparison only: {@code scripts/bench ResolverBenchmark -p impl=ports,netty,dnsjava}.
 */
@Fork(1)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@State(Scope.Benchmark)
public class ResolverBenchmark {
    static final String HIT = "hit.cluster.test.";
    static final String ZONE = String.join("\n",
            "$ORIGIN cluster.test.",
            "$TTL 3600",
            "@        SOA ns.cluster.test. admin.cluster.test. 1 3600 600 86400 5",
            "@        NS ns",
            "ns       A 127.0.0.1",
            "hit      3600 A 10.9.0.1",
            "*.miss   3600 A 10.9.9.9",
            "") + "\n";
    static final byte[] HIT_ADDRESS = {10, 9, 0, 1};
    static final byte[] MISS_ADDRESS = {10, 9, 9, 9};

    /** One lookup of a host, blocking until the answer is there; returns what the caller gets. */
    interface Lookup {
        Object lookup(String host) throws Exception;
    }

    @Param({"ports", "netty", "dnsjava", "portsSocketPerQuestion", "portsRotation100", "nettyChannelPerResolution"})
    public String impl;

    Knot knot;
    EventLoops loops;
    PortsResolver ports;
    DnsNameResolver netty;
    LookupSession dnsjava;
    Name hitName;
    Lookup lookup;
    Lookup hitLookup;
    final AtomicLong sequence = new AtomicLong();
    String run;
    long queriesBefore;

    @Setup(Level.Trial)
    public void setUp() throws Exception {
        knot = Knot.start(ZONE);
        loops = EventLoops.builder().threads(2).build();
        hitName = Name.fromString(HIT);
        run = Integer.toString(ThreadLocalRandom.current().nextInt(1 << 30), 36);
        switch (impl) {
            case "ports", "portsSocketPerQuestion", "portsRotation100" -> {
                PortsResolver.Builder b = PortsResolver.builder().eventLoops(loops).servers(knot.v4()).search(List.of())
                        .familyPreference(FamilyPreference.IPV4_ONLY);
                if (impl.equals("portsSocketPerQuestion")) {
                    b.udpSocketRotation(1, Duration.ofSeconds(10));
                } else if (impl.equals("portsRotation100")) {
                    b.udpSocketRotation(100, Duration.ofSeconds(10));
                }
                ports = b.build();
                lookup = host -> ports.resolve(host).toCompletableFuture().join();
                hitLookup = lookup;
            }
            case "netty", "nettyChannelPerResolution" -> {
                netty = new DnsNameResolverBuilder(loops.next())
                        .datagramChannelStrategy(impl.equals("netty") ? DnsNameResolverChannelStrategy.ChannelPerResolver
                                : DnsNameResolverChannelStrategy.ChannelPerResolution)
                        .datagramChannelType(loops.datagramChannelClass())
                        .nameServerProvider(new SingletonDnsServerAddressStreamProvider(knot.v4()))
                        .resolvedAddressTypes(ResolvedAddressTypes.IPV4_ONLY)
                        .searchDomains(List.of())
                        .build();
                lookup = host -> netty.resolveAll(host).get();
                hitLookup = lookup;
            }
            case "dnsjava" -> {
                dnsjava = LookupSession.builder().resolver(new SimpleResolver(knot.v4())).cache(new Cache()).build();
                lookup = host -> dnsjava.lookupAsync(Name.fromString(host), Type.A).toCompletableFuture().join();
                hitLookup = host -> dnsjava.lookupAsync(hitName, Type.A).toCompletableFuture().join();
            }
            default -> throw new IllegalArgumentException("impl " + impl
                    + ": expected ports, netty, dnsjava, portsSocketPerQuestion, portsRotation100 or nettyChannelPerResolution");
        }
        System.out.println("resolver " + impl + (loops != null ? " on " + loops : ""));
        check(lookup.lookup(HIT), HIT_ADDRESS, HIT);
        String probe = "probe-" + run + ".miss.cluster.test.";
        check(lookup.lookup(probe), MISS_ADDRESS, probe);
        queriesBefore = knot.count("query-type[A]");
    }

    /** Fails the trial unless the answer is the zone's address: nothing is measured on a wrong answer. */
    static void check(Object answer, byte[] expected, String host) {
        InetAddress first;
        if (answer instanceof List<?> list && !list.isEmpty() && list.get(0) instanceof InetAddress a) {
            first = a;
        } else if (answer instanceof LookupResult r && !r.getRecords().isEmpty() && r.getRecords().get(0) instanceof ARecord a) {
            first = a.getAddress();
        } else {
            throw new IllegalStateException("unexpected answer for " + host + ": " + answer);
        }
        if (!java.util.Arrays.equals(first.getAddress(), expected)) {
            throw new IllegalStateException(host + " resolved to " + first + ", expected " + java.util.Arrays.toString(expected));
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() throws Exception {
        try {
            long asked = knot.count("query-type[A]") - queriesBefore;
            System.out.println("knot answered " + asked + " A queries during the trial; names of misses used: " + sequence.get()
                    + (ports != null ? "; ports statistics: " + ports.statistics() : ""));
        } finally {
            if (ports != null) {
                ports.close();
            }
            if (netty != null) {
                netty.close();
            }
            loops.close();
            knot.close();
        }
    }

    @Benchmark
    @BenchmarkMode(Mode.Throughput)
    @OutputTimeUnit(TimeUnit.SECONDS)
    @Threads(1)
    public Object hitThroughput_oneThread() throws Exception {
        return hitLookup.lookup(HIT);
    }

    @Benchmark
    @BenchmarkMode(Mode.Throughput)
    @OutputTimeUnit(TimeUnit.SECONDS)
    @Threads(2)
    public Object hitThroughput_twoThreads() throws Exception {
        return hitLookup.lookup(HIT);
    }

    @Benchmark
    @BenchmarkMode(Mode.SampleTime)
    @OutputTimeUnit(TimeUnit.NANOSECONDS)
    @Threads(1)
    public Object hitLatency_oneThread() throws Exception {
        return hitLookup.lookup(HIT);
    }

    @Benchmark
    @BenchmarkMode(Mode.SampleTime)
    @OutputTimeUnit(TimeUnit.NANOSECONDS)
    @Threads(2)
    public Object hitLatency_twoThreads() throws Exception {
        return hitLookup.lookup(HIT);
    }

    @Benchmark
    @BenchmarkMode(Mode.SampleTime)
    @OutputTimeUnit(TimeUnit.MICROSECONDS)
    @Threads(1)
    public Object miss() throws Exception {
        return lookup.lookup("q" + sequence.incrementAndGet() + "-" + run + ".miss.cluster.test.");
    }

}
