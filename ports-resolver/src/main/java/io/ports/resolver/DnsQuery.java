package io.ports.resolver;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.socket.DatagramPacket;
import io.ports.core.PortsException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.xbill.DNS.DClass;
import org.xbill.DNS.Flags;
import org.xbill.DNS.Header;
import org.xbill.DNS.Message;
import org.xbill.DNS.Name;
import org.xbill.DNS.OPTRecord;
import org.xbill.DNS.Opcode;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Record;
import org.xbill.DNS.Section;
import org.xbill.DNS.Type;

import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * One question in flight. Confined to the event loop of its {@link UdpSocketPool.Slot}: every field
 * is touched only there, so there are no locks. {@code seq} changes with every attempt; a timer or
 * listener of an older attempt sees a different {@code seq} and does nothing.
 *
 * <p>Over UDP it is registered on one of the pool's sockets under an id no other question in flight
 * there has, for all its attempts, and released when it is done. The socket hands it the datagrams
 * with its id; it accepts one only from a server it was sent to, with the QR bit, opcode QUERY and
 * the same question (name compared case-insensitively); anything else is dropped and the wait goes
 * on. A late answer from an earlier attempt is accepted.
 */
final class DnsQuery {
    private static final Logger log = LoggerFactory.getLogger(DnsQuery.class);

    final CompletableFuture<DnsTransport.Response> promise = new CompletableFuture<>();
    private final DnsTransport transport;
    private final UdpSocketPool.Slot slot;
    private final EventLoop loop;
    private final Name name;
    private final int type;
    /** The message with id 0 until {@link #start()} patches in the id of its registration. */
    private final byte[] wire;
    private int id = -1;
    private final int first;
    private final long timeoutMillis;
    private final Set<InetSocketAddress> asked = new HashSet<>();
    private final Map<InetSocketAddress, List<String>> problems = new LinkedHashMap<>();

    private int tries;
    private int seq;
    private InetSocketAddress current;
    private boolean done;
    private boolean answeredWithError;
    private int lastRcode = -1;
    private UdpSocketPool.Socket.Registration udp;
    private Channel tcp;
    private ScheduledFuture<?> timer;

    DnsQuery(DnsTransport transport, UdpSocketPool.Slot slot, Name name, int type) {
        this.transport = transport;
        this.slot = slot;
        this.loop = slot.loop;
        this.name = name;
        this.type = type;
        this.timeoutMillis = Math.max(1, transport.timeout.toMillis());
        int n = transport.servers.size();
        this.first = Math.floorMod(transport.preferred.get(), n);
        Message m = new Message(0);
        m.getHeader().setFlag(Flags.RD);
        m.addRecord(Record.newRecord(name, type, DClass.IN), Section.QUESTION);
        if (transport.ednsPayloadSize > 0) {
            m.addRecord(new OPTRecord(transport.ednsPayloadSize, 0, 0), Section.ADDITIONAL);
        }
        this.wire = m.toWire();
    }

    String describe() {
        return name.toString(true) + " " + Type.string(type);
    }

    EventLoop loop() {
        return loop;
    }

    /** On the loop: takes a socket and an id, then sends the first attempt. */
    void start() {
        if (done) {
            return;
        }
        sendNext();
    }

    /**
     * The registration to send with: the current one, or a new one (new socket, new id) when the
     * socket was closed under the question. Null after failing the question (the pool is closed).
     */
    private UdpSocketPool.Socket.Registration registration() {
        if (udp != null && udp.socket().usable()) {
            return udp;
        }
        if (udp != null) {
            udp.release(this);
        }
        udp = slot.register(this);
        if (udp == null) {
            fail(new PortsException("the resolver is closed: cannot ask " + describe()));
            return null;
        }
        id = udp.id();
        wire[0] = (byte) (id >>> 8);
        wire[1] = (byte) id;
        return udp;
    }

