package io.ports.nat.stun;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOption;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.socket.DatagramPacket;
import io.netty.util.concurrent.ScheduledFuture;
import io.ports.core.EventLoops;
import io.ports.nat.NatTimeoutException;
import io.ports.nat.NatTraversalException;
import io.ports.nat.internal.NatUtil;

import java.net.InetSocketAddress;
import java.net.PortUnreachableException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

/**
 * One UDP socket on the shared loops that runs STUN transactions: each request is retransmitted on
 * the RFC 8489 schedule (RTO, doubling, {@code sends} times, then a last wait of {@code lastWait} RTOs)
 * until a response with its transaction id arrives. Datagrams that do not decode are counted and the
 * first reason kept for the timeout message; a response with an unknown transaction id is ignored.
 * All state is touched on the channel's event loop only.
 */
final class UdpStunSession implements AutoCloseable {
    /** A retransmission schedule. */
    record Schedule(Duration rto, int sends, int lastWait) {
        long delayAfterSend(int sendNumber) { // 1-based
            return sendNumber < sends ? rto.toNanos() << (sendNumber - 1) : rto.toNanos() * lastWait;
        }

        Duration total() {
            long t = 0;
            for (int i = 1; i <= sends; i++) {
                t += delayAfterSend(i);
            }
            return Duration.ofNanos(t);
        }

        String describe() {
            return "RTO " + NatUtil.format(rto) + " doubling, " + sends + " sends, last wait " + lastWait + " x RTO";
        }
    }

    /** A response and how it came. */
    record Response(StunMessage message, InetSocketAddress sender, InetSocketAddress local, int sends, long roundTripNanos) {
    }

    private final Channel channel;
    private final InetSocketAddress connectedTo;
    private final Map<String, Transaction> pending = new HashMap<>();
    private int malformed;
    private String firstMalformed;

    private UdpStunSession(Channel channel, InetSocketAddress connectedTo) {
        this.channel = channel;
        this.connectedTo = connectedTo;
    }

