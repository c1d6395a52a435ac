package io.ports.core.internal;

import io.netty.channel.epoll.Epoll;
import io.netty.channel.unix.Errors;
import io.netty.channel.unix.Socket;
import io.ports.core.Protocol;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.net.BindException;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.StandardProtocolFamily;
import java.net.StandardSocketOptions;
import java.net.UnknownHostException;
import java.nio.channels.DatagramChannel;
import java.nio.channels.NetworkChannel;
import java.nio.channels.SocketChannel;
import java.util.Locale;

/**
 * Binds sockets to check and hold ports, with as few system calls and as little allocation as the
 * platform allows: Netty's JNI socket where its native transport loads (Linux), JDK NIO elsewhere.
 * Internal to ports.
 *
 * <p>A TCP check binds, never listens: a socket bound with {@code SO_REUSEADDR} and not listening
 * fails to bind when anyone listens on the port (or holds it without {@code SO_REUSEADDR}), keeps
 * {@code bind(0)} and outgoing connections from picking the port while it is open, and still lets the
 * intended server bind it (servers set {@code SO_REUSEADDR}; Java's always do).
 */
public abstract class SocketBinder {
    private static final Logger log = LoggerFactory.getLogger(SocketBinder.class);

    /** Outcome of one bind. */
    public enum Status { OK, IN_USE, PERMISSION_DENIED, ADDRESS_NOT_AVAILABLE, FAMILY_UNSUPPORTED, ERROR }

    /** A bound socket kept open; closing it frees the port. */
    public interface Held extends AutoCloseable {
        /** The file descriptor, or -1 where the platform does not expose it. */
        int fd();

        @Override
        void close();
    }

    /** The result of {@link #bind}: a status, the held socket when asked to keep it, and the OS's words on failure. */
    public record Result(Status status, Held held, String detail) {
        static final Result OK_CLOSED = new Result(Status.OK, null, "");
    }

    private static final InetAddress ANY4;
    private static final InetAddress ANY6;

