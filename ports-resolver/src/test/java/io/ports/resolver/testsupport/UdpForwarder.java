package io.ports.resolver.testsupport;

import org.xbill.DNS.ARecord;
import org.xbill.DNS.DClass;
import org.xbill.DNS.Flags;
import org.xbill.DNS.Message;
import org.xbill.DNS.Name;
import org.xbill.DNS.Record;
import org.xbill.DNS.Section;

import java.io.IOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.util.Arrays;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;

/**
 * A UDP hop on 127.0.0.1 in front of the real server, for what the server cannot do on its own:
 * hold a query until a condition holds ({@link #holdUntil}), or send forged answers first
 * ({@link #spoof}). Every answer that reaches the resolver unforged comes from the real server.
 * One thread, every wait bounded.
 */
public final class UdpForwarder implements AutoCloseable {
    private final DatagramSocket socket;
    private final InetSocketAddress upstream;
    private final Thread thread;
    private final AtomicInteger forwarded = new AtomicInteger();
    private final java.util.List<int[]> seen = java.util.Collections.synchronizedList(new java.util.ArrayList<>());
    private volatile BooleanSupplier hold = () -> true;
    private volatile boolean spoof;
    private volatile boolean running = true;

    public UdpForwarder(InetSocketAddress upstream) throws SocketException {
        this.upstream = upstream;
        this.socket = new DatagramSocket(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
        this.socket.setSoTimeout(50);
        this.thread = new Thread(this::run, "udp-forwarder");
        this.thread.setDaemon(true);
        this.thread.start();
    }

    public InetSocketAddress address() {
        return (InetSocketAddress) socket.getLocalSocketAddress();
    }

    /** Queries are held until {@code condition} holds (checked every 5 ms, at most 10 s), then forwarded. */
    public void holdUntil(BooleanSupplier condition) {
        this.hold = condition;
    }

    /**
     * Before each real answer, sends three forgeries carrying 6.6.6.6: one with another id, one for
     * another question, and one with the right id and question from another port.
     */
    public void spoof(boolean on) {
        this.spoof = on;
    }

    /** Source port and DNS id of every query received, in order. */
    public java.util.List<int[]> seen() {
        return java.util.List.copyOf(seen);
    }

    /** Queries forwarded to the real server so far. */
    public int forwarded() {
        return forwarded.get();
    }

    private void run() {
        byte[] buf = new byte[65535];
        while (running) {
            DatagramPacket p = new DatagramPacket(buf, buf.length);
            try {
                socket.receive(p);
            } catch (SocketTimeoutException e) {
                continue;
            } catch (IOException e) {
                return; // closed
            }
            byte[] query = Arrays.copyOf(p.getData(), p.getLength());
            InetSocketAddress client = (InetSocketAddress) p.getSocketAddress();
            if (query.length >= 2) {
                seen.add(new int[] {client.getPort(), ((query[0] & 0xff) << 8) | (query[1] & 0xff)});
            }
            try {
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
                while (!hold.getAsBoolean() && System.nanoTime() < deadline && running) {
                    Thread.sleep(5);
                }
                byte[] answer = exchange(query);
                forwarded.incrementAndGet();
                if (answer == null) {
                    continue;
                }
                if (spoof) {
                    sendForgeries(query, answer, client);
                }
                socket.send(new DatagramPacket(answer, answer.length, client));
            } catch (IOException e) {
                // the test sees a timeout
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    private byte[] exchange(byte[] query) throws IOException {
        try (DatagramSocket up = new DatagramSocket(0, InetAddress.getLoopbackAddress())) {
            up.setSoTimeout(2_000);
            up.send(new DatagramPacket(query, query.length, upstream));
            DatagramPacket r = new DatagramPacket(new byte[65535], 65535);
            try {
                up.receive(r);
            } catch (SocketTimeoutException e) {
                return null;
            }
            return Arrays.copyOf(r.getData(), r.getLength());
        }
    }

    private void sendForgeries(byte[] query, byte[] real, InetSocketAddress client) throws IOException {
        Message q = new Message(query);
        Record question = q.getQuestion();
        int id = q.getHeader().getID();
        byte[] wrongId = forged((id + 1) & 0xffff, question.getName(), question);
        Name other = Name.fromString("forged." + question.getName());
        byte[] wrongQuestion = forged(id, other, Record.newRecord(other, question.getType(), DClass.IN));
        byte[] rightButElsewhere = forged(id, question.getName(), question);
        socket.send(new DatagramPacket(wrongId, wrongId.length, client));
        socket.send(new DatagramPacket(wrongQuestion, wrongQuestion.length, client));
        try (DatagramSocket elsewhere = new DatagramSocket(0, InetAddress.getLoopbackAddress())) {
            elsewhere.send(new DatagramPacket(rightButElsewhere, rightButElsewhere.length, client));
        }
    }

    private static byte[] forged(int id, Name owner, Record question) throws IOException {
        Message m = new Message(id);
        m.getHeader().setFlag(Flags.QR);
        m.getHeader().setFlag(Flags.AA);
        m.addRecord(question, Section.QUESTION);
        if (question.getType() == org.xbill.DNS.Type.A) {
            m.addRecord(new ARecord(owner, DClass.IN, 300, InetAddress.getByName("6.6.6.6")), Section.ANSWER);
        }
        return m.toWire();
    }

    @Override
    public void close() {
        running = false;
        socket.close();
        try {
            thread.join(5_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
