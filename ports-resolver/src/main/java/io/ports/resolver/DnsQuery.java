package io.ports.resolver;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.FixedRecvByteBufAllocator;
import io.netty.channel.SimpleChannelInboundHandler;
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
 * One question in flight. Confined to its event loop: every field is touched only there, so there
 * are no locks. {@code seq} changes with every attempt; a timer or listener of an older attempt
 * sees a different {@code seq} and does nothing.
 *
 * <p>Answers are accepted only from a server this question was sent to, with the same id, the QR
 * bit, opcode QUERY and the same question (name compared case-insensitively); anything else is
 * dropped and the wait goes on. A late answer from an earlier attempt is accepted.
 */
final class DnsQuery extends SimpleChannelInboundHandler<DatagramPacket> {
    private static final Logger log = LoggerFactory.getLogger(DnsQuery.class);

    final CompletableFuture<DnsTransport.Response> promise = new CompletableFuture<>();
    private final DnsTransport transport;
    private final EventLoop loop;
    private final Name name;
    private final int type;
    private final int id;
    private final byte[] wire;
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
    private Channel udp;
    private Channel tcp;
    private ScheduledFuture<?> timer;

    DnsQuery(DnsTransport transport, EventLoop loop, Name name, int type, int id) {
        this.transport = transport;
        this.loop = loop;
        this.name = name;
        this.type = type;
        this.id = id;
        this.timeoutMillis = Math.max(1, transport.timeout.toMillis());
        int n = transport.servers.size();
        this.first = Math.floorMod(transport.preferred.get(), n);
        Message m = new Message(id);
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

    void start() {
        if (done) {
            return;
        }
        Bootstrap b = new Bootstrap().group(loop).channel(transport.datagramClass)
                .option(ChannelOption.RECVBUF_ALLOCATOR, new FixedRecvByteBufAllocator(Math.max(2048, transport.ednsPayloadSize)))
                .handler(this);
        b.bind(0).addListener((ChannelFutureListener) f -> {
            if (done) {
                f.channel().close();
                return;
            }
            if (!f.isSuccess()) {
                fail(new PortsException("cannot open a UDP socket to ask " + describe() + ": " + f.cause(), f.cause()));
                return;
            }
            udp = f.channel();
            sendNext();
        });
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
        // the timer first: a write that fails at once moves on from inside the listener
        timer = loop.schedule(() -> onTimeout(mySeq, server, "timeout"), timeoutMillis, TimeUnit.MILLISECONDS);
        udp.writeAndFlush(new DatagramPacket(Unpooled.wrappedBuffer(wire), server)).addListener(f -> {
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

    @Override
    protected void channelRead0(ChannelHandlerContext ctx, DatagramPacket packet) {
        if (done) {
            return;
        }
        InetSocketAddress sender = packet.sender();
        if (!asked.contains(sender)) {
            log.debug("dropping an answer to {} from {}: not a server it was sent to", describe(), sender);
            return;
        }
        Message m = parse(ByteBufUtil.getBytes(packet.content()), sender);
        if (m != null) {
            handle(m, sender, false);
        }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        log.debug("UDP socket of {}: {}", describe(), cause.toString());
    }

    /** The message if it parses and answers this question, else null (logged at debug). */
    private Message parse(byte[] bytes, InetSocketAddress sender) {
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
                    Message m = parse(bytes, server);
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
            udp.close();
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
