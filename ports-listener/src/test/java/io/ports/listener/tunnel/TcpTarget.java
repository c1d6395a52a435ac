package io.ports.listener.tunnel;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.zip.CRC32;

/**
 * A database-like TCP server on loopback for the tunnel to bridge to: blocking sockets, one thread
 * per connection, in one of three behaviours. Closing it closes every socket it opened.
 */
final class TcpTarget implements AutoCloseable {
    /** What a connection does. */
    interface Behaviour {
        void serve(Socket s, TcpTarget target) throws IOException, InterruptedException;
    }

    private final ServerSocket server;
    private final Behaviour behaviour;
    private final List<Socket> sockets = new CopyOnWriteArrayList<>();
    private final AtomicInteger accepted = new AtomicInteger();
    private final AtomicInteger finished = new AtomicInteger();
    final AtomicLong bytesRead = new AtomicLong();
    /** Readers (sink) and writers (source) wait for this before they start. */
    final CountDownLatch go = new CountDownLatch(1);
    /** What ended each connection: "eof", "reset: ...". */
    final List<String> endings = new CopyOnWriteArrayList<>();
    private final Thread acceptor;

    private TcpTarget(Behaviour behaviour, int receiveBuffer) throws IOException {
        this.behaviour = behaviour;
        this.server = new ServerSocket();
        if (receiveBuffer > 0) {
            server.setReceiveBufferSize(receiveBuffer);
        }
        server.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 512);
        acceptor = new Thread(this::accept, "tcp-target-" + server.getLocalPort());
        acceptor.setDaemon(true);
        acceptor.start();
    }

    /** Echoes every byte; at end of stream shuts its output down after the echo (a half-close in turn). */
    static TcpTarget echo() throws IOException {
        return new TcpTarget((s, t) -> {
            byte[] buf = new byte[64 * 1024];
            InputStream in = s.getInputStream();
            OutputStream out = s.getOutputStream();
            int n;
            while ((n = in.read(buf)) >= 0) {
                t.bytesRead.addAndGet(n);
                out.write(buf, 0, n);
            }
            s.shutdownOutput();
        }, 0);
    }

    /**
     * Reads nothing until {@link #go} opens, then reads everything; at end of stream answers with the
     * byte count and CRC32 of what it read (16 bytes) and closes.
     */
    static TcpTarget slowSink(int receiveBuffer) throws IOException {
        return new TcpTarget((s, t) -> {
            t.go.await(60, TimeUnit.SECONDS);
            byte[] buf = new byte[64 * 1024];
            InputStream in = s.getInputStream();
            CRC32 crc = new CRC32();
            long total = 0;
            int n;
            while ((n = in.read(buf)) >= 0) {
                crc.update(buf, 0, n);
                total += n;
                t.bytesRead.addAndGet(n);
            }
            java.nio.ByteBuffer answer = java.nio.ByteBuffer.allocate(16).putLong(total).putLong(crc.getValue());
            s.getOutputStream().write(answer.array());
            s.shutdownOutput();
        }, receiveBuffer);
    }

    /** Once {@link #go} opens, writes {@code bytes} of {@link #pattern} and closes its output. */
    static TcpTarget source(long bytes) throws IOException {
        return new TcpTarget((s, t) -> {
            t.go.await(60, TimeUnit.SECONDS);
            OutputStream out = s.getOutputStream();
            byte[] buf = new byte[64 * 1024];
            long sent = 0;
            while (sent < bytes) {
                int n = (int) Math.min(buf.length, bytes - sent);
                pattern(sent, buf, n);
                out.write(buf, 0, n);
                sent += n;
            }
            s.shutdownOutput();
            byte[] rest = new byte[4096];
            int r;
            while ((r = s.getInputStream().read(rest)) >= 0) { // the other direction stays open after our end
                t.bytesRead.addAndGet(r);
            }
        }, 0);
    }

    /** Reads one byte, then resets the connection (SO_LINGER 0): a target that crashes mid-stream. */
    static TcpTarget resetAfterFirstByte() throws IOException {
        return new TcpTarget((s, t) -> {
            s.getInputStream().read();
            s.setSoLinger(true, 0);
            s.close();
        }, 0);
    }

    /** Fills {@code buf[0..n)} with the bytes at stream offset {@code offset} of a fixed pattern. */
    static void pattern(long offset, byte[] buf, int n) {
        for (int i = 0; i < n; i++) {
            long x = offset + i;
            buf[i] = (byte) (x * 31 + (x >>> 11));
        }
    }

    private void accept() {
        while (!server.isClosed()) {
            try {
                Socket s = server.accept();
                accepted.incrementAndGet();
                sockets.add(s);
                Thread t = new Thread(() -> serve(s), "tcp-target-conn-" + accepted.get());
                t.setDaemon(true);
                t.start();
            } catch (IOException e) {
                return; // closed
            }
        }
    }

    private void serve(Socket s) {
        try (s) {
            behaviour.serve(s, this);
            endings.add("eof");
        } catch (SocketException e) {
            endings.add("reset: " + e.getMessage());
        } catch (IOException e) {
            endings.add("error: " + e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            finished.incrementAndGet();
        }
    }

    int port() {
        return server.getLocalPort();
    }

    String hostPort() {
        return "127.0.0.1:" + port();
    }

    int accepted() {
        return accepted.get();
    }

    int finished() {
        return finished.get();
    }

    @Override
    public void close() throws IOException {
        go.countDown();
        server.close();
        for (Socket s : sockets) {
            try {
                s.close();
            } catch (IOException ignored) {
                // closing anyway
            }
        }
    }
}