    static {
        try {
            ANY4 = InetAddress.getByAddress(new byte[4]);
            ANY6 = InetAddress.getByAddress(new byte[16]);
        } catch (UnknownHostException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private static final SocketBinder SYSTEM = create();

    /** The best binder for this platform, created once. */
    public static SocketBinder system() {
        return SYSTEM;
    }

    private static SocketBinder create() {
        boolean v6 = detectIpv6();
        try {
            if (Epoll.isAvailable()) {
                return new NativeBinder(v6);
            }
            log.debug("Netty native transport unavailable ({}); binding with JDK NIO", Epoll.unavailabilityCause().toString());
        } catch (Throwable t) { // NoClassDefFoundError / UnsatisfiedLinkError on exotic platforms
            log.debug("Netty native transport unavailable; binding with JDK NIO", t);
        }
        return new NioBinder(v6);
    }

    private static boolean detectIpv6() {
        if (Boolean.getBoolean("java.net.preferIPv4Stack")) {
            return false;
        }
        try (SocketChannel ch = SocketChannel.open(StandardProtocolFamily.INET6)) {
            ch.bind(new InetSocketAddress(ANY6, 0)); // fails where IPv6 is compiled in but disabled
            return true;
        } catch (IOException | UnsupportedOperationException e) {
            log.info("IPv6 is not available on this host ({}): ports are checked on IPv4 only", e.toString());
            return false;
        }
    }

    private final boolean ipv6;

    SocketBinder(boolean ipv6) {
        this.ipv6 = ipv6;
    }

    /** Whether this host can bind IPv6 sockets; when it can, wildcard binds are dual-stack. */
    public boolean ipv6Available() {
        return ipv6;
    }

    /** The wildcard that covers every family this host has: {@code [::]} dual-stack, else {@code 0.0.0.0}. */
    public InetAddress wildcard() {
        return ipv6 ? ANY6 : ANY4;
    }

    /** A short name of the implementation, for logs and benchmarks. */
    public abstract String implementation();

    /**
     * Binds a socket of {@code protocol} to {@code address:port}. An IPv6 wildcard address gives a
     * dual-stack socket, whose bind fails when either family's port is taken.
     *
     * @param reuseAddress set {@code SO_REUSEADDR} before binding
     * @param reusePort    set {@code SO_REUSEPORT} before binding
     * @param keep         keep the socket open and return it in {@link Result#held()}; else close it at once
     */
    public abstract Result bind(Protocol protocol, InetAddress address, int port, boolean reuseAddress, boolean reusePort, boolean keep);

    /** {@link #bind(Protocol, InetAddress, int, boolean, boolean, boolean)} without {@code SO_REUSEPORT}. */
    public Result bind(Protocol protocol, InetAddress address, int port, boolean reuseAddress, boolean keep) {
        return bind(protocol, address, port, reuseAddress, false, keep);
    }

    public static Status statusOfErrno(int errno) {
        switch (Math.abs(errno)) {
            case 98: return Status.IN_USE;                 // EADDRINUSE
            case 13: case 1: return Status.PERMISSION_DENIED; // EACCES, EPERM
            case 99: return Status.ADDRESS_NOT_AVAILABLE;  // EADDRNOTAVAIL
            case 97: return Status.FAMILY_UNSUPPORTED;     // EAFNOSUPPORT
            default: return Status.ERROR;
        }
    }

    public static Status statusOfMessage(IOException e) {
        String m = String.valueOf(e.getMessage()).toLowerCase(Locale.ROOT);
        if (m.contains("in use")) {
            return Status.IN_USE;
        }
        if (m.contains("permission denied") || m.contains("not permitted")) {
            return Status.PERMISSION_DENIED;
        }
        if (m.contains("cannot assign requested address") || m.contains("not available")) {
            return Status.ADDRESS_NOT_AVAILABLE;
        }
        if (m.contains("not supported")) {
            return Status.FAMILY_UNSUPPORTED;
        }
        return e instanceof BindException ? Status.IN_USE : Status.ERROR;
    }

    /**
     * Linux, Netty JNI: no cleaner, no lock, no NIO bookkeeping. Per socket the kernel sees socket(),
     * Netty's own setsockopt(IPV6_V6ONLY, 0) on IPv6 sockets (so wildcard binds are dual-stack whatever
     * net.ipv6.bindv6only says) and getsockname() from the {@code Socket(int)} constructor, then our
     * setsockopt() calls and bind(): 5-6 calls, against 10 for {@code new ServerSocket(0)} + close.
     */
    static final class NativeBinder extends SocketBinder {
        NativeBinder(boolean ipv6) {
            super(ipv6);
        }

        @Override
        public String implementation() {
            return "netty-native";
        }

        @Override
        public Result bind(Protocol protocol, InetAddress address, int port, boolean reuseAddress, boolean reusePort, boolean keep) {
            boolean v6 = address instanceof Inet6Address;
            Socket s;
            try {
                s = new Socket(protocol == Protocol.TCP ? Raw.stream(v6) : Raw.dgram(v6));
            } catch (RuntimeException e) { // socket() failed: Netty throws ChannelException
                return new Result(v6 ? Status.FAMILY_UNSUPPORTED : Status.ERROR, null, e.getMessage());
            }
            try {
                if (reuseAddress) {
                    s.setReuseAddress(true);
                }
                if (reusePort) {
                    s.setReusePort(true);
                }
                s.bind(new InetSocketAddress(address, port));
            } catch (Errors.NativeIoException e) {
                closeQuietly(s);
                return new Result(statusOfErrno(e.expectedErr()), null, e.getMessage());
            } catch (IOException e) {
                closeQuietly(s);
                return new Result(statusOfMessage(e), null, e.getMessage());
            }
            if (!keep) {
                closeQuietly(s);
                return Result.OK_CLOSED;
            }
            return new Result(Status.OK, new NativeHeld(s), "");
        }

        private static void closeQuietly(Socket s) {
            try {
                s.close();
            } catch (IOException ignored) {
                // nothing to do: the descriptor is gone either way
            }
        }

        /** Reaches Netty's protected socket factories. */
        private static final class Raw extends Socket {
            private Raw() {
                super(-1);
            }

            static int stream(boolean v6) {
                return newSocketStream0(v6);
            }

            static int dgram(boolean v6) {
                return newSocketDgram0(v6);
            }
        }

        private static final class NativeHeld implements Held {
            private final Socket socket;

            NativeHeld(Socket socket) {
                this.socket = socket;
            }

            @Override
            public int fd() {
                return socket.intValue();
            }

            @Override
            public void close() {
                closeQuietly(socket);
            }
        }
    }

    /** Any platform: JDK NIO channels (bound, never listening). */
    static final class NioBinder extends SocketBinder {
        NioBinder(boolean ipv6) {
            super(ipv6);
        }

        @Override
        public String implementation() {
            return "jdk-nio";
        }

        @Override
        public Result bind(Protocol protocol, InetAddress address, int port, boolean reuseAddress, boolean reusePort, boolean keep) {
            StandardProtocolFamily family = address instanceof Inet6Address ? StandardProtocolFamily.INET6 : StandardProtocolFamily.INET;
            NetworkChannel ch;
            try {
                ch = protocol == Protocol.TCP ? SocketChannel.open(family) : DatagramChannel.open(family);
            } catch (UnsupportedOperationException e) {
                return new Result(Status.FAMILY_UNSUPPORTED, null, e.getMessage());
            } catch (IOException e) {
                return new Result(statusOfMessage(e), null, e.getMessage());
            }
            try {
                ch.setOption(StandardSocketOptions.SO_REUSEADDR, reuseAddress);
                if (reusePort) {
                    ch.setOption(StandardSocketOptions.SO_REUSEPORT, true);
                }
                ch.bind(new InetSocketAddress(address, port));
            } catch (IOException e) {
                closeQuietly(ch);
                return new Result(statusOfMessage(e), null, e.getMessage());
            }
            if (!keep) {
                closeQuietly(ch);
                return Result.OK_CLOSED;
            }
            NetworkChannel held = ch;
            return new Result(Status.OK, new Held() {
                @Override
                public int fd() {
                    return -1;
                }

                @Override
                public void close() {
                    closeQuietly(held);
                }
            }, "");
        }

        private static void closeQuietly(NetworkChannel ch) {
            try {
                ch.close();
            } catch (IOException ignored) {
                // gone either way
            }
        }
    }
}