    /**
     * Binds a UDP socket to {@code local} (port 0: any) with SO_REUSEADDR and, when {@code connectTo}
     * is given, connects it there: then only that server's datagrams arrive and an ICMP port
     * unreachable fails the transactions at once.
     */
    static CompletableFuture<UdpStunSession> open(EventLoops loops, InetSocketAddress local, InetSocketAddress connectTo) {
        CompletableFuture<UdpStunSession> result = new CompletableFuture<>();
        UdpStunSession[] holder = new UdpStunSession[1];
        Bootstrap b = new Bootstrap().group(loops.next()).channel(loops.datagramChannelClass())
                .option(ChannelOption.SO_REUSEADDR, true)
                .handler(new SimpleChannelInboundHandler<DatagramPacket>() {
                    @Override
                    protected void channelRead0(ChannelHandlerContext ctx, DatagramPacket p) {
                        if (holder[0] != null) {
                            holder[0].received(ByteBufUtil.getBytes(p.content()), p.sender());
                        }
                    }

                    @Override
                    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
                        if (holder[0] != null) {
                            holder[0].failAll(cause);
                        }
                    }
                });
        b.bind(local).addListener(f -> {
            if (!f.isSuccess()) {
                result.completeExceptionally(new NatTraversalException("cannot bind a UDP socket to " + NatUtil.format(local)
                        + " for STUN: " + NatUtil.describe(f.cause()) + (local.getPort() != 0
                        ? "; another socket without SO_REUSEADDR holds that port" : ""), f.cause()));
                return;
            }
            Channel ch = ((io.netty.channel.ChannelFuture) f).channel();
            if (connectTo == null) {
                holder[0] = new UdpStunSession(ch, null);
                result.complete(holder[0]);
                return;
            }
            ch.connect(connectTo).addListener(c -> {
                if (!c.isSuccess()) {
                    ch.close();
                    result.completeExceptionally(new NatTraversalException("cannot connect a UDP socket to "
                            + NatUtil.format(connectTo) + ": " + NatUtil.describe(c.cause()), c.cause()));
                    return;
                }
                holder[0] = new UdpStunSession(ch, connectTo);
                result.complete(holder[0]);
            });
        });
        return result;
    }

    InetSocketAddress localAddress() {
        return (InetSocketAddress) channel.localAddress();
    }

    /** Sends a Binding request to {@code server} and retransmits it until answered or the schedule ends. */
    CompletableFuture<Response> transact(InetSocketAddress server, int changeFlags, boolean fingerprint, Schedule schedule) {
        CompletableFuture<Response> f = new CompletableFuture<>();
        channel.eventLoop().execute(() -> {
            Transaction t = new Transaction(server, changeFlags, fingerprint, schedule, f);
            pending.put(t.key, t);
            t.send();
        });
        return f;
    }

    private void received(byte[] data, InetSocketAddress sender) {
        StunMessage m;
        try {
            m = StunMessage.decode(data);
        } catch (StunMessage.MalformedException e) {
            noteMalformed(sender, e.getMessage());
            return;
        }
        if (!m.isSuccess() && !m.isError()) {
            noteMalformed(sender, "unexpected " + m.describe());
            return;
        }
        Transaction t = pending.remove(ByteBufUtil.hexDump(m.transactionId));
        if (t == null) {
            return; // an answer to a retransmission we already had an answer for, or not ours
        }
        t.complete(m, sender);
    }

    private void noteMalformed(InetSocketAddress sender, String why) {
        malformed++;
        if (firstMalformed == null) {
            firstMalformed = why + " (from " + NatUtil.format(sender) + ")";
        }
    }

    private void failAll(Throwable cause) {
        List<Transaction> all = new ArrayList<>(pending.values());
        pending.clear();
        for (Transaction t : all) {
            t.fail(cause);
        }
    }

    @Override
    public void close() {
        channel.eventLoop().execute(() -> failAll(new NatTraversalException("STUN session closed")));
        channel.close();
    }

    private final class Transaction {
        final InetSocketAddress server;
        final int changeFlags;
        final Schedule schedule;
        final CompletableFuture<Response> future;
        final byte[] request;
        final String key;
        final long started = System.nanoTime();
        long lastSend;
        int sends;
        ScheduledFuture<?> timer;

        Transaction(InetSocketAddress server, int changeFlags, boolean fingerprint, Schedule schedule, CompletableFuture<Response> future) {
            this.server = server;
            this.changeFlags = changeFlags;
            this.schedule = schedule;
            this.future = future;
            byte[] tid = new byte[12];
            StunClient.RANDOM.nextBytes(tid);
            this.request = StunMessage.bindingRequest(tid, changeFlags, fingerprint);
            this.key = ByteBufUtil.hexDump(tid);
        }

        void send() {
            if (future.isDone()) {
                return;
            }
            sends++;
            lastSend = System.nanoTime();
            Object msg = connectedTo != null ? Unpooled.wrappedBuffer(request)
                    : new DatagramPacket(Unpooled.wrappedBuffer(request), server);
            channel.writeAndFlush(msg).addListener(w -> {
                if (!w.isSuccess() && pending.remove(key) != null) {
                    fail(w.cause());
                }
            });
            long delay = schedule.delayAfterSend(sends);
            timer = channel.eventLoop().schedule(sends < schedule.sends() ? this::send : this::timeout, delay,
                    java.util.concurrent.TimeUnit.NANOSECONDS);
        }

        void timeout() {
            if (pending.remove(key) == null) {
                return;
            }
            Duration elapsed = Duration.ofNanos(System.nanoTime() - started);
            String garbage = malformed == 0 ? "" : "; ignored " + malformed + " datagram" + (malformed == 1 ? "" : "s")
                    + " that were not STUN responses, first: " + firstMalformed;
            future.completeExceptionally(new NatTimeoutException(what() + ": no answer after " + sends + " sends in "
                    + NatUtil.format(elapsed) + " (" + schedule.describe() + ")" + garbage
                    + "; check that a STUN server listens there and that UDP is not filtered, or configure another server",
                    sends, elapsed));
        }

        void complete(StunMessage m, InetSocketAddress sender) {
            if (timer != null) {
                timer.cancel(false);
            }
            future.complete(new Response(m, sender, localAddress(), sends, System.nanoTime() - lastSend));
        }

        void fail(Throwable cause) {
            if (timer != null) {
                timer.cancel(false);
            }
            Duration elapsed = Duration.ofNanos(System.nanoTime() - started);
            if (cause instanceof PortUnreachableException) {
                future.completeExceptionally(new NatTimeoutException(what() + ": ICMP port unreachable after " + sends
                        + (sends == 1 ? " send" : " sends") + ": nothing listens on UDP " + NatUtil.format(server)
                        + "; check the server address and port, or configure another server", sends, elapsed, cause));
            } else if (cause instanceof NatTraversalException) {
                future.completeExceptionally(cause);
            } else {
                future.completeExceptionally(new NatTraversalException(what() + " failed after " + sends + " sends: "
                        + NatUtil.describe(cause), cause));
            }
        }

        String what() {
            String change = changeFlags == 0 ? "" : " with CHANGE-REQUEST("
                    + ((changeFlags & StunMessage.CHANGE_IP) != 0 ? "ip" : "")
                    + ((changeFlags & StunMessage.CHANGE_IP) != 0 && (changeFlags & StunMessage.CHANGE_PORT) != 0 ? "+" : "")
                    + ((changeFlags & StunMessage.CHANGE_PORT) != 0 ? "port" : "") + ")";
            return "STUN Binding request" + change + " to " + NatUtil.format(server) + " over UDP from "
                    + NatUtil.format(localAddress());
        }
    }
}
