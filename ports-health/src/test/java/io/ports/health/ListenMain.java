package io.ports.health;

import java.io.BufferedReader;
import java.io.Closeable;
import java.io.InputStreamReader;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * Child process of the tests: prints {@code READY <pid>}, then obeys lines on stdin, on loopback only:
 * {@code tcp PORT} (listen, {@code 0} for any) and {@code udp PORT} (bind) answer {@code LISTENING <port>};
 * {@code close} closes every socket and answers {@code CLOSED}; {@code exit} or end of input ends it.
 */
public final class ListenMain {
    private ListenMain() {
    }

    public static void main(String[] args) throws Exception {
        InetAddress loopback = InetAddress.getByName("127.0.0.1");
        List<Closeable> open = new ArrayList<>();
        System.out.println("READY " + ProcessHandle.current().pid());
        System.out.flush();
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        String line;
        while ((line = in.readLine()) != null) {
            String[] f = line.trim().split("\\s+");
            try {
                switch (f[0]) {
                    case "tcp": {
                        ServerSocket s = new ServerSocket();
                        s.setReuseAddress(true); // as servers bind: beside the registry's SO_REUSEADDR holding socket
                        s.bind(new InetSocketAddress(loopback, Integer.parseInt(f[1])), 16);
                        open.add(s);
                        System.out.println("LISTENING " + s.getLocalPort());
                        break;
                    }
                    case "udp": {
                        DatagramSocket s = new DatagramSocket(null);
                        s.bind(new InetSocketAddress(loopback, Integer.parseInt(f[1])));
                        open.add(s);
                        System.out.println("LISTENING " + s.getLocalPort());
                        break;
                    }
                    case "close":
                        for (Closeable c : open) {
                            c.close();
                        }
                        open.clear();
                        System.out.println("CLOSED");
                        break;
                    case "exit":
                        return;
                    default:
                        System.out.println("ERROR unknown command " + line);
                }
            } catch (Exception e) {
                System.out.println("ERROR " + e);
            }
            System.out.flush();
        }
    }
}
