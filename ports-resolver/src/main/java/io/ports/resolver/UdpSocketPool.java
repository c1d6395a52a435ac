package io.ports.resolver;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.FixedRecvByteBufAllocator;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.socket.DatagramChannel;
import io.netty.channel.socket.DatagramPacket;
import io.netty.util.collection.IntObjectHashMap;
import io.ports.core.EventLoops;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.net.InetSocketAddress;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/*
 * The UDP sockets the questions of one resolver share.
 *
 * Why
 * ---
 * Opening a datagram channel per question (socket, register, bind, close: several event loop round
 * trips) cost about 55 us of a 123 us miss on loopback. Netty's DnsNameResolver sends everything
 * through one socket it never changes. Here a few long-lived sockets are shared and rotated, which
 * keeps most of the source-port unpredictability (RFC 5452 section 9.2) without the per-question cost.
 *
 * Layout
 * ------
 * `slots` slots, spread round robin over the event loops when built. A question picks a slot at
 * random and runs entirely on that slot's loop, so everything of a slot (its sockets, their ids in
 * flight, its SecureRandom) is touched only there: no locks.
 *
 * A slot has at most one current socket. It is bound to port 0, so the kernel picks a random free
 * ephemeral port, and it is opened only when a question needs it. It takes new questions until it
 * has taken `maxQueries` or is `maxAge` old; then it is retired: it takes no new question, still
 * delivers the answers of those it has, and is closed when the last of them is done (at once if it
 * has none). Its successor, the spare, is opened ahead of need, when the current socket has
 * taken all but a tenth of maxQueries (at least one): built in a thread of the common pool (building
 * an io_uring datagram channel, with its native message-header arrays, held the loop for 130-140 us,
 * and the question behind it on the loop waited), then registered and bound on the loop (about
 * 13 us) and kept until the current socket retires. A question that finds no socket ready (the
 * slot's first, the first after an idle socket aged out, or one that came before its spare was
 * ready) opens one on the loop. A spare too retires at maxAge, so an idle resolver holds no socket
 * after maxAge, and with maxQueries 1 every question has a socket and port of its own, opened
 * ahead of it when the questions do not come faster than the spares.
 *
 * Ids and answers
 * ---------------
 * A question gets a random id that no other question in flight on its socket has. An answer goes to
 * the question of its id on the socket it arrived on; that question accepts it only from a server
 * it asked and with its own question section (DnsQuery.parse). Anything else is dropped.
 */
final class UdpSocketPool {
    private static final Logger log = LoggerFactory.getLogger(UdpSocketPool.class);

    final int maxQueries;
    final long maxAgeNanos;
    private final Slot[] slots;
    private final Class<? extends DatagramChannel> channelClass;
    private final int receiveSize;
    /** A slot opens its current socket's successor when the current one has taken this many fewer than maxQueries. */
    private final int openAhead;
    private final AtomicInteger openSockets = new AtomicInteger();
    private final AtomicLong openedSockets = new AtomicLong();

    UdpSocketPool(EventLoops loops, int sockets, int maxQueries, Duration maxAge, int receiveSize) {
        this.maxQueries = maxQueries;
        this.maxAgeNanos = maxAge.toNanos();
        this.openAhead = Math.max(1, maxQueries / 10);
        this.channelClass = loops.datagramChannelClass();
        this.receiveSize = receiveSize;
        this.slots = new Slot[sockets];
        for (int i = 0; i < sockets; i++) {
            slots[i] = new Slot(loops.next());
        }
    }

    /** A slot at random; the question then runs on {@link Slot#loop}. */
    Slot pick() {
        return slots[slots.length == 1 ? 0 : ThreadLocalRandom.current().nextInt(slots.length)];
    }

    /** Sockets open (or being opened) now. */
    int openSockets() {
        return openSockets.get();
    }

    /** Sockets opened since the pool was built. */
    long openedSockets() {
        return openedSockets.get();
    }

    /** The local ports of the sockets open now, for tests; waits at most 5 s for each slot's loop. */
    List<Integer> localPorts() throws Exception {
        List<Integer> ports = new ArrayList<>();
        for (Slot s : slots) {
            CompletableFuture<List<Integer>> f = new CompletableFuture<>();
            s.loop.execute(() -> {
                List<Integer> mine = new ArrayList<>();
                for (Socket socket : s.sockets) {
                    Channel ch = socket.bound.channel();
                    if (ch.localAddress() instanceof InetSocketAddress a) {
                        mine.add(a.getPort());
                    }
                }
                f.complete(mine);
            });
            ports.addAll(f.get(5, TimeUnit.SECONDS));
        }
        return ports;
    }

