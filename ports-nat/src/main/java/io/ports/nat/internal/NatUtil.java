package io.ports.nat.internal;

import io.netty.channel.ChannelFuture;
import io.netty.util.NetUtil;

import java.net.DatagramSocket;
import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketException;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;

/** Small helpers: addresses written the way people read them, Netty futures as CompletableFutures, durations in messages. */
public final class NatUtil {
    private NatUtil() {
    }

    /** {@code 10.0.0.1:80} or {@code [fd00::1]:80}. */
    public static String format(InetSocketAddress a) {
        if (a == null) {
            return "(none)";
        }
        String host = a.isUnresolved() ? a.getHostString() : NetUtil.toAddressString(a.getAddress());
        return (host.indexOf(':') >= 0 ? "[" + host + "]" : host) + ":" + a.getPort();
    }

    public static String format(InetAddress a) {
        return a == null ? "(none)" : NetUtil.toAddressString(a);
    }

    /** {@code 250 ms}, {@code 1.5 s}, {@code 39.5 s}. */
    public static String format(Duration d) {
        long ms = d.toMillis();
        if (ms < 1000) {
            return ms + " ms";
        }
        if (ms % 1000 == 0) {
            return ms / 1000 + " s";
        }
        return String.format(java.util.Locale.ROOT, "%.1f s", ms / 1000.0);
    }

    public static String formatNanos(long nanos) {
        return format(Duration.ofNanos(nanos));
    }

    /** The same host, comparing an IPv4-mapped IPv6 address with its IPv4 address as equal. */
    public static boolean sameHost(InetAddress a, InetAddress b) {
        return a != null && b != null && unmap(a).equals(unmap(b));
    }

    /** {@code ::ffff:a.b.c.d} as the IPv4 address, anything else unchanged. */
    public static InetAddress unmap(InetAddress a) {
        if (a instanceof Inet6Address) {
            byte[] b = a.getAddress();
            boolean mapped = b[10] == (byte) 0xFF && b[11] == (byte) 0xFF;
            for (int i = 0; i < 10 && mapped; i++) {
                mapped = b[i] == 0;
            }
            if (mapped) {
                try {
                    return InetAddress.getByAddress(new byte[] {b[12], b[13], b[14], b[15]});
                } catch (java.net.UnknownHostException e) {
                    throw new IllegalStateException(e);
                }
            }
        }
        return a;
    }

    public static boolean sameEndpoint(InetSocketAddress a, InetSocketAddress b) {
        return a != null && b != null && a.getPort() == b.getPort() && sameHost(a.getAddress(), b.getAddress());
    }

    /** The wildcard address of {@code a}'s family. */
    public static InetAddress wildcardFor(InetAddress a) {
        try {
            return a instanceof Inet4Address ? InetAddress.getByName("0.0.0.0") : InetAddress.getByName("::");
        } catch (java.net.UnknownHostException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * The local address the kernel would send from to reach {@code destination} (a connected UDP
     * socket's name: no packet is sent), or null when there is no route.
     */
    public static InetAddress sourceAddressFor(InetAddress destination) {
        try (DatagramSocket s = new DatagramSocket(new InetSocketAddress(wildcardFor(destination), 0))) {
            s.connect(new InetSocketAddress(destination, 9));
            InetAddress local = s.getLocalAddress();
            return local == null || local.isAnyLocalAddress() ? null : local;
        } catch (SocketException | java.io.UncheckedIOException e) {
            return null;
        }
    }

    /** A CompletableFuture completed when {@code f} is. */
    public static CompletableFuture<Void> toCompletable(ChannelFuture f) {
        CompletableFuture<Void> cf = new CompletableFuture<>();
        f.addListener(x -> {
            if (x.isSuccess()) {
                cf.complete(null);
            } else {
                cf.completeExceptionally(x.cause());
            }
        });
        return cf;
    }

    /** The cause under CompletionException/ExecutionException wrappers. */
    public static Throwable unwrap(Throwable t) {
        while ((t instanceof CompletionException || t instanceof ExecutionException) && t.getCause() != null) {
            t = t.getCause();
        }
        return t;
    }

    /** The message of {@code t}, on one line, or its class name. */
    public static String describe(Throwable t) {
        Throwable u = unwrap(t);
        String m = u.getMessage();
        return m == null || m.isBlank() ? u.getClass().getSimpleName() : m.replace('\n', ' ');
    }
}
