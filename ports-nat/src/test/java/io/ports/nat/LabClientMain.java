package io.ports.nat;

import io.ports.core.EventLoops;
import io.ports.core.PortAllocator;
import io.ports.core.PortLease;
import io.ports.core.PortRequest;
import io.ports.core.Protocol;
import io.ports.core.ServiceType;
import io.ports.nat.internal.NatUtil;
import io.ports.nat.stun.NatBehavior;
import io.ports.nat.stun.StunBinding;
import io.ports.nat.stun.StunClient;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * The client side of the lab, run by the tests in the LAN namespace ({@code ip netns exec LAN java
 * ... LOGFILE}). Reads one command per line on stdin, answers one line on stdout (logs go to LOGFILE):
 * <pre>
 * nat NAME PROTOCOLS|all LIFETIME_S [GATEWAY]   -> OK NAME
 * probe NAME                                    -> PROBE NAME available=PCP,NAT_PMP gateway=10.77.1.1 source=...
 * map NAME KEY PORT tcp,udp                     -> MAPPED KEY PCP TCP=10.77.2.1:40001 UDP=...   or  FAILED KEY Class message
 * status KEY                                    -> STATUS KEY renewals=N recreations=M external=TCP=...  error=...
 * unmap KEY                                     -> UNMAPPED KEY                                 or  FAILED KEY ...
 * external NAME                                 -> EXTERNAL NAME 10.77.2.1                      or  FAILED NAME ...
 * serve KEY                                     -> SERVING KEY (accepts one TCP connection on the lease's port, writes "hello KEY")
 * stun HOST PORT                                -> STUN mapped=... local=...
 * natbehavior HOST PORT                         -> BEHAVIOR mapping=... filtering=... translated=...
 * close NAME                                    -> CLOSED NAME
 * exit
 * </pre>
 */
public final class LabClientMain {
    private LabClientMain() {
    }

    public static void main(String[] args) throws Exception {
        if (args.length > 0) {
            System.setProperty("lab.log", args[0]);
        }
        System.setProperty("logback.configurationFile", "logback-child.xml");
        EventLoops loops = EventLoops.builder().threads(2).threadNamePrefix("lab-io").build();
        PortAllocator ports = PortAllocator.builder().hostWide(false).build();
        Map<String, NatTraversal> nats = new HashMap<>();
        Map<String, PortLease> leases = new HashMap<>();
        Map<String, PortMapping> mappings = new HashMap<>();
        List<Thread> servers = new ArrayList<>();
        System.out.println("READY " + ProcessHandle.current().pid());
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        String line;
        while ((line = in.readLine()) != null) {
            String[] a = line.trim().split("\\s+");
            if (a.length == 0 || a[0].isEmpty()) {
                continue;
            }
            String target = a.length > 1 ? a[1] : "";
            String id = a[0].equals("map") && a.length > 2 ? a[2] : target;
            try {
                switch (a[0]) {
                    case "nat": {
                        NatTraversal.Builder b = NatTraversal.builder(loops).lifetime(Duration.ofSeconds(Long.parseLong(a[3])))
                                .probeTimeout(Duration.ofSeconds(3)).probeGrace(Duration.ofSeconds(1)) // ranking is not at the mercy of a busy CI host
                                .retransmission(Duration.ofMillis(250), 4)
                                .httpTimeout(Duration.ofSeconds(3)).closeTimeout(Duration.ofSeconds(5));
                        if (!a[2].equals("all")) {
                            EnumSet<MappingProtocol> ps = EnumSet.noneOf(MappingProtocol.class);
                            for (String p : a[2].split(",")) {
                                ps.add(MappingProtocol.valueOf(p));
                            }
                            MappingProtocol first = ps.iterator().next();
                            ps.remove(first);
                            b.protocols(first, ps.toArray(MappingProtocol[]::new));
                        }
                        if (a.length > 4) {
                            b.gateway(InetAddress.getByName(a[4]));
                        }
                        nats.put(target, b.build());
                        say("OK " + target);
                        break;
                    }
                    case "probe": {
                        ProbeReport r = nats.get(target).probe().toCompletableFuture().get(30, TimeUnit.SECONDS);
                        say("PROBE " + target + " available=" + join(r.available()) + " gateway=" + NatUtil.format(r.gateway())
                                + " source=" + r.source().replace(' ', '_') + " findings=" + r.findings().toString().replace(' ', '_'));
                        break;
                    }
                    case "map": {
                        String key = a[2];
                        int port = Integer.parseInt(a[3]);
                        Set<Protocol> transports = EnumSet.noneOf(Protocol.class);
                        for (String t : a[4].split(",")) {
                            transports.add(Protocol.parse(t));
                        }
                        PortLease lease = leases.computeIfAbsent(key, k -> ports.allocate(PortRequest.builder(k, ServiceType.DYNAMIC)
                                .preferredPort(port).required(true).protocols(transports).build()));
                        long t0 = System.nanoTime();
                        PortMapping m = nats.get(target).map(lease).toCompletableFuture().get(60, TimeUnit.SECONDS);
                        mappings.put(key, m);
                        StringBuilder s = new StringBuilder("MAPPED " + key + " " + m.protocol());
                        for (MappedPort p : m.ports()) {
                            s.append(' ').append(p.transport()).append('=').append(NatUtil.format(p.external()));
                        }
                        say(s.append(" ms=").append(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0)).toString());
                        break;
                    }
                    case "status": {
                        PortMapping m = mappings.get(target);
                        StringBuilder s = new StringBuilder("STATUS " + target + " renewals=" + m.renewals() + " recreations="
                                + m.recreations() + " closed=" + m.isClosed());
                        for (MappedPort p : m.ports()) {
                            s.append(' ').append(p.transport()).append('=').append(NatUtil.format(p.external()))
                                    .append("/lifetime=").append(p.lifetime().toSeconds());
                        }
                        m.lastError().ifPresent(e -> s.append(" error=").append(oneLine(e.getMessage())));
                        say(s.toString());
                        break;
                    }
                    case "unmap": {
                        PortMapping m = mappings.remove(target);
                        m.closeAsync().toCompletableFuture().get(30, TimeUnit.SECONDS);
                        PortLease l = leases.remove(target);
                        if (l != null) {
                            l.close();
                        }
                        say("UNMAPPED " + target);
                        break;
                    }
                    case "external": {
                        InetAddress x = nats.get(target).externalAddress().toCompletableFuture().get(30, TimeUnit.SECONDS);
                        say("EXTERNAL " + target + " " + NatUtil.format(x));
                        break;
                    }
                    case "serve": {
                        PortLease lease = leases.get(target);
                        lease.releaseHold();
                        ServerSocket server = new ServerSocket();
                        server.setReuseAddress(true);
                        server.bind(new InetSocketAddress(lease.port()));
                        Thread t = new Thread(() -> {
                            try (ServerSocket s = server; Socket c = s.accept(); OutputStream out = c.getOutputStream()) {
                                out.write(("hello " + target + "\n").getBytes(StandardCharsets.US_ASCII));
                            } catch (Exception e) {
                                System.err.println("serve " + target + ": " + e);
                            }
                        }, "serve-" + target);
                        t.setDaemon(true);
                        t.start();
                        servers.add(t);
                        say("SERVING " + target);
                        break;
                    }
                    case "stun": {
                        try (StunClient stun = StunClient.builder(loops)
                                .server(new InetSocketAddress(InetAddress.getByName(a[1]), Integer.parseInt(a[2])))
                                .rto(Duration.ofMillis(100)).build()) {
                            StunBinding b = stun.binding().toCompletableFuture().get(30, TimeUnit.SECONDS);
                            say("STUN mapped=" + NatUtil.format(b.mapped()) + " local=" + NatUtil.format(b.local()));
                        }
                        break;
                    }
                    case "natbehavior": {
                        try (StunClient stun = StunClient.builder(loops)
                                .server(new InetSocketAddress(InetAddress.getByName(a[1]), Integer.parseInt(a[2])))
                                .rto(Duration.ofMillis(100)).filteringSends(2, 4).build()) {
                            NatBehavior n = stun.natBehavior().toCompletableFuture().get(30, TimeUnit.SECONDS);
                            say("BEHAVIOR mapping=" + n.mapping() + " filtering=" + n.filtering() + " translated=" + n.translated()
                                    + " method=" + n.method() + " mapped=" + NatUtil.format(n.mapped()) + " detail=" + oneLine(n.detail()));
                        }
                        break;
                    }
                    case "close": {
                        NatTraversal n = nats.remove(target);
                        n.close();
                        mappings.values().removeIf(PortMapping::isClosed);
                        say("CLOSED " + target);
                        break;
                    }
                    case "exit":
                        nats.values().forEach(NatTraversal::close);
                        leases.values().forEach(PortLease::close);
                        ports.close();
                        loops.close();
                        say("BYE");
                        return;
                    default:
                        say("FAILED " + target + " UnknownCommand " + line);
                }
            } catch (Exception e) {
                Throwable c = NatUtil.unwrap(e);
                say("FAILED " + id + " " + c.getClass().getSimpleName() + " " + oneLine(String.valueOf(c.getMessage())));
            }
        }
    }

    private static String join(List<MappingProtocol> ps) {
        List<String> n = new ArrayList<>();
        ps.forEach(p -> n.add(p.name()));
        return String.join(",", n);
    }

    private static String oneLine(String s) {
        return s == null ? "" : s.replace('\n', ' ').replace('\r', ' ');
    }

    private static synchronized void say(String s) {
        System.out.println(s);
        System.out.flush();
    }
}
