package io.ports.nat;

import io.ports.core.EventLoops;
import io.ports.core.Protocol;
import io.ports.nat.internal.NatUtil;

import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.Arrays;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * PCP (RFC 6887) version 2 to the gateway's UDP port 5351: ANNOUNCE to probe, MAP with a 96-bit
 * nonce that renewals and the delete reuse. Addresses travel as 128 bits: IPv4 as IPv4-mapped IPv6
 * ({@code ::ffff:a.b.c.d}). The client address in the header is the one the route to the gateway
 * leaves from; a server behind another NAT answers ADDRESS_MISMATCH. A server that answers with
 * version 0 speaks only NAT-PMP: {@link UnsupportedVersion} tells {@link NatTraversal} to fall back.
 */
final class PcpMapper implements PortMapper {
    static final int VERSION = 2;
    static final int ANNOUNCE = 0;
    static final int MAP = 1;

    /** The server answered UNSUPP_VERSION: it speaks NAT-PMP (version 0) or another PCP version. */
    static final class UnsupportedVersion extends MappingRefusedException {
        private static final long serialVersionUID = 1L;
        final int serverVersion;

        UnsupportedVersion(String message, int serverVersion) {
            super(message, MappingProtocol.PCP, 1, "UNSUPP_VERSION");
            this.serverVersion = serverVersion;
        }
    }

    private final EventLoops loops;
    private final InetSocketAddress gateway;
    private final GatewayUdp.Schedule schedule;
    private final Ticker ticker;
    private final EpochTracker epoch = new EpochTracker(true);
    private final CopyOnWriteArrayList<Runnable> stateLost = new CopyOnWriteArrayList<>();
    private volatile InetAddress clientAddress;

    PcpMapper(EventLoops loops, InetSocketAddress gateway, GatewayUdp.Schedule schedule, Ticker ticker) {
        this.loops = loops;
        this.gateway = gateway;
        this.schedule = schedule;
        this.ticker = ticker;
    }

    @Override
    public MappingProtocol protocol() {
        return MappingProtocol.PCP;
    }

    @Override
    public void onStateLost(Runnable listener) {
        stateLost.add(listener);
    }

    /** The address to put in the header: where the route to the gateway leaves from. */
    private InetAddress client() {
        InetAddress c = clientAddress;
        if (c == null) {
            c = NatUtil.sourceAddressFor(gateway.getAddress());
            if (c == null) {
                throw new NatTraversalException("PCP: no local address routes to gateway " + NatUtil.format(gateway.getAddress()));
            }
            clientAddress = c;
        }
        return c;
    }

    /** 16 bytes: IPv6 as is, IPv4 as ::ffff:a.b.c.d. */
    static byte[] encode(InetAddress a) {
        byte[] raw = a.getAddress();
        if (raw.length == 16) {
            return raw;
        }
        byte[] b = new byte[16];
        b[10] = (byte) 0xFF;
        b[11] = (byte) 0xFF;
        System.arraycopy(raw, 0, b, 12, 4);
        return b;
    }

    static InetAddress decode(byte[] b, int offset) {
        try {
            return NatUtil.unmap(InetAddress.getByAddress(Arrays.copyOfRange(b, offset, offset + 16)));
        } catch (UnknownHostException e) {
            throw new IllegalStateException(e);
        }
    }

    static byte[] header(int opcode, long lifetime, InetAddress client, int extra) {
        return ByteBuffer.allocate(24 + extra).put((byte) VERSION).put((byte) opcode).putShort((short) 0)
                .putInt((int) lifetime).put(encode(client)).array();
    }

    /** A MAP request (RFC 6887 section 11.1): header + nonce, protocol, internal port, suggested external port and address. */
    static byte[] mapRequest(InetAddress client, PortMapper.Request req, long lifetime, int suggestedExternal) {
        byte[] h = header(MAP, lifetime, client, 36);
        ByteBuffer b = ByteBuffer.wrap(h).position(24);
        b.put(req.nonce()).put((byte) (req.transport() == Protocol.TCP ? 6 : 17)).put(new byte[3])
                .putShort((short) req.internalPort()).putShort((short) suggestedExternal);
        byte[] any = client instanceof Inet4Address ? encode(NatUtil.wildcardFor(client)) : new byte[16];
        b.put(any);
        return h;
    }