    private void sendNext() {
        cancelTimer();
        closeTcp();
        List<InetSocketAddress> servers = transport.servers;
        if (tries >= servers.size() * transport.attempts) {
            exhausted();
            return;
        }
        InetSocketAddress server = servers.get((first + tries) % servers.size());
        tries++;
        int mySeq = ++seq;
        current = server;
        asked.add(server);
        transport.counters.queries.increment();
        UdpSocketPool.Socket.Registration r = registration();
        if (r == null) {
            return;
        }
        // the timer first: a write that fails at once moves on from inside the listener
        timer = loop.schedule(() -> onTimeout(mySeq, server, "timeout"), timeoutMillis, TimeUnit.MILLISECONDS);
        ChannelFuture bound = r.socket().bound;
        if (bound.isDone()) {
            write(r, server, mySeq);
        } else {
            bound.addListener(f -> write(r, server, mySeq));
        }
    }

    private void write(UdpSocketPool.Socket.Registration r, InetSocketAddress server, int mySeq) {
        if (done || mySeq != seq) {
            return;
        }
        ChannelFuture bound = r.socket().bound;
        if (!bound.isSuccess()) {
            fail(new PortsException("cannot open a UDP socket to ask " + describe() + ": " + bound.cause(), bound.cause()));
            return;
        }
        Channel ch = bound.channel();
        ByteBuf out = ch.alloc().directBuffer(wire.length).writeBytes(wire);
        ch.writeAndFlush(new DatagramPacket(out, server)).addListener(f -> {
            if (!f.isSuccess() && mySeq == seq && !done) {
                problem(server, "send failed: " + f.cause());
                sendNext();
            }
        });
    }

    private void onTimeout(int mySeq, InetSocketAddress server, String what) {
        if (done || mySeq != seq) {
            return;
        }
        transport.counters.timeouts.increment();
        problem(server, what);
        sendNext();
    }

    /** A datagram with this question's id, from its socket. */
    void udpAnswer(DatagramPacket packet) {
        if (done) {
            return;
        }
        InetSocketAddress sender = packet.sender();
        if (!asked.contains(sender)) {
            log.debug("dropping an answer to {} from {}: not a server it was sent to", describe(), sender);
            return;
        }
        Message m = parse(packet.content().nioBuffer(), sender);
        if (m != null) {
            handle(m, sender, false);
        }
    }

    /** The message if it parses and answers this question, else null (logged at debug). */
    private Message parse(ByteBuffer bytes, InetSocketAddress sender) {
        Message m;
        try {
            m = new Message(bytes);
        } catch (Exception e) {
            log.debug("dropping an unparsable answer to {} from {}: {}", describe(), sender, e.toString());
            return null;
        }
        String mismatch = mismatch(m);
        if (mismatch != null) {
            log.debug("dropping an answer to {} from {}: {}", describe(), sender, mismatch);
            return null;
        }
        return m;
    }

    private String mismatch(Message m) {
        Header h = m.getHeader();
        if (h.getID() != id) {
            return "id " + h.getID() + " instead of " + id;
        }
        if (!h.getFlag(Flags.QR)) {
            return "not a response";
        }
        if (h.getOpcode() != Opcode.QUERY) {
            return "opcode " + Opcode.string(h.getOpcode());
        }
        Record q = m.getQuestion();
        if (q == null) {
            return "no question section";
        }
        if (q.getType() != type || q.getDClass() != DClass.IN || !q.getName().equals(name)) {
            return "question " + q.getName() + " " + Type.string(q.getType()) + " instead of " + describe();
        }
        return null;
    }

    private void handle(Message m, InetSocketAddress server, boolean viaTcp) {
        if (!viaTcp && m.getHeader().getFlag(Flags.TC)) {
            log.debug("{}: truncated answer from {}, asking again over TCP", describe(), server);
            startTcp(server);
            return;
        }
        int rcode = m.getRcode();
        if (rcode == Rcode.NOERROR || rcode == Rcode.NXDOMAIN) {
            int index = transport.indexOf(server);
            if (index >= 0) {
                transport.preferred.set(index);
            }
            done = true;
            cleanup();
            promise.complete(new DnsTransport.Response(m, server, viaTcp));
            return;
        }
        answeredWithError = true;
        lastRcode = rcode;
        problem(server, (viaTcp ? "TCP " : "") + Rcode.string(rcode));
        if (viaTcp || server.equals(current)) {
            sendNext();
        }
    }

