package io.ports.resolver;

import io.netty.util.NetUtil;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * What resolv.conf(5) says: name servers (port 53), the search list ({@code search}, or
 * {@code domain}; the last one wins), and {@code options ndots:n timeout:n attempts:n}, capped as
 * the C library caps them (15, 30 s, 5). Other options are ignored. Absent values are null/-1.
 */
record ResolvConf(List<InetSocketAddress> servers, List<String> search, int ndots, Duration timeout, int attempts) {
    private static final Logger log = LoggerFactory.getLogger(ResolvConf.class);

    static final ResolvConf EMPTY = new ResolvConf(List.of(), null, -1, null, -1);

    /** Reads {@code file}; a missing or unreadable file gives {@link #EMPTY}. */
    static ResolvConf read(Path file) {
        if (file == null) {
            return EMPTY;
        }
        try {
            return parse(Files.readAllLines(file, StandardCharsets.ISO_8859_1));
        } catch (NoSuchFileException e) {
            log.debug("no {}: using the resolver's defaults", file);
            return EMPTY;
        } catch (IOException e) {
            log.warn("cannot read {} ({}): using the resolver's defaults", file, e.toString());
            return EMPTY;
        }
    }

    static ResolvConf parse(List<String> lines) {
        List<InetSocketAddress> servers = new ArrayList<>();
        List<String> search = null;
        int ndots = -1;
        Duration timeout = null;
        int attempts = -1;
        for (String raw : lines) {
            String line = raw.strip();
            if (line.isEmpty() || line.startsWith("#") || line.startsWith(";")) {
                continue;
            }
            String[] words = line.split("\\s+");
            switch (words[0]) {
                case "nameserver":
                    if (words.length > 1) {
                        InetSocketAddress server = server(words[1]);
                        if (server != null) {
                            servers.add(server);
                        }
                    }
                    break;
                case "domain":
                    search = words.length > 1 ? List.of(words[1]) : List.of();
                    break;
                case "search":
                    search = new ArrayList<>();
                    for (int i = 1; i < words.length && !words[i].startsWith("#"); i++) {
                        search.add(words[i]);
                    }
                    break;
                case "options":
                    for (int i = 1; i < words.length; i++) {
                        String w = words[i];
                        if (w.startsWith("ndots:")) {
                            ndots = Math.min(15, number(w, ndots));
                        } else if (w.startsWith("timeout:")) {
                            int s = Math.min(30, number(w, -1));
                            if (s >= 1) {
                                timeout = Duration.ofSeconds(s);
                            }
                        } else if (w.startsWith("attempts:")) {
                            int a = Math.min(5, number(w, -1));
                            if (a >= 1) {
                                attempts = a;
                            }
                        }
                    }
                    break;
                default:
                    break;
            }
        }
        return new ResolvConf(List.copyOf(servers), search == null ? null : List.copyOf(search), ndots, timeout, attempts);
    }

    private static int number(String option, int fallback) {
        try {
            return Integer.parseInt(option.substring(option.indexOf(':') + 1));
        } catch (NumberFormatException e) {
            return fallback;
        }
    }

    private static InetSocketAddress server(String text) {
        String host = text;
        int percent = host.indexOf('%'); // a scope: keep it only for link-local addresses
        if (!NetUtil.isValidIpV4Address(host) && !NetUtil.isValidIpV6Address(percent > 0 ? host.substring(0, percent) : host)) {
            log.debug("ignoring nameserver '{}': not an IP address", text);
            return null;
        }
        try {
            return new InetSocketAddress(InetAddress.getByName(host), 53);
        } catch (UnknownHostException e) {
            log.debug("ignoring nameserver '{}': {}", text, e.toString());
            return null;
        }
    }
}
