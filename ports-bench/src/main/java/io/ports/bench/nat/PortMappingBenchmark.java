package io.ports.bench.nat;

import io.ports.core.EventLoops;
import io.ports.core.PortAllocator;
import io.ports.core.PortLease;
import io.ports.core.PortRequest;
import io.ports.core.Protocol;
import io.ports.core.ServiceType;
import io.ports.nat.MappingProtocol;
import io.ports.nat.NatTraversal;
import io.ports.nat.PortMapping;
import io.ports.nat.ProbeReport;
import io.ports.nat.testsupport.NatLab;
import io.ports.nat.testsupport.Peers;
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
import org.openjdk.jmh.infra.BenchmarkParams;

import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.NetworkInterface;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.EnumSet;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Time to obtain one TCP port mapping from a real gateway: miniupnpd 2.3.1 (UPnP IGD v2, NAT-PMP and
 * PCP on one daemon) in the namespace lab of the ports-nat tests ({@link NatLab}: LAN, router and WAN
 * namespaces; coturn in the WAN namespace gives miniupnpd its "public" address 10.77.2.1), built in
 * the trial's setup and torn down in its teardown, also when the setup fails. The JMH fork cannot run
 * under {@code ip netns exec}, so {@link NatLab#joinHost()} puts the fork's own namespace on the LAN as
 * a second client, 10.77.1.3, with a veth into a bridge of the LAN namespace, a route to the WAN side
 * and a route for the SSDP group on that veth: SSDP multicast goes into the lab only. The reference
 * clients run in the same namespace, from the same address, against the same gateway 10.77.1.1.
 *
 * <p>Every operation maps the same TCP port (a lease of the dynamic pool, held for the trial) to the
 * same external port for 7200 s; the mapping is deleted again in an invocation-level teardown, outside
 * the measured time, and checked there (granted by the expected protocol at 10.77.2.1 and the same
 * port; the reference client's exit code and output). Before measuring, the setup maps once through
 * the benchmark's own path and checks miniupnpd's DNAT rule in the router namespace, then deletes it and
 * checks the rule is gone; the trial teardown checks that no rule for the port is left.
 *
 * <ul>
 *   <li>{@code ours_pcp}, {@code ours_natPmp}, {@code ours_upnp}: {@link NatTraversal#map(PortLease)}
 *       on a traversal limited to that protocol, probed once in the setup (probe results are kept 10
 *       minutes, so no operation probes), until the returned future completes with the confirmed
 *       {@link PortMapping}. PCP: one MAP request and its response over UDP (the response carries the
 *       external address). NAT-PMP: a map request, then an external address request, each on a new UDP
 *       socket. UPnP: AddPortMapping, then GetExternalIPAddress (SOAP over HTTP, on the blocking
 *       executor; the device description was fetched by the probe).</li>
 *   <li>{@code floor_natPmpMap}: the gateway's own share: one hand-written NAT-PMP map request (12
 *       bytes) on a UDP socket kept open for the trial, and its 16-byte response checked; deleted the
 *       same way (lifetime 0), outside the measured time. No client does less for a mapping.
 *       {@code floor_natPmpMapAndAddress}: the same plus an external address request (opcode 0) on
 *       the same socket: the two exchanges both ours and natpmpc make, so what they take above it is
 *       their own cost.</li>
 *   <li>{@code ref_natpmpc}: {@code natpmpc -g 10.77.1.1 -a PORT PORT tcp 7200} (libnatpmp 20150609)
 *       spawned per operation: it always asks the external address first, then maps (two UDP
 *       exchanges). Deleted with {@code natpmpc ... tcp 0}.</li>
 *   <li>{@code ref_upnpc}: {@code upnpc -u DESC_URL -a 10.77.1.3 PORT PORT TCP 7200} (miniupnpc)
 *       spawned per operation, with the description URL, so no SSDP discovery: it fetches the
 *       description, then GetExternalIPAddress, AddPortMapping and GetSpecificPortMappingEntry (four
 *       HTTP requests). Deleted with {@code upnpc -u DESC_URL -d PORT TCP}.</li>
 *   <li>{@code spawn_true}, {@code spawn_natpmpcUsage} ({@code natpmpc -h}), {@code spawn_upnpcUsage}
 *       ({@code upnpc} without arguments): the process cost alone through the same spawn path, with
 *       the lab up; a client's usage run subtracted from its mapping run gives its time net of spawning.</li>
 * </ul>
 * No PCP client exists in Debian: {@code ours_pcp} has no reference beside it.
 *
 * <p>One thread, Mode {@code SampleTime}, µs. Needs root (network namespaces) and Debian's
 * {@code iproute2 nftables miniupnpd-nftables miniupnpc natpmpc coturn}. Without root every
 * benchmark of this class fails at once with a message saying so; leave the class out with
 * {@code scripts/bench -e PortMappingBenchmark}.
 *
 * <p>Run: {@code flock /tmp/ports-bench.lock scripts/bench PortMappingBenchmark} (as root).
 */
@Fork(1)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 2)
@BenchmarkMode(Mode.SampleTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Threads(1)
@State(Scope.Benchmark)
public class PortMappingBenchmark {
    static final long LIFETIME = 7200;

    NatLab lab;
    String hostLink;
    EventLoops loops;
    PortAllocator allocator;
    PortLease lease;
    int port;
    MappingProtocol protocol;
    NatTraversal nat;
    Spawn spawn;
    List<String> trueCommand;
    List<String> natpmpcMap;
    List<String> natpmpcDelete;
    List<String> natpmpcUsage;
    List<String> upnpcMap;
    List<String> upnpcDelete;
    List<String> upnpcUsage;
    String natpmpcExpected;
    String upnpcExpected;

    DatagramSocket pmpSocket;
    final byte[] pmpRequest = new byte[12];
    final byte[] pmpAddressRequest = {0, 0};
    final DatagramPacket pmpResponse = new DatagramPacket(new byte[64], 64);
    boolean pmpMapped;

    /** What the last operation made, deleted by {@link #undo()}. */
    PortMapping mapped;
    Spawn.Result spawned;
    List<String> spawnedDelete;
    String spawnedExpected;

    @Setup(Level.Trial)
    public void setUp(BenchmarkParams params) throws Exception {
        String method = params.getBenchmark().substring(params.getBenchmark().lastIndexOf('.') + 1);
        if (!Peers.isRoot()) {
            throw new IllegalStateException("PortMappingBenchmark." + method + " needs root: it builds network namespaces with miniupnpd"
                    + " as the gateway (ip netns, nft); run scripts/bench as root, or leave this class out with"
                    + " scripts/bench -e PortMappingBenchmark");
        }
        String natpmpc = Spawn.require("natpmpc", "natpmpc");
        String upnpc = Spawn.require("upnpc", "miniupnpc");
        trueCommand = List.of(Spawn.require("true", "coreutils"));
        spawn = new Spawn(5_000);
        try {
            lab = NatLab.start();
            hostLink = lab.joinHost();
            loops = EventLoops.builder().threads(2).build();
            allocator = PortAllocator.builder().hostWide(false).build();
            lease = allocator.allocate(PortRequest.builder("bench-nat", ServiceType.DYNAMIC).protocols(EnumSet.of(Protocol.TCP)).build());
            port = lease.port();
            String p = Integer.toString(port);
            natpmpcMap = List.of(natpmpc, "-g", NatLab.GATEWAY, "-a", p, p, "tcp", Long.toString(LIFETIME));
            natpmpcDelete = List.of(natpmpc, "-g", NatLab.GATEWAY, "-a", p, p, "tcp", "0");
            natpmpcUsage = List.of(natpmpc, "-h");
            natpmpcExpected = "Mapped public port " + p + " protocol TCP to local port " + p;
            String desc = lab.descriptionUrl();
            upnpcMap = List.of(upnpc, "-u", desc, "-a", NatLab.HOST_CLIENT, p, p, "TCP", Long.toString(LIFETIME));
            upnpcDelete = List.of(upnpc, "-u", desc, "-d", p, "TCP");
            upnpcUsage = List.of(upnpc);
            upnpcExpected = "external " + NatLab.WAN_ADDRESS + ":" + p + " TCP is redirected to internal " + NatLab.HOST_CLIENT + ":" + p;
            System.out.println("lab " + lab.lan + " (gateway " + NatLab.GATEWAY + ", this JVM " + NatLab.HOST_CLIENT + " on " + hostLink
                    + "), TCP port " + port + ", " + method);
            switch (method) {
                case "ours_pcp" -> protocol = MappingProtocol.PCP;
                case "ours_natPmp" -> protocol = MappingProtocol.NAT_PMP;
                case "ours_upnp" -> protocol = MappingProtocol.UPNP;
                default -> protocol = null;
            }
            if (protocol != null) {
                nat = NatTraversal.builder(loops).gateway(InetAddress.getByName(NatLab.GATEWAY)).protocols(protocol)
                        .upnpInterfaces(List.of(NetworkInterface.getByName(hostLink))).lifetime(Duration.ofSeconds(LIFETIME))
                        .probeTimeout(Duration.ofSeconds(10)) // not measured; a busy 2-core host can take seconds for SSDP, description and SOAP
                        .closeTimeout(Duration.ofSeconds(5)).build();
                ProbeReport report = nat.probe().toCompletableFuture().get(20, TimeUnit.SECONDS);
                if (!report.available().contains(protocol)) {
                    throw new IllegalStateException("the gateway does not offer " + protocol + ": " + report);
                }
                System.out.println("probed: " + report);
                ours();
                checkedUndo();
            } else if (method.startsWith("floor_natPmp")) {
                pmpSocket = new DatagramSocket(new InetSocketAddress(NatLab.HOST_CLIENT, 0));
                pmpSocket.connect(new InetSocketAddress(NatLab.GATEWAY, 5351));
                pmpSocket.setSoTimeout(5_000);
                floor_natPmpMap();
                checkedUndo();
                floor_natPmpMapAndAddress();
                checkedUndo();
            } else if (method.equals("ref_natpmpc")) {
                ref_natpmpc();
                checkedUndo();
            } else if (method.equals("ref_upnpc")) {
                ref_upnpc();
                checkedUndo();
            } else {
                spawn.run(natpmpcUsage).require(0, "Usage");
                spawn.run(upnpcUsage).require(1, "Usage");
            }
        } catch (Exception | Error e) {
            tearDown();
            throw e;
        }
    }

    /** The setup's check: the operation really made miniupnpd forward the port, and the undo really removed it. */
    private void checkedUndo() throws Exception {
        if (!lab.forwards("tcp", port, NatLab.HOST_CLIENT, port)) {
            throw new IllegalStateException("after the first mapping the gateway has no DNAT rule for TCP " + port + " to "
                    + NatLab.HOST_CLIENT + ":\n" + lab.natRules());
        }
        undo();
        if (lab.natRules().contains("dport " + port + " ")) {
            throw new IllegalStateException("after the first deletion the gateway still has a rule for TCP " + port + ":\n" + lab.natRules());
        }
    }

    @TearDown(Level.Invocation)
    public void undo() throws Exception {
        PortMapping m = mapped;
        mapped = null;
        if (m != null) {
            InetSocketAddress external = m.external(Protocol.TCP);
            if (m.protocol() != protocol || !external.getAddress().getHostAddress().equals(NatLab.WAN_ADDRESS) || external.getPort() != port) {
                throw new IllegalStateException("expected TCP " + port + " mapped by " + protocol + " at " + NatLab.WAN_ADDRESS + ":" + port
                        + ", got " + m);
            }
            m.closeAsync().toCompletableFuture().get(10, TimeUnit.SECONDS);
        }
        if (pmpMapped) {
            pmpMapped = false;
            natPmpExchange(0);
        }
        Spawn.Result r = spawned;
        spawned = null;
        if (r != null) {
            r.require(0, spawnedExpected);
            spawn.run(spawnedDelete).require(0, "");
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() throws Exception {
        String left = null;
        try {
            if (lab != null && lab.hostLink() != null) {
                String rules = lab.natRules();
                if (rules.contains("dport " + port + " ")) {
                    left = rules;
                }
            }
        } finally {
            // in order, each once: this runs from a failed setup and again from JMH
            if (nat != null) {
                nat.close();
                nat = null;
            }
            if (pmpSocket != null) {
                pmpSocket.close();
                pmpSocket = null;
            }
            if (lease != null) {
                lease.close();
                lease = null;
            }
            if (allocator != null) {
                allocator.close();
                allocator = null;
            }
            if (loops != null) {
                loops.close();
                loops = null;
            }
            if (spawn != null) {
                spawn.close();
                spawn = null;
            }
            if (lab != null) {
                lab.close();
                lab = null;
            }
        }
        if (left != null) {
            throw new IllegalStateException("at the end of the trial the gateway still had a rule for TCP " + port + ":\n" + left);
        }
    }

    private PortMapping ours() throws Exception {
        mapped = nat.map(lease).toCompletableFuture().get(10, TimeUnit.SECONDS);
        return mapped;
    }

    @Benchmark
    public Object ours_pcp() throws Exception {
        return ours();
    }

    @Benchmark
    public Object ours_natPmp() throws Exception {
        return ours();
    }

    @Benchmark
    public Object ours_upnp() throws Exception {
        return ours();
    }

    /**
     * One NAT-PMP map request (RFC 6886 section 3.3: version 0, opcode 2 = TCP, internal port, suggested
     * external port, lifetime) on the kept-open socket, and its response checked: opcode 130, result 0,
     * the same ports, the lifetime asked for (0: a deletion).
     */
    private int natPmpExchange(long lifetime) throws Exception {
        ByteBuffer q = ByteBuffer.wrap(pmpRequest).put((byte) 0).put((byte) 2).putShort((short) 0).putShort((short) port)
                .putShort((short) (lifetime == 0 ? 0 : port)).putInt((int) lifetime);
        pmpSocket.send(new DatagramPacket(pmpRequest, q.position()));
        pmpResponse.setLength(pmpResponse.getData().length);
        pmpSocket.receive(pmpResponse);
        ByteBuffer a = ByteBuffer.wrap(pmpResponse.getData(), 0, pmpResponse.getLength());
        if (pmpResponse.getLength() < 16 || a.get(0) != 0 || (a.get(1) & 0xFF) != 130 || a.getShort(2) != 0 || (a.getShort(8) & 0xFFFF) != port
                || (lifetime != 0 && (a.getShort(10) & 0xFFFF) != port) || (a.getInt(12) & 0xFFFF_FFFFL) != lifetime) {
            throw new IllegalStateException("unexpected NAT-PMP answer to map " + port + " for " + lifetime + " s: "
                    + java.util.HexFormat.of().formatHex(pmpResponse.getData(), 0, pmpResponse.getLength()));
        }
        return pmpResponse.getLength();
    }

    /** One NAT-PMP external address request (opcode 0) on the kept-open socket; its answer must be 10.77.2.1. */
    private int natPmpAddress() throws Exception {
        pmpSocket.send(new DatagramPacket(pmpAddressRequest, 2));
        pmpResponse.setLength(pmpResponse.getData().length);
        pmpSocket.receive(pmpResponse);
        byte[] r = pmpResponse.getData();
        if (pmpResponse.getLength() < 12 || r[0] != 0 || (r[1] & 0xFF) != 128 || r[2] != 0 || r[3] != 0
                || !InetAddress.getByAddress(java.util.Arrays.copyOfRange(r, 8, 12)).getHostAddress().equals(NatLab.WAN_ADDRESS)) {
            throw new IllegalStateException("unexpected NAT-PMP external address answer: "
                    + java.util.HexFormat.of().formatHex(r, 0, pmpResponse.getLength()));
        }
        return pmpResponse.getLength();
    }

    @Benchmark
    public int floor_natPmpMap() throws Exception {
        int n = natPmpExchange(LIFETIME);
        pmpMapped = true;
        return n;
    }

    @Benchmark
    public int floor_natPmpMapAndAddress() throws Exception {
        int n = natPmpExchange(LIFETIME);
        pmpMapped = true;
        return n + natPmpAddress();
    }

    @Benchmark
    public Object ref_natpmpc() throws Exception {
        spawned = spawn.run(natpmpcMap);
        spawnedDelete = natpmpcDelete;
        spawnedExpected = natpmpcExpected;
        return spawned;
    }

    @Benchmark
    public Object ref_upnpc() throws Exception {
        spawned = spawn.run(upnpcMap);
        spawnedDelete = upnpcDelete;
        spawnedExpected = upnpcExpected;
        return spawned;
    }

    @Benchmark
    public Object spawn_true() throws Exception {
        return spawn.run(trueCommand).require(0, "");
    }

    @Benchmark
    public Object spawn_natpmpcUsage() throws Exception {
        return spawn.run(natpmpcUsage).require(0, "Usage");
    }

    @Benchmark
    public Object spawn_upnpcUsage() throws Exception {
        return spawn.run(upnpcUsage).require(1, "Usage");
    }
}
