package io.ports.nat.testsupport;

import io.ports.core.testsupport.PeerRuns;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The lab of ../shared/PEERS.md, built with {@code ip}, {@code nft} and {@code sysctl}: three network
 * namespaces named {@code pnat<pid>-<n>-lan|rtr|wan}, all addresses private and inside them.
 * <pre>
 * [lan] lan0 10.77.1.2, fd77:1::2          default routes via 10.77.1.1 and fd77:1::1
 *   | veth
 * [rtr] br-lan 10.77.1.1, fd77:1::1        miniupnpd: SSDP 1900, HTTP (random port), NAT-PMP/PCP 5351
 *       rtr-wan 10.77.2.1, fd77:2::1       nftables: forward drop + miniupnpd chains + IPv4 masquerade
 *   | veth
 * [wan] wan0 10.77.2.2 + 10.77.2.3         coturn, STUN only, RFC 5780 (miniupnpd learns its public address by STUN)
 *       fd77:2::2                          route to fd77:1::/64 via fd77:2::1 (IPv6 is routed: PCP opens pinholes)
 * </pre>
 * Nothing is added to the root namespace: the veth pairs are created inside the router namespace
 * (unless {@link #joinHost()} is called, which links this JVM's own namespace to the LAN).
 * Before building, namespaces with the prefix whose JVM is gone are deleted (their processes killed).
 */
public final class NatLab implements AutoCloseable {
    public static final String PREFIX = "pnat";
    public static final String GATEWAY = "10.77.1.1";
    public static final String CLIENT = "10.77.1.2";
    public static final String WAN_ADDRESS = "10.77.2.1";
    public static final String STUN = "10.77.2.2";
    /** This JVM's address on the LAN after {@link #joinHost()}. */
    public static final String HOST_CLIENT = "10.77.1.3";
    public static final String SSDP_GROUP = "239.255.255.250";
    private static final AtomicInteger COUNTER = new AtomicInteger();
    private static final Pattern HTTP_PORT = Pattern.compile("HTTP listening on port (\\d+)");

    public final String lan;
    public final String rtr;
    public final String wan;
    private final Path dir;
    private final List<String> created = new ArrayList<>();
    private final String base;
    private Coturn coturn;
    private Process miniupnpd;
    private String hostLink;
    private int httpPort;
    private int miniupnpdStarts;

    private NatLab(String base, Path dir) {
        this.base = base;
        this.lan = base + "-lan";
        this.rtr = base + "-rtr";
        this.wan = base + "-wan";
        this.dir = dir;
    }

    /** Skips without root or the peers (fails on CI), then builds the lab and starts coturn and miniupnpd. */
    public static NatLab start() throws IOException, InterruptedException {
        Peers.requireRoot("the NAT lab tests (miniupnpd in network namespaces)");
        Peers.requireBinaries("iproute2 nftables miniupnpd-nftables miniupnpc coturn", "ip", "nft", "miniupnpd", "upnpc", "turnserver");
        cleanLeftovers();
        String base = PREFIX + ProcessHandle.current().pid() + "-" + COUNTER.incrementAndGet();
        NatLab lab = new NatLab(base, Files.createTempDirectory("ports-nat-lab-" + base + "-"));
        try {
            lab.build();
            lab.coturn = Coturn.inNamespace(lab.wan, List.of("10.77.2.2", "10.77.2.3"), 3478);
            lab.startMiniupnpd();
            return lab;
        } catch (IOException | InterruptedException | RuntimeException | Error e) {
            System.out.println("lab set-up failed: " + e);
            lab.close();
            throw e;
        }
    }

    private void ip(String... args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of("ip"));
        cmd.addAll(List.of(args));
        Peers.Result r = Peers.run(15, cmd);
        if (!r.ok()) {
            throw new IllegalStateException(String.join(" ", cmd) + " exited " + r.exitCode() + ": " + r.output());
        }
    }

    private void in(String ns, String... args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of("ip", "netns", "exec", ns));
        cmd.addAll(List.of(args));
        Peers.Result r = Peers.run(15, cmd);
        if (!r.ok()) {
            throw new IllegalStateException(String.join(" ", cmd) + " exited " + r.exitCode() + ": " + r.output());
        }
    }

    private void build() throws IOException, InterruptedException {
        for (String ns : List.of(lan, rtr, wan)) {
            ip("netns", "add", ns);
            created.add(ns);
            ip("-n", ns, "link", "set", "lo", "up");
            // no duplicate address detection: miniupnpd's IPv6 SSDP fails for good if it starts while addresses are tentative
            in(ns, "sysctl", "-qw", "net.ipv6.conf.all.accept_dad=0", "net.ipv6.conf.default.accept_dad=0");
        }
        ip("-n", rtr, "link", "add", "br-lan", "type", "veth", "peer", "name", "lan0", "netns", lan);
        ip("-n", rtr, "link", "add", "rtr-wan", "type", "veth", "peer", "name", "wan0", "netns", wan);
        ip("-n", rtr, "addr", "add", "10.77.1.1/24", "dev", "br-lan");
        ip("-n", rtr, "addr", "add", "fd77:1::1/64", "dev", "br-lan", "nodad");
        ip("-n", rtr, "addr", "add", "10.77.2.1/24", "dev", "rtr-wan");
        ip("-n", rtr, "addr", "add", "fd77:2::1/64", "dev", "rtr-wan", "nodad");
        ip("-n", lan, "addr", "add", "10.77.1.2/24", "dev", "lan0");
        ip("-n", lan, "addr", "add", "fd77:1::2/64", "dev", "lan0", "nodad");
        ip("-n", wan, "addr", "add", "10.77.2.2/24", "dev", "wan0");
        ip("-n", wan, "addr", "add", "10.77.2.3/24", "dev", "wan0");
        ip("-n", wan, "addr", "add", "fd77:2::2/64", "dev", "wan0", "nodad");
        ip("-n", rtr, "link", "set", "br-lan", "up");
        ip("-n", rtr, "link", "set", "rtr-wan", "up");
        ip("-n", lan, "link", "set", "lan0", "up");
        ip("-n", wan, "link", "set", "wan0", "up");
        awaitOperUp(Map.of(rtr, List.of("br-lan", "rtr-wan"), lan, List.of("lan0"), wan, List.of("wan0")));
        ip("-n", lan, "route", "add", "default", "via", "10.77.1.1");
        ip("-n", lan, "-6", "route", "add", "default", "via", "fd77:1::1");
        ip("-n", wan, "-6", "route", "add", "fd77:1::/64", "via", "fd77:2::1"); // IPv6 is routed, not translated
        in(rtr, "sysctl", "-qw", "net.ipv4.ip_forward=1", "net.ipv6.conf.all.forwarding=1");
        Path rules = dir.resolve("rules.nft");
        Files.writeString(rules, String.join("\n",
                "table inet filter {",
                "  chain forward {",
                "    type filter hook forward priority 0; policy drop;",
                "    ct state established,related accept",
                "    iifname \"br-lan\" oifname \"rtr-wan\" accept",
                "    jump miniupnpd",
                "  }",
                "  chain miniupnpd {",
                "  }",
                "  chain prerouting {",
                "    type nat hook prerouting priority -100; policy accept;",
                "    jump prerouting_miniupnpd",
                "  }",
                "  chain postrouting {",
                "    type nat hook postrouting priority 100; policy accept;",
                "    jump postrouting_miniupnpd",
                "    meta nfproto ipv4 oifname \"rtr-wan\" masquerade",
                "  }",
                "  chain prerouting_miniupnpd {",
                "  }",
                "  chain postrouting_miniupnpd {",
                "  }",
                "}", ""));
        in(rtr, "nft", "-f", rules.toString());
        Files.writeString(dir.resolve("miniupnpd.conf"), String.join("\n",
                "ext_ifname=rtr-wan",
                "listening_ip=br-lan",
                "http_port=0",             // a new port on every start: a restart moves the control URL
                "enable_upnp=yes",
                "enable_natpmp=yes",       // NAT-PMP and PCP on 5351
                "secure_mode=yes",
                "system_uptime=no",        // the epoch starts at 0 on every start: a restart is visible
                "min_lifetime=4",
                "max_lifetime=86400",
                "uuid=3a1d1a4e-6b9e-4c55-9a0e-2f1f5c9e7a01",
                "ext_perform_stun=yes",    // a private external address disables forwarding; STUN says it is not filtered
                "ext_stun_host=10.77.2.2",
                "ext_stun_port=3478",
                "allow 1024-65535 10.77.1.0/24 1024-65535",
                "deny 0-65535 0.0.0.0/0 0-65535", ""));
    }

    /** Waits (at most 10 s) until the kernel reports each link's operstate up: it does so up to a second after "ip link set up". */
    private void awaitOperUp(Map<String, List<String>> links) throws IOException, InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        for (Map.Entry<String, List<String>> e : links.entrySet()) {
            for (String link : e.getValue()) {
                while (true) {
                    String state = Peers.run(5, "ip", "netns", "exec", e.getKey(), "cat", "/sys/class/net/" + link + "/operstate").output().trim();
                    if (state.equals("up")) {
                        break;
                    }
                    if (System.nanoTime() > deadline) {
                        throw new IllegalStateException(link + " in " + e.getKey() + " is " + state + ", not up, 10 s after set up");
                    }
                    Thread.sleep(50);
                }
            }
        }
    }

    /**
     * Puts this JVM's own network namespace on the LAN as a second client, {@value #HOST_CLIENT}/24, so
     * that code which cannot run under {@code ip netns exec} (a JMH fork) can talk to the gateway:
     * the LAN namespace gets a bridge {@code br0} holding {@code lan0} (its addresses and default routes
     * move to the bridge) and a veth whose other end, {@code pnat<pid>-<n>h}, is moved into this JVM's
     * namespace. There that end gets the address, a route to the WAN side (10.77.2.0/24 via the
     * gateway) and a route for the SSDP group {@value #SSDP_GROUP}/32, so that SSDP multicast from
     * this namespace goes into the lab, never out of the host's own interfaces (../shared/PEERS.md).
     * The link, its address and both routes disappear with the LAN namespace in {@link #close()}
     * (and with a crashed run's namespaces in the next run's clean-up). Idempotent; returns the
     * name of the interface in this JVM's namespace.
     */
    public synchronized String joinHost() throws IOException, InterruptedException {
        if (hostLink != null) {
            return hostLink;
        }
        String name = base + "h";
        if (name.length() > 15) {
            throw new IllegalStateException("interface name " + name + " is longer than the kernel's 15 characters");
        }
        ip("-n", lan, "link", "add", "br0", "type", "bridge", "stp_state", "0", "forward_delay", "0");
        ip("-n", lan, "addr", "flush", "dev", "lan0");
        ip("-n", lan, "link", "set", "lan0", "master", "br0");
        ip("-n", lan, "link", "add", "lan-host", "type", "veth", "peer", "name", name, "netns", Long.toString(ProcessHandle.current().pid()));
        hostLink = name;
        ip("-n", lan, "link", "set", "lan-host", "master", "br0");
        ip("-n", lan, "addr", "add", "10.77.1.2/24", "dev", "br0");
        ip("-n", lan, "addr", "add", "fd77:1::2/64", "dev", "br0", "nodad");
        ip("-n", lan, "link", "set", "br0", "up");
        ip("-n", lan, "link", "set", "lan-host", "up");
        ip("addr", "add", HOST_CLIENT + "/24", "dev", name);
        ip("link", "set", name, "up");
        awaitOperUp(Map.of(lan, List.of("br0", "lan-host", "lan0")));
        awaitOperUpHere(name);
        ip("-n", lan, "route", "replace", "default", "via", "10.77.1.1");
        ip("-n", lan, "-6", "route", "replace", "default", "via", "fd77:1::1");
        ip("route", "add", "10.77.2.0/24", "via", GATEWAY, "dev", name);
        ip("route", "add", SSDP_GROUP + "/32", "dev", name);
        return name;
    }

    /** The interface {@link #joinHost()} put in this JVM's namespace, or null. */
    public synchronized String hostLink() {
        return hostLink;
    }

    private static void awaitOperUpHere(String link) throws IOException, InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        Path state = Path.of("/sys/class/net", link, "operstate");
        while (!Files.readString(state).trim().equals("up")) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException(link + " is " + Files.readString(state).trim() + ", not up, 10 s after set up");
            }
            Thread.sleep(50);
        }
    }

    /** Starts miniupnpd in the router namespace and waits until NAT-PMP/PCP and HTTP listen. */
    public void startMiniupnpd() throws IOException, InterruptedException {
        miniupnpdStarts++;
        Path log = dir.resolve("miniupnpd-" + miniupnpdStarts + ".log");
        // -d (foreground) also means debug logging: every line goes to stderr (the log file) and to syslog(3),
        // which, with no /dev/log here, falls back to writing it on /dev/console: the host's console, at
        // 1-3 ms a line on a VM's serial console, dozens of lines per mapping. In a mount namespace of its own
        // (unshare -m, private), /dev/console is /dev/null for miniupnpd; the exec chain keeps one PID.
        miniupnpd = new ProcessBuilder("ip", "netns", "exec", rtr, "unshare", "--mount", "--propagation", "private", "sh", "-c",
                "mount --bind /dev/null /dev/console 2>/dev/null; exec \"$0\" \"$@\"", Peers.find("miniupnpd").toString(), "-d",
                "-f", dir.resolve("miniupnpd.conf").toString(), "-P", dir.resolve("miniupnpd.pid").toString())
                .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile())).start();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (System.nanoTime() < deadline) {
            String text = Files.readString(log);
            Matcher m = HTTP_PORT.matcher(text);
            if (text.contains("Listening for NAT-PMP/PCP traffic") && m.find()) {
                httpPort = Integer.parseInt(m.group(1));
                return;
            }
            if (!miniupnpd.isAlive()) {
                throw new IllegalStateException("miniupnpd exited " + miniupnpd.exitValue() + ":\n" + text);
            }
            Thread.sleep(50);
        }
        throw new IllegalStateException("miniupnpd not ready within 20 s:\n" + Files.readString(log));
    }

    /** SIGTERM, waits until it is gone. */
    public void stopMiniupnpd() throws InterruptedException {
        stop(false);
    }

    /** SIGKILL: no clean-up on its side, as in a crash or power loss. */
    public void killMiniupnpd() throws InterruptedException {
        stop(true);
    }

    private void stop(boolean kill) throws InterruptedException {
        Process p = miniupnpd;
        if (p == null) {
            return;
        }
        if (kill) {
            p.destroyForcibly();
        } else {
            p.destroy();
        }
        if (!p.waitFor(10, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            p.waitFor(5, TimeUnit.SECONDS);
        }
        miniupnpd = null;
    }

    public void restartMiniupnpd() throws IOException, InterruptedException {
        stopMiniupnpd();
        startMiniupnpd();
    }

    /** A file in the lab's temporary directory (deleted with the lab). */
    public Path file(String name) {
        return dir.resolve(name);
    }

    public int httpPort() {
        return httpPort;
    }

    public String descriptionUrl() {
        return "http://" + GATEWAY + ":" + httpPort + "/rootDesc.xml";
    }

    /** The ip netns exec prefix for commands in the LAN namespace. */
    public List<String> lanPrefix() {
        return List.of("ip", "netns", "exec", lan);
    }

    /** miniupnpd's DNAT rules: one line per mapping, for example {@code ... 0x6 th dport 40001 dnat ip to 10.77.1.2:40001}. */
    public String natRules() throws IOException, InterruptedException {
        return Peers.check(10, "ip", "netns", "exec", rtr, "nft", "list", "chain", "inet", "filter", "prerouting_miniupnpd");
    }

    /** miniupnpd's filter rules (IPv6 pinholes and the accept rules of IPv4 mappings). */
    public String pinholes() throws IOException, InterruptedException {
        return Peers.check(10, "ip", "netns", "exec", rtr, "nft", "list", "chain", "inet", "filter", "miniupnpd");
    }

    /** Whether the gateway forwards {@code transport} {@code externalPort} to the LAN client's {@code internalPort}. */
    public boolean forwards(String transport, int externalPort, int internalPort) throws IOException, InterruptedException {
        return forwards(transport, externalPort, CLIENT, internalPort);
    }

    /** Whether the gateway forwards {@code transport} {@code externalPort} to {@code client}'s {@code internalPort}. */
    public boolean forwards(String transport, int externalPort, String client, int internalPort) throws IOException, InterruptedException {
        String proto = transport.equalsIgnoreCase("tcp") ? "0x6" : "0x11";
        for (String line : natRules().split("\n")) {
            if (line.contains(proto) && line.contains("dport " + externalPort + " ") && line.contains("dnat ip to " + client + ":" + internalPort)) {
                return true;
            }
        }
        return false;
    }

    /** {@code upnpc -l} run in the LAN namespace against the current description URL (miniupnpd's own list of mappings). */
    public String upnpList() throws IOException, InterruptedException {
        return Peers.run(15, "ip", "netns", "exec", lan, "upnpc", "-i", "-u", descriptionUrl(), "-l").output();
    }

    /** Connects from the WAN namespace to {@code host:port} and returns the first line the server sends ("" on failure). */
    public String connectFromWan(String host, int port) throws IOException, InterruptedException {
        return Peers.run(15, "ip", "netns", "exec", wan, "timeout", "5", "bash", "-c",
                "exec 3<>/dev/tcp/" + host + "/" + port + " && head -1 <&3").output().trim();
    }

    public String miniupnpdLog() {
        StringBuilder s = new StringBuilder();
        for (int i = 1; i <= miniupnpdStarts; i++) {
            try {
                s.append(Files.readString(dir.resolve("miniupnpd-" + i + ".log")));
            } catch (IOException e) {
                // not started
            }
        }
        return s.toString();
    }

    /** Stops every process, deletes the namespaces and the directory; prints miniupnpd's log tail. Idempotent. */
    @Override
    public void close() {
        try {
            stop(true);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (coturn != null) {
            coturn.close();
            coturn = null;
        }
        if (hostLink != null) {
            try { // both ends go with the LAN namespace too; deleting it here does not depend on that
                Peers.Result r = Peers.run(10, "ip", "link", "del", hostLink);
                if (!r.ok() && !r.output().contains("Cannot find device")) {
                    System.out.println("ip link del " + hostLink + ": " + r.output());
                }
            } catch (IOException | InterruptedException e) {
                System.out.println("cannot delete " + hostLink + ": " + e);
            }
            hostLink = null;
        }
        if (!created.isEmpty()) {
            System.out.println("---- miniupnpd log (last lines) ----");
            System.out.print(Peers.tail(miniupnpdLog(), 40));
        }
        for (String ns : List.copyOf(created)) {
            deleteNamespace(ns);
        }
        created.clear();
        PeerRuns.deleteTree(dir);
    }

    /** Kills what runs in the namespace, then deletes it. */
    static void deleteNamespace(String ns) {
        try {
            Peers.Result pids = Peers.run(10, "ip", "netns", "pids", ns);
            for (String pid : pids.output().split("\\s+")) {
                if (pid.matches("\\d+")) {
                    ProcessHandle.of(Long.parseLong(pid)).ifPresent(ProcessHandle::destroyForcibly);
                    Peers.awaitGone(Long.parseLong(pid), 2000);
                }
            }
            Peers.Result r = Peers.run(10, "ip", "netns", "del", ns);
            if (!r.ok()) {
                System.out.println("ip netns del " + ns + ": " + r.output());
            }
        } catch (IOException | InterruptedException e) {
            System.out.println("cannot delete namespace " + ns + ": " + e);
        }
    }

    /** Deletes namespaces with the prefix whose JVM (the pid in the name) is no longer a live java process. */
    static void cleanLeftovers() throws IOException, InterruptedException {
        Pattern p = Pattern.compile("^(" + PREFIX + "(\\d+)-\\d+-(lan|rtr|wan))\\b");
        for (String line : Peers.run(10, "ip", "netns", "list").output().split("\n")) {
            Matcher m = p.matcher(line.trim());
            if (!m.find()) {
                continue;
            }
            long pid = Long.parseLong(m.group(2));
            boolean alive = isLiveJava(pid);
            if (!alive) {
                System.out.println("deleting namespace " + m.group(1) + " left by a crashed run (pid " + pid + ")");
                deleteNamespace(m.group(1));
            }
        }
        Pattern dirs = Pattern.compile("^ports-nat-lab-" + PREFIX + "(\\d+)-");
        try (java.util.stream.Stream<Path> s = Files.list(Path.of(System.getProperty("java.io.tmpdir")))) {
            for (Path d : (Iterable<Path>) s::iterator) {
                Matcher m = dirs.matcher(d.getFileName().toString());
                if (m.find() && !isLiveJava(Long.parseLong(m.group(1)))) {
                    System.out.println("deleting " + d + " left by a crashed run");
                    PeerRuns.deleteTree(d);
                }
            }
        }
    }

    private static boolean isLiveJava(long pid) {
        return ProcessHandle.of(pid).map(h -> h.isAlive() && h.info().command().map(c -> c.contains("java")).orElse(false)).orElse(false);
    }
}
