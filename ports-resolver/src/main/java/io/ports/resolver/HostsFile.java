package io.ports.resolver;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * An {@code /etc/hosts} read once: lower-case name (canonical or alias) to its addresses in file
 * order, each address carrying that name.
 */
final class HostsFile {
    private static final Logger log = LoggerFactory.getLogger(HostsFile.class);

    static final HostsFile EMPTY = new HostsFile(Map.of());

    private final Map<String, List<InetAddress>> entries;

    private HostsFile(Map<String, List<InetAddress>> entries) {
        this.entries = entries;
    }

    static HostsFile read(Path file) {
        if (file == null) {
            return EMPTY;
        }
        try {
            return parse(Files.readAllLines(file, StandardCharsets.ISO_8859_1));
        } catch (NoSuchFileException e) {
            log.debug("no hosts file {}", file);
            return EMPTY;
        } catch (IOException e) {
            log.warn("cannot read the hosts file {} ({}): names resolve through DNS only", file, e.toString());
            return EMPTY;
        }
    }

    static HostsFile parse(List<String> lines) {
        Map<String, List<InetAddress>> map = new HashMap<>();
        for (String raw : lines) {
            int hash = raw.indexOf('#');
            String line = (hash >= 0 ? raw.substring(0, hash) : raw).strip();
            if (line.isEmpty()) {
                continue;
            }
            String[] words = line.split("\\s+");
            InetAddress literal = words.length > 1 ? Names.literal(words[0]) : null;
            if (literal == null) {
                continue;
            }
            for (int i = 1; i < words.length; i++) {
                String name = Names.hostsKey(words[i]);
                if (name.isEmpty() || Names.problem(name) != null) {
                    continue;
                }
                try {
                    InetAddress named = InetAddress.getByAddress(name, literal.getAddress());
                    List<InetAddress> list = map.computeIfAbsent(name, k -> new ArrayList<>());
                    if (!list.contains(named)) {
                        list.add(named);
                    }
                } catch (UnknownHostException impossible) {
                    throw new IllegalStateException(impossible);
                }
            }
        }
        Map<String, List<InetAddress>> frozen = new HashMap<>();
        map.forEach((k, v) -> frozen.put(k, List.copyOf(v)));
        return new HostsFile(Map.copyOf(frozen));
    }

    /** The addresses for {@code key} (see {@link Names#hostsKey}), or null. */
    List<InetAddress> get(String key) {
        return entries.get(key.toLowerCase(Locale.ROOT));
    }

    Map<String, List<InetAddress>> entries() {
        return entries;
    }
}