    /**
     * Closes every socket and refuses new questions; completes when all are closed. Questions still
     * registered must have been failed before (DnsTransport.close does that first).
     */
    CompletableFuture<Void> close() {
        List<CompletableFuture<Void>> all = new ArrayList<>();
        for (Slot s : slots) {
            CompletableFuture<Void> done = new CompletableFuture<>();
            all.add(done);
            try {
                s.loop.execute(() -> s.closeAll(done));
            } catch (RejectedExecutionException e) {
                done.complete(null); // the loops are shut down: their channels are closed with them
            }
        }
        return CompletableFuture.allOf(all.toArray(new CompletableFuture[0]));
    }

    /** One place for a socket, confined to {@link #loop}. */
    final class Slot {
        final EventLoop loop;
        /** Query ids of this slot's sockets; used only on the loop, so it is not contended. */
        private final SecureRandom random = new SecureRandom();
        /** Every socket of the slot not yet closed: the current one, the spare and retired ones still draining. */
        private final Set<Socket> sockets = new LinkedHashSet<>();
        private Socket current;
        /** The successor of {@link #current}, opened ahead of need; null while none is ready. */
        private Socket spare;
        /** A spare being opened off the loop: completes on the loop when it is in {@link #sockets} (or closed). */
        private CompletableFuture<Void> spareOpening;
        private boolean closed;

        Slot(EventLoop loop) {
            this.loop = loop;
        }

        /** The socket for a new question, registered under a fresh id; null once closed. On the loop. */
        Socket.Registration register(DnsQuery q) {
            if (closed) {
                return null;
            }
            Socket s = current;
            if (s == null || s.retired) {
                s = spare != null ? spare : openHere();
                spare = null;
                current = s;
            }
            Socket.Registration r = s.register(q);
            if (spare == null && spareOpening == null && s.taken >= maxQueries - openAhead) {
                openSpare();
            }
            return r;
        }

        /**
         * Opens the current socket's successor before it is needed. The channel is built and its bind
         * started in a thread of the common pool, not here: building a datagram channel (for io_uring
         * two arrays of 256 message headers in native memory) took the loop 130-140 us at the median,
         * and the question behind it on the loop waited for that; what is left for the loop is the
         * registration and the bind, about 13 us.
         */
        private void openSpare() {
            CompletableFuture<Void> ready = new CompletableFuture<>();
            spareOpening = ready;
            openSockets.incrementAndGet();
            openedSockets.incrementAndGet();
            Socket s = new Socket(this);
            try {
                ForkJoinPool.commonPool().execute(() -> {
                    s.bound = bootstrap(s).bind(0); // a channel that cannot be built comes back as a failed future
                    try {
                        loop.execute(() -> adoptSpare(s, ready));
                    } catch (RejectedExecutionException e) { // the loop is shut down, and its channels with it
                        s.bound.channel().close();
                        openSockets.decrementAndGet();
                        ready.complete(null);
                    }
                });
            } catch (RejectedExecutionException e) {
                spareOpening = null;
                openSockets.decrementAndGet();
                ready.complete(null); // no spare: the next socket opens on the loop when it is needed
            }
        }

        private void adoptSpare(Socket s, CompletableFuture<Void> ready) {
            spareOpening = null;
            if (closed || s.bound.isDone() && !s.bound.isSuccess()) {
                if (!closed) {
                    log.debug("DNS UDP socket: could not open a spare: {}", String.valueOf(s.bound.cause()));
                }
                openSockets.decrementAndGet();
                s.closed = true; // never in sockets: its channelInactive must not count it again
                s.bound.channel().close().addListener(f -> ready.complete(null));
                return;
            }
            track(s);
            if (current == null || current.retired) {
                current = s;
            } else {
                spare = s;
            }
            ready.complete(null);
        }

        private Bootstrap bootstrap(Socket s) {
            return new Bootstrap().group(loop).channel(channelClass)
                    .option(ChannelOption.RECVBUF_ALLOCATOR, new FixedRecvByteBufAllocator(receiveSize))
                    .handler(s);
        }

        /** Opens a socket here on the loop, for a question that cannot wait for a spare. */
        private Socket openHere() {
            Socket s = new Socket(this);
            openSockets.incrementAndGet();
            openedSockets.incrementAndGet();
            s.bound = bootstrap(s).bind(0);
            track(s);
            return s;
        }

