package io.ports.manager.lab;

import io.ports.core.EventLoops;
import io.ports.listener.ListenerManager;
import io.ports.manager.DialBackServer;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.WebSocket;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;

/**
 * The outside of the NAT lab, run in its WAN namespace by {@link ManagerNatLabTest}: a
 * {@link DialBackServer} on port 7070 (each probe at most 1.5 s), and a WebSocket client (the JDK's,
 * not ours) for the tunnel. Commands on stdin, one answer line on stdout:
 * <pre>
 * ws URL TOKEN TEXT -> WS received   (everything received within 5 s, after sending TEXT once "hello" came)   or  FAILED message
 * exit              -> BYE
 * </pre>
 */
public final class OutsideMain {
    public static final int PORT = 7070;

    private OutsideMain() {
    }

    public static void main(String[] args) throws Exception {
        System.setProperty("lab.log", args[0]);
        System.setProperty("logback.configurationFile", "logback-lab.xml");
        EventLoops loops = EventLoops.builder().threads(1).threadNamePrefix("outside-io").build();
        ListenerManager listeners = new ListenerManager(loops);
        DialBackServer server = DialBackServer.start(listeners, "0.0.0.0:" + PORT, Duration.ofMillis(1500));
        System.out.println("READY " + server.port());
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        String line;
        while ((line = in.readLine()) != null) {
            String[] a = line.trim().split("\\s+");
            try {
                if (a[0].equals("ws")) {
                    System.out.println("WS " + websocket(URI.create(a[1]), a[2], a[3]).replace("\n", "|"));
                } else if (a[0].equals("exit")) {
                    server.close();
                    listeners.close();
                    loops.close();
                    System.out.println("BYE");
                    return;
                } else {
                    System.out.println("FAILED unknown command " + line);
                }
            } catch (Exception e) {
                System.out.println("FAILED " + String.valueOf(e).replace('\n', ' '));
            }
            System.out.flush();
        }
    }

    /** Opens the tunnel, waits for the service's greeting, sends {@code text}, returns all received until its echo came (at most 5 s). */
    private static String websocket(URI uri, String token, String text) throws Exception {
        StringBuilder got = new StringBuilder();
        CompletableFuture<String> done = new CompletableFuture<>();
        HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
        WebSocket.Builder b = http.newWebSocketBuilder().subprotocols("binary");
        if (!token.equals("-")) {
            b.header("Authorization", "Bearer " + token);
        }
        WebSocket ws = b.buildAsync(uri, new WebSocket.Listener() {
            @Override
            public CompletionStage<?> onBinary(WebSocket w, ByteBuffer data, boolean last) {
                synchronized (got) {
                    got.append(StandardCharsets.UTF_8.decode(data));
                    if (got.toString().startsWith("hello ") && got.indexOf("\n") > 0 && got.length() == got.indexOf("\n") + 1) {
                        w.sendBinary(ByteBuffer.wrap(text.getBytes(StandardCharsets.UTF_8)), true);
                    }
                    if (got.toString().endsWith(text)) {
                        done.complete(got.toString());
                    }
                }
                w.request(1);
                return null;
            }

            @Override
            public void onError(WebSocket w, Throwable error) {
                done.completeExceptionally(error);
            }
        }).get(10, TimeUnit.SECONDS);
        try {
            return done.get(5, TimeUnit.SECONDS);
        } finally {
            ws.sendClose(WebSocket.NORMAL_CLOSURE, "bye").get(5, TimeUnit.SECONDS);
        }
    }
}
