package io.ports.listener.testsupport;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;

/**
 * Child JVM: {@code PORT MAX_MILLIS}. Tries to bind and listen on PORT as fast as it can, alternating
 * {@code SO_REUSEADDR} on and off (what C servers and Java servers do), until stdin closes or
 * MAX_MILLIS pass. Prints {@code STARTED}, then {@code WON} if a bind+listen ever succeeded, and
 * finally {@code ATTEMPTS n}.
 */
public final class BindHammer {
    private BindHammer() {
    }

    public static void main(String[] args) throws Exception {
        int port = Integer.parseInt(args[0]);
        long deadline = System.nanoTime() + Long.parseLong(args[1]) * 1_000_000L;
        Thread stdinWatcher = new Thread(() -> {
            try {
                while (System.in.read() >= 0) {
                    // wait for EOF
                }
            } catch (IOException ignored) {
                // closed
            }
        });
        stdinWatcher.setDaemon(true);
        stdinWatcher.start();
        System.out.println("STARTED");
        System.out.flush();
        long attempts = 0;
        boolean won = false;
        while (stdinWatcher.isAlive() && System.nanoTime() < deadline) {
            try (ServerSocket s = new ServerSocket()) {
                s.setReuseAddress((attempts & 1) == 0);
                attempts++;
                s.bind(new InetSocketAddress(port), 50);
                won = true;
                System.out.println("WON reuseAddress=" + s.getReuseAddress());
                System.out.flush();
                break;
            } catch (IOException expected) {
                // in use: keep hammering
            }
        }
        System.out.println("ATTEMPTS " + attempts + (won ? " won" : ""));
        System.out.flush();
    }
}