        /** A socket now belongs to the slot: counted as closed when its channel closes, retired when maxAge old. */
        private void track(Socket s) {
            sockets.add(s);
            s.bound.channel().closeFuture().addListener(f -> s.closed());
            s.bound.addListener(f -> {
                if (!f.isSuccess()) { // its questions fail on this; the slot's next question opens another socket
                    s.retire();
                    s.bound.channel().close();
                }
            });
            s.ageTimer = loop.schedule(s::retire, maxAgeNanos, TimeUnit.NANOSECONDS);
        }

        private void closeAll(CompletableFuture<Void> done) {
            closed = true;
            current = null;
            spare = null;
            List<CompletableFuture<?>> closing = new ArrayList<>();
            if (spareOpening != null) {
                closing.add(spareOpening); // closes its socket when it comes, as closed is set
            }
            for (Socket s : new ArrayList<>(sockets)) {
                s.retired = true;
                s.cancelTimer();
                CompletableFuture<Void> c = new CompletableFuture<>();
                s.bound.channel().close().addListener(f -> c.complete(null));
                closing.add(c);
            }
            CompletableFuture.allOf(closing.toArray(new CompletableFuture[0])).whenComplete((v, t) -> done.complete(null));
        }
    }

    /** One UDP socket; its handler hands each answer to the question of its id. Confined to its slot's loop. */
    final class Socket extends SimpleChannelInboundHandler<DatagramPacket> {
        private final Slot slot;
        private final IntObjectHashMap<DnsQuery> inFlight = new IntObjectHashMap<>();
        ChannelFuture bound;
        private ScheduledFuture<?> ageTimer;
        private int taken;
        private boolean retired;
        private boolean closed;

        /** A question's place on a socket: the socket and the id it has there. */
        record Registration(Socket socket, int id) {
            void release(DnsQuery q) {
                socket.release(id, q);
            }
        }

        Socket(Slot slot) {
            this.slot = slot;
        }

        Channel channel() {
            return bound.channel();
        }

        /** Whether answers can still come in: not closed, and bound or about to be. */
        boolean usable() {
            return !closed && (!bound.isDone() || bound.isSuccess() && bound.channel().isActive());
        }

        private Registration register(DnsQuery q) {
            int id = freeId();
            inFlight.put(id, q);
            if (++taken >= maxQueries) {
                retire();
            }
            return new Registration(this, id);
        }

        /** A random id not in flight here. The map never holds more than maxQueries (at most 65,535) ids. */
        private int freeId() {
            for (int i = 0; i < 64; i++) {
                int id = slot.random.nextInt(0x10000);
                if (!inFlight.containsKey(id)) {
                    return id;
                }
            }
            int start = slot.random.nextInt(0x10000); // nearly full: the first free id after a random one
            for (int i = 0; i < 0x10000; i++) {
                int id = (start + i) & 0xffff;
                if (!inFlight.containsKey(id)) {
                    return id;
                }
            }
            throw new IllegalStateException("65,536 questions in flight on one socket"); // maxQueries <= 65,535
        }

        private void release(int id, DnsQuery q) {
            if (inFlight.get(id) == q) {
                inFlight.remove(id);
            }
            if (retired && inFlight.isEmpty()) {
                Channel ch = bound.channel();
                slot.loop.execute(ch::close); // after the answer has reached its callers
            }
        }

        /** Takes no new question from now on; closes when none is left. */
        void retire() {
            if (retired) {
                return;
            }
            retired = true;
            cancelTimer();
            if (slot.current == this) {
                slot.current = null;
            }
            if (slot.spare == this) { // aged out before it was needed
                slot.spare = null;
            }
            if (inFlight.isEmpty()) {
                bound.channel().close();
            }
        }

        private void cancelTimer() {
            if (ageTimer != null) {
                ageTimer.cancel(false);
                ageTimer = null;
            }
        }

        private void closed() {
            if (closed) {
                return;
            }
            closed = true;
            retire();
            slot.sockets.remove(this);
            openSockets.decrementAndGet();
        }

        @Override
        protected void channelRead0(ChannelHandlerContext ctx, DatagramPacket packet) {
            ByteBuf content = packet.content();
            if (content.readableBytes() < 12) {
                log.debug("dropping a datagram of {} bytes from {}: shorter than a DNS header", content.readableBytes(),
                        packet.sender());
                return;
            }
            int id = content.getUnsignedShort(content.readerIndex());
            DnsQuery q = inFlight.get(id);
            if (q == null) {
                log.debug("dropping an answer with id {} from {}: no question in flight with that id on this socket", id,
                        packet.sender());
                return;
            }
            q.udpAnswer(packet);
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            closed();
            ctx.fireChannelInactive();
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            log.debug("DNS UDP socket {}: {}", ctx.channel().localAddress(), cause.toString());
        }
    }
}
