package io.ports.listener;

import io.netty.util.NetUtil;
import io.ports.core.Ports;

import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.file.Path;
import java.util.Objects;

/**
 * An address to listen on, as users write them:
 * <ul>
 *   <li>{@code 0.0.0.0:5432}: every IPv4 address;</li>
 *   <li>{@code [::]:5432} or {@code *:5432} or {@code :5432}: every IPv4 and IPv6 address, one dual-stack socket
 *       (IPv6 only when {@link ListenerOptions#ipv6Only()} is set);</li>
 *   <li>{@code 127.0.0.1:0}, {@code [::1]:8080}, {@code localhost:8080} (= {@code 127.0.0.1}): one address, port 0 = any;</li>
 *   <li>{@code unix:/run/db/db.sock}: a Unix-domain socket.</li>
 * </ul>
 * Host names other than {@code localhost} are not resolved: a listener binds addresses, and resolving
 * at start-up would hide which one.
 *
 * @param text the address as written
 * @param host the IP to bind, or null for a Unix-domain socket
 * @param port the port (0 = any), or -1 for a Unix-domain socket
 * @param path the socket file, or null
 */
public record ListenAddress(String text, InetAddress host, int port, Path path) {
    private static final int UNIX_PATH_MAX = 107;

    public ListenAddress {
        Objects.requireNonNull(text, "text");
    }

    public boolean isUnix() {
        return path != null;
    }

    /** Whether this binds every address of a family ({@code 0.0.0.0} or {@code [::]}). */
    public boolean isWildcard() {
        return host != null && host.isAnyLocalAddress();
    }

    /**
     * @throws IllegalArgumentException naming the input and the valid forms
     */
    public static ListenAddress parse(String text) {
        if (text == null || text.isBlank()) {
            throw invalid(text, "it is empty");
        }
        String s = text.strip();
        if (s.startsWith("unix:")) {
            String p = s.substring(5);
            if (p.isEmpty()) {
                throw invalid(text, "the socket path is missing");
            }
            if (p.getBytes(java.nio.charset.StandardCharsets.UTF_8).length > UNIX_PATH_MAX) {
                throw invalid(text, "a Unix socket path may have at most " + UNIX_PATH_MAX + " bytes");
            }
            return new ListenAddress(s, null, -1, Path.of(p).toAbsolutePath().normalize());
        }
        int colon = s.lastIndexOf(':');
        if (colon < 0) {
            throw invalid(text, "the port is missing");
        }
        String hostPart = s.substring(0, colon);
        String portPart = s.substring(colon + 1);
        int port;
        try {
            port = Integer.parseInt(portPart);
        } catch (NumberFormatException e) {
            throw invalid(text, "'" + portPart + "' is not a port");
        }
        if (port != 0) {
            try {
                Ports.check(port, "port");
            } catch (IllegalArgumentException e) {
                throw invalid(text, "port " + port + " is outside 0-65535");
            }
        }
        InetAddress host;
        if (hostPart.isEmpty() || hostPart.equals("*")) {
            host = any6();
        } else if (hostPart.startsWith("[") && hostPart.endsWith("]")) {
            byte[] b = NetUtil.createByteArrayFromIpAddressString(hostPart.substring(1, hostPart.length() - 1));
            if (b == null || b.length != 16) {
                throw invalid(text, "'" + hostPart + "' is not an IPv6 address");
            }
            host = byAddress(b);
        } else if (hostPart.equalsIgnoreCase("localhost")) {
            host = byAddress(new byte[] {127, 0, 0, 1});
        } else if (hostPart.contains(":")) {
            throw invalid(text, "an IPv6 address must be written in brackets, as [::1]:" + portPart);
        } else {
            byte[] b = NetUtil.createByteArrayFromIpAddressString(hostPart);
            if (b == null || b.length != 4) {
                throw invalid(text, "'" + hostPart + "' is not an IP address (host names other than localhost are not resolved)");
            }
            host = byAddress(b);
        }
        return new ListenAddress(s, host, port, null);
    }

    private static InetAddress any6() {
        return byAddress(new byte[16]);
    }

    private static InetAddress byAddress(byte[] b) {
        try {
            return InetAddress.getByAddress(b);
        } catch (UnknownHostException e) {
            throw new AssertionError(e);
        }
    }

    private static IllegalArgumentException invalid(String text, String why) {
        return new IllegalArgumentException("invalid listen address '" + text + "': " + why
                + ". Expected HOST:PORT with an IPv4 address (0.0.0.0:5432), [IPv6]:PORT ([::]:5432), *:PORT, localhost:PORT, or unix:/path/to.sock");
    }

    /** The host part for messages: {@code 0.0.0.0}, {@code [::]}, or the socket path. */
    public String hostString() {
        if (isUnix()) {
            return "unix:" + path;
        }
        String h = NetUtil.toAddressString(host);
        return host instanceof Inet6Address ? "[" + h + "]" : h;
    }

    @Override
    public String toString() {
        return text;
    }
}
