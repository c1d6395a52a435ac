package io.ports.resolver;

import io.netty.util.NetUtil;
import org.xbill.DNS.Name;
import org.xbill.DNS.NameTooLongException;
import org.xbill.DNS.TextParseException;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.stream.Collectors;

/** Name checks, literal addresses and the search-list expansion. */
final class Names {
    private Names() {
    }

    /**
     * Returns null when {@code host} is a usable DNS name (optionally absolute), else why not.
     * Letters, digits, '-' and '_' only: '_' for SRV labels, and nothing that would need escaping.
     */
    static String problem(String host) {
        if (host.isEmpty()) {
            return "the name is empty";
        }
        int end = host.endsWith(".") ? host.length() - 1 : host.length();
        if (end == 0) {
            return "the root '.' is not a host";
        }
        if (end > 253) {
            return "the name is " + end + " characters long (at most 253)";
        }
        int labelStart = 0;
        for (int i = 0; i <= end; i++) {
            char c = i < end ? host.charAt(i) : '.';
            if (c == '.') {
                int len = i - labelStart;
                if (len == 0) {
                    return "empty label at index " + i + " (two dots in a row, or a leading dot)";
                }
                if (len > 63) {
                    return "label '" + host.substring(labelStart, i) + "' is " + len + " characters long (at most 63)";
                }
                labelStart = i + 1;
            } else if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_')) {
                String shown = c < 0x20 || c == 0x7f ? String.format("\\u%04x", (int) c) : String.valueOf(c);
                return "character '" + shown + "' at index " + i + " is not allowed (letters, digits, '-' and '_' only"
                        + (c > 0x7f ? "; convert international names with java.net.IDN.toASCII first" : "") + ")";
            }
        }
        return null;
    }

    /** The literal IP address {@code host} (IPv6 optionally in brackets), or null when it is not one. */
    static InetAddress literal(String host) {
        String h = host;
        if (h.length() > 2 && h.charAt(0) == '[' && h.charAt(h.length() - 1) == ']') {
            h = h.substring(1, h.length() - 1);
        }
        if (!NetUtil.isValidIpV4Address(h) && !NetUtil.isValidIpV6Address(h)) {
            return null;
        }
        try {
            return InetAddress.getByName(h); // a literal: never a lookup
        } catch (UnknownHostException e) {
            return null;
        }
    }

    /** {@code host} in lower case without a trailing dot: the hosts-file key. */
    static String hostsKey(String host) {
        String h = host.endsWith(".") ? host.substring(0, host.length() - 1) : host;
        return h.toLowerCase(Locale.ROOT);
    }

    /** {@code host} without a trailing dot, as the addresses returned carry it. */
    static String display(String host) {
        return host.endsWith(".") ? host.substring(0, host.length() - 1) : host;
    }

    static Name absolute(String name) {
        try {
            return Name.fromString(name.endsWith(".") ? name : name + ".");
        } catch (TextParseException e) {
            throw new IllegalArgumentException("not a DNS name: " + name, e);
        }
    }

    /**
     * The names to query for {@code host}, in order, as resolv.conf(5) defines it: an absolute name
     * (trailing dot) is queried alone; a name with at least {@code ndots} dots is tried as is first,
     * then with each search domain; a shorter one with the search domains first, then as is.
     * Candidates longer than 255 octets are skipped.
     */
    static List<Name> candidates(String host, List<Name> search, int ndots) {
        if (host.endsWith(".") || search.isEmpty()) {
            return List.of(absolute(host));
        }
        Name relative;
        try {
            relative = Name.fromString(host);
        } catch (TextParseException e) {
            throw new IllegalArgumentException("not a DNS name: " + host, e);
        }
        int dots = 0;
        for (int i = 0; i < host.length(); i++) {
            if (host.charAt(i) == '.') {
                dots++;
            }
        }
        List<Name> out = new ArrayList<>(search.size() + 1);
        Name asIs = absolute(host);
        if (dots >= ndots) {
            out.add(asIs);
        }
        for (Name domain : search) {
            try {
                Name n = Name.concatenate(relative, domain);
                if (!out.contains(n)) {
                    out.add(n);
                }
            } catch (NameTooLongException ignored) {
                // this suffix makes it too long: skip it, like the C library does
            }
        }
        if (dots < ndots && !out.contains(asIs)) {
            out.add(asIs);
        }
        return out;
    }

    static String format(InetSocketAddress address) {
        return NetUtil.toSocketAddressString(address);
    }

    static String format(List<InetSocketAddress> addresses) {
        return addresses.stream().map(Names::format).collect(Collectors.joining(", "));
    }
}
