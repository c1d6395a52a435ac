package io.ports.bench.nat;

import io.ports.core.EventLoops;
import io.ports.nat.stun.StunBinding;
import io.ports.nat.stun.StunClient;
import io.ports.nat.testsupport.Coturn;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;

import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

/**
 * One STUN Binding round trip against coturn ({@code turnserver}, STUN only, {@code no-rfc5780}, so
 * that every client does exactly one Binding exchange) on 127.0.0.1, started per trial by the
 * ports-nat test support ({@link Coturn#loopback}) and stopped in the teardown. One thread, Mode
 * {@code SampleTime}, µs.
 *
 * <ul>
 *   <li>{@code ours_freshSocket}: {@link StunClient#binding()} on {@link EventLoops} (2 threads), as a
 *       node calls it: a new UDP socket (Netty channel) per request, bound to the source address of the
 *       route to the server, one Binding request with FINGERPRINT, the response decoded and checked
 *       (transaction id, FINGERPRINT, XOR-MAPPED-ADDRESS), the socket closed. Our public API has no
 *       call that reuses a socket, so the round trip on an open socket is shown twice: by the floor
 *       below, and by the round trip our client itself measured on its socket for each binding
 *       ({@link StunBinding#roundTrip()}: from its send to the response on the event loop), whose
 *       median and mean the teardown prints.</li>
 *   <li>{@code floor_openSocket}: the least any client can do: a 20-byte Binding request (random
 *       transaction id, no attributes) on one connected, blocking {@link DatagramSocket} kept open for
 *       the trial, and the response's type and transaction id checked. No retransmission, no decoding.</li>
 *   <li>{@code ref_turnutilsStunclient}: {@code turnutils_stunclient -p PORT 127.0.0.1} (coturn's own
 *       client) spawned per request; its "UDP reflexive addr" line checked.</li>
 *   <li>{@code ref_stunClient}: {@code stun 127.0.0.1:PORT 1 -v} (Debian's {@code stun-client}, an
 *       RFC 3489 client; test 1 is a single Binding request) spawned per request; its MappedAddress checked.</li>
 *   <li>{@code spawn_true}, {@code spawn_turnutilsUsage}, {@code spawn_stunUsage}: the process cost
 *       alone through the same spawn path: {@code /bin/true}, and each client started without
 *       arguments, so that it loads its libraries, prints its usage and exits without any network
 *       work. Subtracting a client's usage run from its request run gives its cost net of spawning.</li>
 * </ul>
 *
 * <p>Every spawned process runs under a 5 s watchdog ({@link Spawn}); a client that hangs (as
 * {@code turnutils_stunclient} can) fails the trial instead of stalling it.
 *
 * <p>Run: {@code scripts/bench StunBenchmark} (needs Debian's {@code coturn} and {@code stun-client};
 * no root).
 */
