package io.ports.manager.examples;

import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.codec.LineBasedFrameDecoder;
import io.netty.handler.codec.string.StringDecoder;
import io.netty.handler.codec.string.StringEncoder;
import io.ports.manager.NodePorts;
import io.ports.manager.PortConfig;
import io.ports.manager.PortManager;
import io.ports.resolver.SrvEndpoint;
import org.xbill.DNS.ARecord;
import org.xbill.DNS.DClass;
import org.xbill.DNS.Message;
import org.xbill.DNS.Name;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.SRVRecord;
import org.xbill.DNS.TSIG;
import org.xbill.DNS.Update;

import java.io.BufferedReader;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * One node of the cluster bootstrap example: {@code NODE_ID LOCK_DIR DNS_HOST:PORT TSIG_SECRET}.
 *
 * <p>The node gets its cluster port with the HASH strategy (the same port on every start while it is
 * free), listens on it, publishes {@code node-ID.cluster.test} and an SRV record of
 * {@code _db._tcp.cluster.test} by RFC 2136 dynamic update, then keeps resolving that SRV name and
 * holds a connection to every other node it finds, saying {@code JOINED peer} when one answers and
 * {@code LEFT peer} when its connection ends. It stops at end of input.
 */
public final class ClusterNodeExample {
    private static final String ZONE = "cluster.test.";
    private static final String SRV = "_db._tcp.cluster.test.";

    private ClusterNodeExample() {
    }

    public static void main(String[] args) throws Exception {
        String id = args[0];
        Path lockDir = Path.of(args[1]);
        String dns = args[2];
        String secret = args[3];
        PortConfig config = PortConfig.fromMap(Map.of(
                "node-id", id, "strategy", "hash", "lock-dir", lockDir.toString(), "dynamic-range", "36000-36999",
                "event-loops.threads", "1", "health-check-interval", "1h", "resolver.servers", dns, "resolver.timeout", "1s",
                "services.cluster.type", "CUSTOM"), Map.of());
        try (PortManager ports = PortManager.create(config).closeOnShutdown()) {
            NodePorts node = ports.startServices(Map.of("cluster", pipeline(id)));
            int port = node.port("cluster");
            publish(dns, secret, id, port);
            System.out.println("READY " + id + " " + port);
            System.out.flush();
            Map<String, Socket> peers = new ConcurrentHashMap<>();
            Thread discovery = new Thread(() -> discover(ports, id, peers), "discovery");
            discovery.setDaemon(true);
            discovery.start();
            while (System.in.read() >= 0) {
                // run until end of input
            }
            peers.values().forEach(ClusterNodeExample::closeQuietly);
        }
    }

    private static ChannelHandler pipeline(String id) {
        return new ChannelInitializer<SocketChannel>() {
            @Override
            protected void initChannel(SocketChannel ch) {
                ch.pipeline().addLast(new LineBasedFrameDecoder(256), new StringDecoder(StandardCharsets.UTF_8),
                        new StringEncoder(StandardCharsets.UTF_8), new SimpleChannelInboundHandler<String>() {
                            @Override
                            protected void channelRead0(ChannelHandlerContext ctx, String line) {
                                if (line.startsWith("HELLO ")) {
                                    ctx.writeAndFlush("WELCOME " + id + "\n");
                                }
                            }
                        });
            }
        };
    }

    /** Resolves the cluster's SRV name every 300 ms and connects to each node not yet connected. */
    private static void discover(PortManager ports, String self, Map<String, Socket> peers) {
        while (true) {
            try {
                List<SrvEndpoint> nodes = ports.resolveSrv(SRV).toCompletableFuture().join();
                for (SrvEndpoint e : nodes) {
                    String peer = e.target().replaceFirst("^node-", "").replaceFirst("\\.cluster\\.test\\.?$", "");
                    if (!peer.equals(self) && !peers.containsKey(peer)) {
                        connect(peer, e.port(), self, peers);
                    }
                }
            } catch (RuntimeException ignored) {
                // the name may not exist yet, or the server is busy: try again shortly
            }
            try {
                Thread.sleep(300);
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    private static void connect(String peer, int port, String self, Map<String, Socket> peers) {
        Socket s = new Socket();
        try {
            s.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 1000);
            s.setSoTimeout(2000);
            PrintWriter out = new PrintWriter(s.getOutputStream(), true, StandardCharsets.UTF_8);
            BufferedReader in = new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.UTF_8));
            out.println("HELLO " + self);
            String reply = in.readLine();
            if (!("WELCOME " + peer).equals(reply)) {
                closeQuietly(s);
                return;
            }
            s.setSoTimeout(0);
            peers.put(peer, s);
            System.out.println("JOINED " + peer);
            System.out.flush();
            Thread watcher = new Thread(() -> {
                try {
                    while (in.readLine() != null) {
                        // nothing else is sent
                    }
                } catch (IOException ignored) {
                    // reset by a killed peer
                }
                peers.remove(peer, s);
                closeQuietly(s);
                System.out.println("LEFT " + peer);
                System.out.flush();
            }, "watch-" + peer);
            watcher.setDaemon(true);
            watcher.start();
        } catch (IOException e) {
            closeQuietly(s); // not up (again) yet
        }
    }

    /** Adds this node's address and SRV record (TTL 1 s) by RFC 2136 UPDATE, signed with TSIG, over TCP. */
    private static void publish(String dns, String secret, String id, int port) throws IOException {
        Name zone = Name.fromString(ZONE);
        Name host = Name.fromString("node-" + id + "." + ZONE);
        Update u = new Update(zone);
        u.add(new ARecord(host, DClass.IN, 1, InetAddress.getLoopbackAddress()));
        u.add(new SRVRecord(Name.fromString(SRV), DClass.IN, 1, 10, 10, port, host));
        u.setTSIG(new TSIG(TSIG.HMAC_SHA256, Name.fromString("testkey."), secret));
        byte[] wire = u.toWire(Message.MAXLENGTH);
        int colon = dns.lastIndexOf(':');
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress(dns.substring(0, colon), Integer.parseInt(dns.substring(colon + 1))), 5000);
            s.setSoTimeout(5000);
            DataOutputStream out = new DataOutputStream(s.getOutputStream());
            out.writeShort(wire.length);
            out.write(wire);
            out.flush();
            DataInputStream in = new DataInputStream(s.getInputStream());
            byte[] reply = new byte[in.readUnsignedShort()];
            in.readFully(reply);
            int rcode = new Message(reply).getRcode();
            if (rcode != Rcode.NOERROR) {
                throw new IOException("the DNS server refused the update of " + host + ": " + Rcode.string(rcode));
            }
        }
    }

    private static void closeQuietly(Socket s) {
        try {
            s.close();
        } catch (IOException ignored) {
            // closing
        }
    }
}
