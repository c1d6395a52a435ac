package io.ports.nat.testsupport;

import java.io.IOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketException;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * An in-process UDP server on a loopback address for protocol cases a real peer will not produce on
 * demand (garbage, chosen error codes, silence). {@link Behavior} turns each request into the
 * datagrams to answer, each with the address to send it from (this socket, or another one).
 */
public final class FakeUdpServer implements AutoCloseable {
    /** What to send back for one request. */
    @FunctionalInterface
    public interface Behavior {
        List<Reply> answer(byte[] request, InetSocketAddress from, int requestNumber) throws IOException;
    }

    /** One datagram to send; {@code via} null means this server's own socket. */
    public record Reply(byte[] data, DatagramSocket via) {
        public static Reply of(byte[] data) {
            return new Reply(data, null);
        }
    }

    private final DatagramSocket socket;
    private final Thread thread;
    private final AtomicInteger requests = new AtomicInteger();
    private final List<byte[]> received = new CopyOnWriteArrayList<>();

    private FakeUdpServer(DatagramSocket socket, Behavior behavior) {
        this.socket = socket;
        this.thread = new Thread(() -> serve(behavior), "fake-udp-" + socket.getLocalPort());
        this.thread.setDaemon(true);
        this.thread.start();
    }

    /** On {@code address} at an ephemeral port (port 0) or the given one. */
    public static FakeUdpServer start(InetSocketAddress address, Behavior behavior) throws SocketException {
        return new FakeUdpServer(new DatagramSocket(address), behavior);
    }

    public static FakeUdpServer start(Behavior behavior) throws SocketException {
        return start(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), behavior);
    }

    /** A socket that is bound but never answers: requests to it are lost without an ICMP error. */
    public static FakeUdpServer silent() throws SocketException {
        return start((req, from, n) -> List.of());
    }

    private void serve(Behavior behavior) {
        byte[] buf = new byte[2048];
        while (!socket.isClosed()) {
            DatagramPacket p = new DatagramPacket(buf, buf.length);
            try {
                socket.receive(p);
                byte[] data = Arrays.copyOf(p.getData(), p.getLength());
                received.add(data);
                int n = requests.incrementAndGet();
                InetSocketAddress from = (InetSocketAddress) p.getSocketAddress();
                for (Reply r : behavior.answer(data, from, n)) {
                    DatagramSocket via = r.via() != null ? r.via() : socket;
                    via.send(new DatagramPacket(r.data(), r.data().length, from));
                }
            } catch (IOException e) {
                if (socket.isClosed()) {
                    return;
                }
            }
        }
    }

    public InetSocketAddress address() {
        return (InetSocketAddress) socket.getLocalSocketAddress();
    }

    public int requests() {
        return requests.get();
    }

    public List<byte[]> received() {
        return received;
    }

    @Override
    public void close() {
        socket.close();
        try {
            thread.join(2000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