@Fork(1)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@BenchmarkMode(Mode.SampleTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Threads(1)
@State(Scope.Benchmark)
public class StunBenchmark {
    static final int MAGIC_COOKIE = 0x2112A442;
    static final int MAX_SAMPLES = 1 << 20;

    Coturn coturn;
    EventLoops loops;
    StunClient stun;
    Spawn spawn;
    DatagramSocket socket;
    List<String> turnutils;
    List<String> turnutilsUsage;
    List<String> stunClient;
    List<String> stunUsage;
    List<String> trueCommand;
    final byte[] request = new byte[20];
    final DatagramPacket response = new DatagramPacket(new byte[1500], 1500);
    final long[] roundTrips = new long[MAX_SAMPLES];
    int samples;
    int retransmitted;

    @Setup(Level.Trial)
    public void setUp() throws Exception {
        String turnutilsPath = Spawn.require("turnutils_stunclient", "coturn");
        String stunPath = Spawn.require("stun", "stun-client");
        trueCommand = List.of(Spawn.require("true", "coreutils"));
        coturn = Coturn.loopback(false);
        try {
            String port = Integer.toString(coturn.port());
            turnutils = List.of(turnutilsPath, "-p", port, "127.0.0.1");
            turnutilsUsage = List.of(turnutilsPath);
            stunClient = List.of(stunPath, "127.0.0.1:" + port, "1", "-v");
            stunUsage = List.of(stunPath);
            loops = EventLoops.builder().threads(2).build();
            stun = StunClient.builder(loops).server(coturn.v4()).build();
            spawn = new Spawn(5_000);
            socket = new DatagramSocket(new InetSocketAddress("127.0.0.1", 0));
            socket.connect(coturn.v4());
            socket.setSoTimeout(2_000);
            System.out.println("STUN server: " + coturn + "; " + loops);
            // every path works before anything is measured
            ours_freshSocket();
            samples = 0;
            retransmitted = 0;
            floor_openSocket();
            ref_turnutilsStunclient();
            ref_stunClient();
            spawn.run(turnutilsUsage).require(255, "Usage");
            spawn.run(stunUsage).require(255, "Usage");
        } catch (Exception | Error e) {
            tearDown();
            throw e;
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        try {
            if (samples > 0) {
                long[] s = Arrays.copyOf(roundTrips, samples);
                Arrays.sort(s);
                System.out.printf("our client's own round trip on its socket over %d bindings: median %.1f us, mean %.1f us"
                                + "; %d needed a retransmission%n", samples, s[samples / 2] / 1e3,
                        Arrays.stream(s).average().orElse(0) / 1e3, retransmitted);
            }
        } finally {
            // each once: this runs from a failed setup and again from JMH
            if (socket != null) {
                socket.close();
                socket = null;
            }
            if (stun != null) {
                stun.close();
                stun = null;
            }
            if (loops != null) {
                loops.close();
                loops = null;
            }
            if (spawn != null) {
                spawn.close();
                spawn = null;
            }
            if (coturn != null) {
                coturn.close();
                coturn = null;
            }
        }
    }

    @Benchmark
    public Object ours_freshSocket() throws Exception {
        StunBinding b = stun.binding().toCompletableFuture().get(5, TimeUnit.SECONDS);
        if (!b.mapped().getAddress().isLoopbackAddress() || b.mapped().getPort() != b.local().getPort()) {
            throw new IllegalStateException("coturn on loopback reported " + b.mapped() + " for local " + b.local());
        }
        if (samples < MAX_SAMPLES) {
            roundTrips[samples++] = b.roundTrip().toNanos();
        }
        if (b.sends() > 1) {
            retransmitted++;
        }
        return b;
    }

    @Benchmark
    public int floor_openSocket() throws Exception {
        ByteBuffer r = ByteBuffer.wrap(request).putShort((short) 0x0001).putShort((short) 0).putInt(MAGIC_COOKIE);
        long id0 = ThreadLocalRandom.current().nextLong();
        int id1 = ThreadLocalRandom.current().nextInt();
        r.putLong(id0).putInt(id1);
        socket.send(new DatagramPacket(request, request.length));
        response.setLength(1500);
        socket.receive(response);
        ByteBuffer a = ByteBuffer.wrap(response.getData(), 0, response.getLength());
        if (response.getLength() < 20 || a.getShort(0) != 0x0101 || a.getInt(4) != MAGIC_COOKIE || a.getLong(8) != id0 || a.getInt(16) != id1) {
            throw new IllegalStateException("not the Binding success response to our request: " + response.getLength() + " bytes");
        }
        return response.getLength();
    }

    @Benchmark
    public Object ref_turnutilsStunclient() throws Exception {
        return spawn.run(turnutils).require(0, "UDP reflexive addr: 127.0.0.1:");
    }

    @Benchmark
    public Object ref_stunClient() throws Exception {
        return spawn.run(stunClient).require(0, "MappedAddress = 127.0.0.1:");
    }

    @Benchmark
    public Object spawn_true() throws Exception {
        return spawn.run(trueCommand).require(0, "");
    }

    @Benchmark
    public Object spawn_turnutilsUsage() throws Exception {
        return spawn.run(turnutilsUsage).require(255, "Usage");
    }

    @Benchmark
    public Object spawn_stunUsage() throws Exception {
        return spawn.run(stunUsage).require(255, "Usage");
    }
}