    private void check(byte[] r, String what) {
        if (r[0] != VERSION) {
            int v = r[0] & 0xFF;
            throw new UnsupportedVersion(what + ": gateway " + NatUtil.format(gateway.getAddress()) + " answered UNSUPP_VERSION"
                    + " with version " + v + (v == 0 ? ": it speaks NAT-PMP, not PCP; NAT-PMP is used instead" : ""), v);
        }
        int result = r[3] & 0xFF;
        if (result == 1) {
            throw new UnsupportedVersion(what + ": gateway " + NatUtil.format(gateway.getAddress()) + " answered UNSUPP_VERSION: "
                    + ResultCodes.pcpAdvice(1), r[0] & 0xFF);
        }
        if (result != 0) {
            long lifetime = ByteBuffer.wrap(r, 4, 4).getInt() & 0xFFFF_FFFFL;
            throw new MappingRefusedException(what + " refused by gateway " + NatUtil.format(gateway.getAddress()) + ": "
                    + ResultCodes.pcpName(result) + " (" + result + "): " + ResultCodes.pcpAdvice(result)
                    + (lifetime > 0 ? " (the gateway says the condition lasts about " + lifetime + " s)" : ""),
                    MappingProtocol.PCP, result, ResultCodes.pcpName(result));
        }
        boolean lost = epoch.update(ByteBuffer.wrap(r, 8, 4).getInt() & 0xFFFF_FFFFL, ticker.read());
        if (lost) {
            stateLost.forEach(Runnable::run);
        }
    }

    /** A response to {@code opcode}: PCP with the R bit, or a NAT-PMP-format UNSUPP_VERSION. */
    private static boolean answers(byte[] r, int opcode) {
        if (r.length >= 4 && r[0] == 0 && (r[1] & 0xFF) == 128 + opcode) {
            return true; // NAT-PMP server: version 0, UNSUPPORTED_VERSION
        }
        return r.length >= 24 && (r[1] & 0xFF) == (0x80 | opcode);
    }

    @Override
    public CompletableFuture<String> probe(Duration budget) {
        String what = "PCP ANNOUNCE";
        byte[] req;
        try {
            req = header(ANNOUNCE, 0, client(), 0);
        } catch (NatTraversalException e) {
            return CompletableFuture.failedFuture(e);
        }
        return GatewayUdp.exchange(loops, gateway, req, r -> answers(r, ANNOUNCE), schedule.within(budget), what).thenApply(r -> {
            check(r, what);
            return "PCP server, epoch " + epoch.previousEpoch() + " s, client address " + NatUtil.format(clientAddress);
        });
    }

    @Override
    public CompletableFuture<Grant> map(PortMapper.Request req) {
        String what = "PCP MAP " + req.describe() + " (lifetime " + req.lifetimeSeconds() + " s)";
        byte[] msg;
        try {
            msg = mapRequest(client(), req, req.lifetimeSeconds(), req.suggestedExternalPort());
        } catch (NatTraversalException e) {
            return CompletableFuture.failedFuture(e);
        }
        long before = epoch.previousEpoch();
        return GatewayUdp.exchange(loops, gateway, msg, r -> answers(r, MAP) && (r[0] != VERSION || r[3] != 0
                || r.length >= 60 && Arrays.equals(Arrays.copyOfRange(r, 24, 36), req.nonce())), schedule, what).thenApply(r -> {
                    boolean[] lost = {false};
                    Runnable flag = () -> lost[0] = true;
                    stateLost.add(flag);
                    try {
                        check(r, what);
                    } finally {
                        stateLost.remove(flag);
                    }
                    long lifetime = ByteBuffer.wrap(r, 4, 4).getInt() & 0xFFFF_FFFFL;
                    int port = ((r[42] & 0xFF) << 8) | (r[43] & 0xFF);
                    return new Grant(decode(r, 44), port, lifetime, lost[0], lost[0]
                            ? "the gateway's epoch is " + epoch.previousEpoch() + " s, after " + before + " s at its previous answer: its"
                            + " clock did not keep up with ours, so it restarted and lost its mappings" : "");
                });
    }

    @Override
    public CompletableFuture<Void> unmap(PortMapper.Request req, Grant granted) {
        String what = "PCP delete " + req.describe();
        byte[] msg;
        try {
            msg = mapRequest(client(), req, 0, granted == null ? 0 : granted.externalPort());
        } catch (NatTraversalException e) {
            return CompletableFuture.failedFuture(e);
        }
        return GatewayUdp.exchange(loops, gateway, msg, r -> answers(r, MAP), schedule, what).thenAccept(r -> check(r, what));
    }

    @Override
    public CompletableFuture<InetAddress> externalAddress() {
        return CompletableFuture.failedFuture(new NatTraversalException("PCP has no external-address request: the address comes"
                + " with each MAP response"));
    }

    @Override
    public void close() {
        stateLost.clear();
    }
}
