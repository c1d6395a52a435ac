package io.ports.listener.tunnel;

import io.ports.core.EventLoops;
import io.ports.listener.ListenerManager;
import io.ports.listener.ListenerOptions;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;

import static org.junit.jupiter.api.Assertions.fail;

/** Shared set-up of the tunnel tests: one event loop group, a listener manager per test, cleanup in reverse. */
abstract class TunnelFixture {
    static EventLoops loops;

    ListenerManager manager;
    private final List<AutoCloseable> cleanup = Collections.synchronizedList(new ArrayList<>());

    @BeforeAll
    static void startLoops() {
        loops = EventLoops.builder().threads(2).build();
    }

    @AfterAll
    static void stopLoops() {
        loops.close();
    }

    @BeforeEach
    void newManager() {
        manager = new ListenerManager(loops);
    }

    @AfterEach
    void closeAll() throws Exception {
        Exception first = null;
        List<AutoCloseable> reversed = new ArrayList<>(cleanup);
        Collections.reverse(reversed);
        for (AutoCloseable c : reversed) {
            try {
                c.close();
            } catch (Exception e) {
                first = first == null ? e : first;
            }
        }
        manager.close();
        if (first != null) {
            throw first;
        }
    }

    <T extends AutoCloseable> T closeLater(T c) {
        cleanup.add(c);
        return c;
    }

    static ListenerOptions quickStop() {
        return ListenerOptions.builder().gracefulTimeout(java.time.Duration.ofMillis(200)).build();
    }

    TunnelServer server(TcpTarget target, Consumer<TunnelServerOptions.Builder> options) {
        TunnelServerOptions.Builder b = TunnelServerOptions.builder().allow(target.hostPort());
        options.accept(b);
        return closeLater(TunnelServer.start(manager, "127.0.0.1:0", quickStop(), b.build()));
    }

    TunnelClient client(String uri, Consumer<TunnelClientOptions.Builder> options) {
        TunnelClientOptions.Builder b = TunnelClientOptions.builder(uri);
        options.accept(b);
        return closeLater(TunnelClient.start(manager, "127.0.0.1:0", quickStop(), b.build()));
    }

    static String ws(TunnelServer s) {
        return "ws://127.0.0.1:" + s.port() + s.options().path();
    }

    static Socket connect(int port) throws IOException {
        Socket s = new Socket();
        s.connect(new InetSocketAddress("127.0.0.1", port), 5000);
        s.setSoTimeout(20_000);
        return s;
    }

    static byte[] random(int n) {
        byte[] b = new byte[n];
        ThreadLocalRandom.current().nextBytes(b);
        return b;
    }

    /**
     * Writes {@code data} on a second thread and shuts the output down (a half-close) while reading on
     * this one until end of stream: what an echo through the tunnel gives back.
     */
    static byte[] exchange(int port, byte[] data) throws Exception {
        try (Socket s = connect(port)) {
            CompletableFuture<Void> writer = CompletableFuture.runAsync(() -> {
                try {
                    OutputStream out = s.getOutputStream();
                    for (int off = 0; off < data.length; off += 65536) {
                        out.write(data, off, Math.min(65536, data.length - off));
                    }
                    s.shutdownOutput();
                } catch (IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            });
            byte[] back = readToEnd(s.getInputStream());
            writer.get(20, TimeUnit.SECONDS);
            return back;
        }
    }

    static byte[] readToEnd(InputStream in) throws IOException {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        in.transferTo(b);
        return b.toByteArray();
    }

    /** Polls {@code condition} every 20 ms, at most 15 s; fails naming {@code what} and the state. */
    static void await(String what, BooleanSupplier condition, Object state) throws InterruptedException {
        for (int i = 0; i < 750; i++) {
            if (condition.getAsBoolean()) {
                return;
            }
            Thread.sleep(20);
        }
        if (!condition.getAsBoolean()) {
            fail("not reached within 15 s: " + what + " (" + state + ")");
        }
    }

    /**
     * Reads until end of stream or a reset: how a tunnel that broke shows up for the application.
     * Returns "eof" or "reset".
     */
    static String ending(Socket s) {
        try {
            InputStream in = s.getInputStream();
            byte[] buf = new byte[8192];
            while (in.read(buf) >= 0) {
                // drain
            }
            return "eof";
        } catch (java.net.SocketTimeoutException e) {
            return "timeout";
        } catch (IOException e) {
            return "reset";
        }
    }
}
