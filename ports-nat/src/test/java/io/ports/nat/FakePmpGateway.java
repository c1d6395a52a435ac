package io.ports.nat;

import io.ports.nat.testsupport.FakeUdpServer;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * An in-process NAT-PMP + PCP server on 127.0.0.1 for what a real gateway will not do on demand:
 * chosen result codes, a NAT-PMP-only server, an epoch that jumps back, lost datagrams.
 */
final class FakePmpGateway implements AutoCloseable {
    static final byte[] EXTERNAL = {(byte) 203, 0, 113, 7};

    final FakeUdpServer udp;
    volatile boolean pcp = true;
    volatile int pcpResult;
    volatile int pmpResult;
    volatile int pmpAddressResult;
    volatile long epoch = 1000;
    volatile int drop;
    volatile long grantedLifetime = -1;
    /** When set, every answer is preceded by a bogus one (external address 1.2.3.4) sent from this other socket. */
    volatile java.net.DatagramSocket spoofFrom;
    final Map<String, Integer> mappings = new ConcurrentHashMap<>();
    final List<String> requests = new CopyOnWriteArrayList<>();

    FakePmpGateway() throws IOException {
        udp = FakeUdpServer.start((req, from, n) -> {
            if (n <= drop) {
                return List.of();
            }
            byte[] r = answer(req);
            if (r == null) {
                return List.of();
            }
            java.net.DatagramSocket spoofer = spoofFrom;
            if (spoofer != null && r.length == 12) {
                byte[] bogus = Arrays.copyOf(r, 12);
                System.arraycopy(new byte[] {1, 2, 3, 4}, 0, bogus, 8, 4);
                return List.of(new FakeUdpServer.Reply(bogus, spoofer), FakeUdpServer.Reply.of(r));
            }
            return List.of(FakeUdpServer.Reply.of(r));
        });
    }

    int port() {
        return udp.address().getPort();
    }

    InetAddress address() {
        return udp.address().getAddress();
    }

    /** The gateway restarts: mappings gone, epoch from 0. */
    void restart() {
        mappings.clear();
        epoch = 0;
    }

    private byte[] answer(byte[] q) {
        if (q.length >= 2 && q[0] == 2) {
            return pcp(q);
        }
        if (q.length >= 2 && q[0] == 0) {
            return natPmp(q);
        }
        return null;
    }

    private byte[] pcp(byte[] q) {
        int opcode = q[1] & 0x7F;
        if (!pcp) { // a NAT-PMP-only server: NAT-PMP's UNSUPPORTED_VERSION
            requests.add("PCP to NAT-PMP-only op " + opcode);
            return ByteBuffer.allocate(8).put((byte) 0).put((byte) (128 + opcode)).putShort((short) 1).putInt((int) epoch).array();
        }
        long lifetime = ByteBuffer.wrap(q, 4, 4).getInt() & 0xFFFFFFFFL;
        String client = HexFormat.of().formatHex(q, 8, 24);
        if (opcode == PcpMapper.ANNOUNCE) {
            requests.add("PCP ANNOUNCE client=" + client);
            return ByteBuffer.allocate(24).put((byte) 2).put((byte) 0x80).put((byte) 0).put((byte) pcpResult).putInt(0)
                    .putInt((int) epoch).put(new byte[12]).array();
        }
        byte[] nonce = Arrays.copyOfRange(q, 24, 36);
        int proto = q[36] & 0xFF;
        int internal = ((q[40] & 0xFF) << 8) | (q[41] & 0xFF);
        int suggested = ((q[42] & 0xFF) << 8) | (q[43] & 0xFF);
        requests.add("PCP MAP proto=" + proto + " internal=" + internal + " suggested=" + suggested + " lifetime=" + lifetime
                + " nonce=" + HexFormat.of().formatHex(nonce) + " client=" + client);
        int ext = suggested != 0 ? suggested : internal;
        if (pcpResult == 0) {
            if (lifetime == 0) {
                mappings.remove("pcp" + proto + ":" + internal);
            } else {
                mappings.put("pcp" + proto + ":" + internal, ext);
            }
        }
        long granted = grantedLifetime >= 0 && lifetime > 0 ? grantedLifetime : lifetime;
        ByteBuffer b = ByteBuffer.allocate(60).put((byte) 2).put((byte) 0x81).put((byte) 0).put((byte) pcpResult)
                .putInt((int) (pcpResult == 0 ? granted : 30)).putInt((int) epoch).put(new byte[12]).put(nonce).put((byte) proto)
                .put(new byte[3]).putShort((short) internal).putShort((short) ext);
        b.put(PcpMapper.encode(inet(EXTERNAL)));
        return b.array();
    }

    private byte[] natPmp(byte[] q) {
        int op = q[1] & 0xFF;
        if (op == 0) {
            requests.add("NAT-PMP address");
            return ByteBuffer.allocate(12).put((byte) 0).put((byte) 128).putShort((short) pmpAddressResult).putInt((int) epoch)
                    .put(EXTERNAL).array();
        }
        int internal = ((q[4] & 0xFF) << 8) | (q[5] & 0xFF);
        int suggested = ((q[6] & 0xFF) << 8) | (q[7] & 0xFF);
        long lifetime = ByteBuffer.wrap(q, 8, 4).getInt() & 0xFFFFFFFFL;
        requests.add("NAT-PMP MAP op=" + op + " internal=" + internal + " suggested=" + suggested + " lifetime=" + lifetime);
        int ext = suggested != 0 ? suggested : internal;
        if (pmpResult == 0) {
            if (lifetime == 0) {
                mappings.remove("pmp" + op + ":" + internal);
            } else {
                mappings.put("pmp" + op + ":" + internal, ext);
            }
        }
        long granted = grantedLifetime >= 0 && lifetime > 0 ? grantedLifetime : lifetime;
        return ByteBuffer.allocate(16).put((byte) 0).put((byte) (128 + op)).putShort((short) pmpResult).putInt((int) epoch)
                .putShort((short) internal).putShort((short) (lifetime == 0 ? 0 : ext)).putInt((int) granted).array();
    }

    static InetAddress inet(byte[] b) {
        try {
            return InetAddress.getByAddress(b);
        } catch (java.net.UnknownHostException e) {
            throw new IllegalStateException(e);
        }
    }

    List<String> requests(String prefix) {
        List<String> r = new ArrayList<>();
        for (String s : requests) {
            if (s.startsWith(prefix)) {
                r.add(s);
            }
        }
        return r;
    }

    InetSocketAddress socketAddress() {
        return udp.address();
    }

    @Override
    public void close() {
        udp.close();
    }
}