    private void startTcp(InetSocketAddress server) {
        cancelTimer();
        closeTcp();
        int mySeq = ++seq;
        current = server;
        transport.counters.queries.increment();
        transport.counters.tcpQueries.increment();
        timer = loop.schedule(() -> onTimeout(mySeq, server, "TCP timeout"), timeoutMillis, TimeUnit.MILLISECONDS);
        Bootstrap b = new Bootstrap().group(loop).channel(transport.socketClass)
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) Math.min(Integer.MAX_VALUE, timeoutMillis))
                .handler(new TcpReader(mySeq, server));
        ChannelFuture connect = b.connect(server);
        tcp = connect.channel();
        connect.addListener((ChannelFutureListener) f -> {
            if (done || mySeq != seq) {
                f.channel().close();
                return;
            }
            if (!f.isSuccess()) {
                problem(server, "TCP connect failed: " + f.cause().getMessage());
                sendNext();
                return;
            }
            ByteBuf out = f.channel().alloc().buffer(2 + wire.length);
            out.writeShort(wire.length).writeBytes(wire);
            f.channel().writeAndFlush(out);
        });
    }

    /** Reads one length-prefixed DNS message from the TCP connection. */
    private final class TcpReader extends ChannelInboundHandlerAdapter {
        private final int mySeq;
        private final InetSocketAddress server;
        private ByteBuf acc;

        TcpReader(int mySeq, InetSocketAddress server) {
            this.mySeq = mySeq;
            this.server = server;
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ByteBuf in = (ByteBuf) msg;
            try {
                if (acc == null) {
                    acc = ctx.alloc().heapBuffer(Math.max(512, in.readableBytes()));
                }
                acc.writeBytes(in);
            } finally {
                in.release();
            }
            if (acc.readableBytes() >= 2) {
                int length = acc.getUnsignedShort(acc.readerIndex());
                if (acc.readableBytes() >= 2 + length) {
                    byte[] bytes = new byte[length];
                    acc.skipBytes(2).readBytes(bytes);
                    ctx.close();
                    if (done || mySeq != seq) {
                        return;
                    }
                    Message m = parse(ByteBuffer.wrap(bytes), server);
                    if (m == null) {
                        problem(server, "TCP answer unusable");
                        sendNext();
                    } else {
                        handle(m, server, true);
                    }
                }
            }
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            release();
            if (!done && mySeq == seq) {
                problem(server, "TCP connection closed before the answer");
                sendNext();
            }
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            log.debug("TCP connection of {} to {}: {}", describe(), server, cause.toString());
            ctx.close();
        }

        @Override
        public void handlerRemoved(ChannelHandlerContext ctx) {
            release();
        }

        private void release() {
            if (acc != null) {
                acc.release();
                acc = null;
            }
        }
    }

    private void exhausted() {
        StringBuilder detail = new StringBuilder();
        problems.forEach((server, list) -> {
            if (detail.length() > 0) {
                detail.append("; ");
            }
            detail.append(Names.format(server)).append(": ").append(String.join(", ", list));
        });
        String shown = name.toString(true);
        String typeName = Type.string(type);
        if (answeredWithError) {
            fail(new ServerFailureException(shown, typeName, lastRcode, "no server gave a usable answer (" + detail + ")"));
        } else {
            fail(new DnsTimeoutException(shown, typeName, transport.servers, transport.attempts, transport.timeout,
                    detail.toString()));
        }
    }

    private void problem(InetSocketAddress server, String what) {
        problems.computeIfAbsent(server, k -> new ArrayList<>()).add(what);
    }

    private void fail(Throwable t) {
        if (done) {
            return;
        }
        done = true;
        cleanup();
        promise.completeExceptionally(t);
    }

    /** Fails the question from any thread. */
    void abort(Throwable t) {
        try {
            loop.execute(() -> fail(t));
        } catch (RejectedExecutionException e) {
            promise.completeExceptionally(t);
        }
    }

    private void cleanup() {
        cancelTimer();
        closeTcp();
        if (udp != null) {
            udp.release(this);
            udp = null;
        }
    }

    private void cancelTimer() {
        if (timer != null) {
            timer.cancel(false);
            timer = null;
        }
    }

    private void closeTcp() {
        if (tcp != null) {
            tcp.close();
            tcp = null;
        }
    }
}
