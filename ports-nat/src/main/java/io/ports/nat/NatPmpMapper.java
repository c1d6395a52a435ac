package io.ports.nat;

import io.ports.core.EventLoops;
import io.ports.core.Protocol;
import io.ports.nat.internal.NatUtil;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * NAT-PMP (RFC 6886) to the gateway's UDP port 5351: external address (opcode 0), map UDP (1) and
 * TCP (2) with a lifetime, delete (lifetime 0). Every response's epoch goes through the
 * {@link EpochTracker}; when it shows the gateway restarted, the listeners re-create the mappings.
 */
final class NatPmpMapper implements PortMapper {
    private final EventLoops loops;
    private final InetSocketAddress gateway;
    private final GatewayUdp.Schedule schedule;
    private final Ticker ticker;
    private final EpochTracker epoch = new EpochTracker(false);
    private final CopyOnWriteArrayList<Runnable> stateLost = new CopyOnWriteArrayList<>();

    NatPmpMapper(EventLoops loops, InetSocketAddress gateway, GatewayUdp.Schedule schedule, Ticker ticker) {
        this.loops = loops;
        this.gateway = gateway;
        this.schedule = schedule;
        this.ticker = ticker;
    }

    @Override
    public MappingProtocol protocol() {
        return MappingProtocol.NAT_PMP;
    }

    @Override
    public void onStateLost(Runnable listener) {
        stateLost.add(listener);
    }

    /** A response's result code; throws the mapped refusal unless SUCCESS. */
    private static void check(byte[] r, String what, InetSocketAddress gateway) {
        int result = ((r[2] & 0xFF) << 8) | (r[3] & 0xFF);
        if (result != 0) {
            throw new MappingRefusedException(what + " refused by gateway " + NatUtil.format(gateway.getAddress()) + ": "
                    + ResultCodes.natPmpName(result) + " (" + result + "): " + ResultCodes.natPmpAdvice(result),
                    MappingProtocol.NAT_PMP, result, ResultCodes.natPmpName(result));
        }
    }

    private boolean epochLost(byte[] r) {
        long e = ByteBuffer.wrap(r, 4, 4).getInt() & 0xFFFF_FFFFL;
        return epoch.update(e, ticker.read());
    }

    private void fireIfLost(boolean lost) {
        if (lost) {
            stateLost.forEach(Runnable::run);
        }
    }

    @Override
    public CompletableFuture<String> probe(Duration budget) {
        return externalAddress(schedule.within(budget)).thenApply(a -> "external address " + NatUtil.format(a));
    }

    @Override
    public CompletableFuture<InetAddress> externalAddress() {
        return externalAddress(schedule);
    }

    private CompletableFuture<InetAddress> externalAddress(GatewayUdp.Schedule s) {
        String what = "NAT-PMP external address request";
        return GatewayUdp.exchange(loops, gateway, new byte[] {0, 0}, r -> r.length >= 12 && r[0] == 0 && (r[1] & 0xFF) == 128
                || r.length >= 4 && r[0] == 0 && (r[1] & 0xFF) == 128 && r[3] != 0, s, what).thenApply(r -> {
                    check(r, what, gateway);
                    boolean lost = epochLost(r);
                    fireIfLost(lost);
                    try {
                        return InetAddress.getByAddress(new byte[] {r[8], r[9], r[10], r[11]});
                    } catch (UnknownHostException e) {
                        throw new IllegalStateException(e);
                    }
                });
    }

    private static int opcode(Protocol p) {
        return p == Protocol.UDP ? 1 : 2;
    }

    private CompletableFuture<byte[]> mapExchange(PortMapper.Request req, long lifetime, int external, String what) {
        int op = opcode(req.transport());
        byte[] msg = ByteBuffer.allocate(12).put((byte) 0).put((byte) op).putShort((short) 0)
                .putShort((short) req.internalPort()).putShort((short) external).putInt((int) lifetime).array();
        return GatewayUdp.exchange(loops, gateway, msg, r -> r.length >= 4 && r[0] == 0 && (r[1] & 0xFF) == 128 + op
                && (r[3] != 0 || r[2] != 0 || r.length >= 16 && (((r[8] & 0xFF) << 8) | (r[9] & 0xFF)) == req.internalPort()),
                schedule, what);
    }

    @Override
    public CompletableFuture<Grant> map(PortMapper.Request req) {
        String what = "NAT-PMP map " + req.describe() + " (lifetime " + req.lifetimeSeconds() + " s)";
        return mapExchange(req, req.lifetimeSeconds(), req.suggestedExternalPort(), what).thenCompose(r -> {
            check(r, what, gateway);
            boolean lost = epochLost(r);
            int externalPort = ((r[10] & 0xFF) << 8) | (r[11] & 0xFF);
            long lifetime = ByteBuffer.wrap(r, 12, 4).getInt() & 0xFFFF_FFFFL;
            return externalAddress().thenApply(a -> {
                fireIfLost(lost);
                return new Grant(a, externalPort, lifetime, lost, lost ? "the gateway's epoch (" + epoch.previousEpoch()
                        + " s) did not keep up with our clock: it restarted and lost its mappings" : "");
            });
        });
    }

    @Override
    public CompletableFuture<Void> unmap(PortMapper.Request req, Grant granted) {
        String what = "NAT-PMP delete " + req.describe();
        return mapExchange(req, 0, 0, what).thenAccept(r -> check(r, what, gateway));
    }

    @Override
    public void close() {
        stateLost.clear();
    }
}
