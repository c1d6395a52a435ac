package io.ports.nat;

import java.io.IOException;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/**
 * The IPv4 default gateway from Linux's {@code /proc/net/route}: among routes with destination and
 * mask 0.0.0.0 and flags RTF_UP|RTF_GATEWAY, the one with the lowest metric. Addresses in that file are
 * hexadecimal in host (little-endian) byte order: {@code 0101A8C0} is 192.168.1.1.
 */
final class RouteTable {
    static final Path PROC_NET_ROUTE = Path.of("/proc/net/route");
    private static final int RTF_UP = 0x1;
    private static final int RTF_GATEWAY = 0x2;

    /** A default route. */
    record DefaultRoute(String interfaceName, InetAddress gateway, int metric) {
    }

    private RouteTable() {
    }

    static Optional<DefaultRoute> defaultRoute(Path file) throws IOException {
        return parse(Files.readString(file));
    }

    static Optional<DefaultRoute> parse(String text) {
        DefaultRoute best = null;
        for (String line : text.split("\n")) {
            String[] f = line.trim().split("\\s+");
            if (f.length < 8 || f[0].equals("Iface")) {
                continue;
            }
            try {
                long dest = Long.parseLong(f[1], 16);
                long gw = Long.parseLong(f[2], 16);
                int flags = Integer.parseInt(f[3], 16);
                int metric = Integer.parseInt(f[6]);
                long mask = Long.parseLong(f[7], 16);
                if (dest != 0 || mask != 0 || gw == 0 || (flags & (RTF_UP | RTF_GATEWAY)) != (RTF_UP | RTF_GATEWAY)) {
                    continue;
                }
                InetAddress a = InetAddress.getByAddress(new byte[] {
                        (byte) gw, (byte) (gw >>> 8), (byte) (gw >>> 16), (byte) (gw >>> 24)});
                if (best == null || metric < best.metric()) {
                    best = new DefaultRoute(f[0], a, metric);
                }
            } catch (NumberFormatException | UnknownHostException e) {
                // a line we do not understand: not a default route
            }
        }
        return Optional.ofNullable(best);
    }
}
