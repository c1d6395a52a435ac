package io.ports.nat;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.socket.DatagramPacket;
import io.netty.util.concurrent.ScheduledFuture;
import io.ports.core.EventLoops;
import io.ports.nat.internal.NatUtil;

import java.net.InetSocketAddress;
import java.net.PortUnreachableException;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/**
 * One request/response exchange with the gateway's NAT-PMP/PCP port over UDP on the shared loops:
 * a fresh socket connected to the gateway (so the kernel drops datagrams from anyone else and an
 * ICMP port unreachable ends the exchange at once), the request retransmitted at {@code initial},
 * doubling, at most {@code sends} times or until {@code timeout}; the first datagram that comes from
 * the gateway's address and port and that {@code accept} takes completes it.
 */
final class GatewayUdp {
    /** How long to wait: initial retransmission interval (doubling), sends, and an overall cap. */
    record Schedule(Duration initial, int sends, Duration timeout) {
        Schedule {
            if (initial.isNegative() || initial.isZero() || sends < 1 || timeout.isNegative() || timeout.isZero()) {
                throw new IllegalArgumentException("retransmission schedule " + initial + " x " + sends + " within " + timeout
                        + " (expected: initial > 0, sends >= 1, timeout > 0)");
            }
        }

        /** Waits after each send; the last wait is as long as the one before doubled (RFC 6886: 250 ms .. 64 s). */
        long waitAfter(int sendNumber) {
            return initial.toNanos() << Math.min(30, sendNumber - 1);
        }

        Schedule within(Duration cap) {
            return new Schedule(initial, sends, cap.compareTo(timeout) < 0 ? cap : timeout);
        }

        String describe() {
            return "first retransmission after " + NatUtil.format(initial) + ", doubling, at most " + sends + " sends within "
                    + NatUtil.format(timeout);
        }
    }

    /** The exchange ended without an answer the caller took. */
    static final class NoAnswer extends NatTimeoutException {
        private static final long serialVersionUID = 1L;
        final boolean unreachable;

        NoAnswer(String message, int attempts, Duration elapsed, boolean unreachable) {
            super(message, attempts, elapsed);
            this.unreachable = unreachable;
        }
    }

    private GatewayUdp() {
    }

    static CompletableFuture<byte[]> exchange(EventLoops loops, InetSocketAddress gateway, byte[] request, Predicate<byte[]> accept,
                                             Schedule schedule, String what) {
        CompletableFuture<byte[]> result = new CompletableFuture<>();
        long started = System.nanoTime();
        int[] sends = {0};
        int[] ignored = {0};
        Bootstrap b = new Bootstrap().group(loops.next()).channel(loops.datagramChannelClass())
                .handler(new SimpleChannelInboundHandler<DatagramPacket>() {
                    @Override
                    protected void channelRead0(ChannelHandlerContext ctx, DatagramPacket p) {
                        // connected: the kernel already filters, this is the RFC 6886 section 3.1 check all the same
                        InetSocketAddress from = p.sender();
                        byte[] data = ByteBufUtil.getBytes(p.content());
                        if (from != null && !NatUtil.sameEndpoint(from, gateway)) {
                            ignored[0]++;
                            return;
                        }
                        if (accept.test(data)) {
                            result.complete(data);
                        } else {
                            ignored[0]++;
                        }
                    }

                    @Override
                    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
                        Duration elapsed = Duration.ofNanos(System.nanoTime() - started);
                        if (cause instanceof PortUnreachableException) {
                            result.completeExceptionally(new NoAnswer(what + ": ICMP port unreachable after " + sends[0]
                                    + (sends[0] == 1 ? " send" : " sends") + ": gateway " + NatUtil.format(gateway.getAddress())
                                    + " has nothing listening on UDP port " + gateway.getPort()
                                    + " (the service is off, or the router was restarting)", sends[0], elapsed, true));
                        } else {
                            result.completeExceptionally(new NatTraversalException(what + ": " + NatUtil.describe(cause), cause));
                        }
                    }
                });
        Runnable giveUp = () -> {
            Duration elapsed = Duration.ofNanos(System.nanoTime() - started);
            result.completeExceptionally(new NoAnswer(what + ": no answer from gateway " + NatUtil.format(gateway) + " after "
                    + sends[0] + (sends[0] == 1 ? " send" : " sends") + " in " + NatUtil.format(elapsed) + " (" + schedule.describe() + ")"
                    + (ignored[0] > 0 ? "; ignored " + ignored[0] + " datagrams that did not answer this request" : ""),
                    sends[0], elapsed, false));
        };
        ChannelFuture bind = b.bind(new InetSocketAddress(NatUtil.wildcardFor(gateway.getAddress()), 0));
        Channel ch = bind.channel();
        bind.addListener(f -> {
            if (!f.isSuccess()) {
                result.completeExceptionally(new NatTraversalException(what + ": cannot open a UDP socket: " + NatUtil.describe(f.cause()),
                        f.cause()));
                return;
            }
            ch.connect(gateway).addListener(c -> {
                if (!c.isSuccess()) {
                    result.completeExceptionally(new NoAnswer(what + ": no route to gateway " + NatUtil.format(gateway) + ": "
                            + NatUtil.describe(c.cause()), 0, Duration.ofNanos(System.nanoTime() - started), true));
                    return;
                }
                send(ch, request, schedule, sends, result, giveUp);
            });
        });
        ScheduledFuture<?> cap = ch.eventLoop().schedule(giveUp, schedule.timeout().toNanos(), TimeUnit.NANOSECONDS);
        result.whenComplete((r, t) -> {
            cap.cancel(false);
            ch.close();
        });
        return result;
    }

    private static void send(Channel ch, byte[] request, Schedule schedule, int[] sends, CompletableFuture<byte[]> result,
                             Runnable giveUp) {
        if (result.isDone()) {
            return;
        }
        sends[0]++;
        ch.writeAndFlush(Unpooled.wrappedBuffer(request));
        long wait = schedule.waitAfter(sends[0]);
        ch.eventLoop().schedule(sends[0] < schedule.sends() ? () -> send(ch, request, schedule, sends, result, giveUp) : giveUp,
                wait, TimeUnit.NANOSECONDS);
    }
}
