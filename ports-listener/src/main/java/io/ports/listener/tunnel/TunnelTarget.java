package io.ports.listener.tunnel;

import io.netty.util.NetUtil;
import io.ports.core.Ports;

import java.util.Locale;
import java.util.Objects;

/**
 * A TCP endpoint a tunnel server may bridge to: {@code 127.0.0.1:5432}, {@code [::1]:5432} or
 * {@code db.internal:5432}. Host names are compared case-insensitively and are not resolved here.
 *
 * @param host an IPv4 or IPv6 literal (without brackets) or a host name
 * @param port 1-65535
 */
public record TunnelTarget(String host, int port) {

    public TunnelTarget {
        Objects.requireNonNull(host, "host");
        if (host.isBlank() || host.chars().anyMatch(c -> c <= ' ' || c == '/' || c == '?' || c == '#' || c == '@')) {
            throw new IllegalArgumentException("tunnel target host '" + host + "' is not a host name or IP address");
        }
        if (host.startsWith("[") && host.endsWith("]")) {
            host = host.substring(1, host.length() - 1);
        }
        host = host.toLowerCase(Locale.ROOT);
        Ports.check(port, "tunnel target port");
    }

    /**
     * Parses {@code host:port} or {@code [ipv6]:port}.
     *
     * @throws IllegalArgumentException naming the text and the expected form
     */
    public static TunnelTarget parse(String text) {
        if (text == null || text.isBlank()) {
            throw invalid(text, "it is empty");
        }
        String s = text.strip();
        int colon = s.lastIndexOf(':');
        if (colon <= 0 || colon == s.length() - 1) {
            throw invalid(text, "the port is missing");
        }
        String host = s.substring(0, colon);
        if (host.contains(":") && !(host.startsWith("[") && host.endsWith("]"))) {
            throw invalid(text, "an IPv6 address must be written in brackets, as [::1]:5432");
        }
        int port;
        try {
            port = Integer.parseInt(s.substring(colon + 1));
        } catch (NumberFormatException e) {
            throw invalid(text, "'" + s.substring(colon + 1) + "' is not a port");
        }
        try {
            return new TunnelTarget(host, port);
        } catch (IllegalArgumentException e) {
            throw invalid(text, e.getMessage());
        }
    }

    private static IllegalArgumentException invalid(String text, String why) {
        return new IllegalArgumentException("invalid tunnel target '" + text + "': " + why + ". Expected HOST:PORT, for example 127.0.0.1:5432 or [::1]:5432");
    }

    /** Whether the host is an IP literal (no name resolution needed). */
    public boolean isIpLiteral() {
        return NetUtil.isValidIpV4Address(host) || NetUtil.isValidIpV6Address(host);
    }

    /** {@code host:port}, with brackets around an IPv6 address: the form {@link #parse} reads. */
    @Override
    public String toString() {
        return (host.indexOf(':') >= 0 ? "[" + host + "]" : host) + ":" + port;
    }
}
