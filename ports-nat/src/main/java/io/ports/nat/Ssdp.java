package io.ports.nat;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOption;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.socket.DatagramPacket;
import io.ports.core.EventLoops;
import io.ports.nat.internal.NatUtil;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.NetworkInterface;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * SSDP discovery of an Internet Gateway Device, bounded in time (what weupnp's {@code GatewayDiscover}
 * does with one M-SEARCH per search type, one type after the other, IPv4 multicast on every
 * interface, and swallowed errors). Here: every search type at once, sent three times within the
 * budget (at 0, 1/4 and 1/2 of it), unicast to the gateway's port 1900 and, when enabled, multicast to
 * 239.255.255.250 only out of the chosen interfaces. The first answer from the gateway's address
 * wins; an answer from another address is used only if the gateway stays silent until the budget
 * ends (routers that answer from another address exist).
 */
final class Ssdp {
    private static final Logger log = LoggerFactory.getLogger(Ssdp.class);
    static final InetSocketAddress MULTICAST = new InetSocketAddress(ipv4("239.255.255.250"), 1900);
    static final List<String> SEARCH_TARGETS = List.of(
            "urn:schemas-upnp-org:device:InternetGatewayDevice:2",
            "urn:schemas-upnp-org:device:InternetGatewayDevice:1",
            "urn:schemas-upnp-org:service:WANIPConnection:2",
            "urn:schemas-upnp-org:service:WANIPConnection:1",
            "urn:schemas-upnp-org:service:WANPPPConnection:1");

    /** One answer: where the device description is, and who answered. */
    record Answer(String location, String searchTarget, InetSocketAddress from) {
    }

    private Ssdp() {
    }

    private static InetAddress ipv4(String s) {
        try {
            return InetAddress.getByName(s);
        } catch (java.net.UnknownHostException e) {
            throw new IllegalStateException(e);
        }
    }

    static byte[] search(String target, InetSocketAddress host) {
        return ("M-SEARCH * HTTP/1.1\r\nHOST: " + NatUtil.format(host) + "\r\nMAN: \"ssdp:discover\"\r\nMX: 1\r\nST: " + target
                + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII);
    }

    /**
     * Searches for {@code budget}. {@code unicastTo} is the gateway's SSDP address; {@code interfaces}
     * are where multicast may go (empty: unicast only).
     */
    static CompletableFuture<Answer> discover(EventLoops loops, InetSocketAddress unicastTo, InetAddress source,
                                              List<NetworkInterface> interfaces, Duration budget) {
        CompletableFuture<Answer> result = new CompletableFuture<>();
        List<Answer> others = Collections.synchronizedList(new ArrayList<>());
        List<Channel> channels = Collections.synchronizedList(new ArrayList<>());
        long started = System.nanoTime();
        SimpleChannelInboundHandler<DatagramPacket> handler = new SimpleChannelInboundHandler<DatagramPacket>() {
            @Override
            protected void channelRead0(ChannelHandlerContext ctx, DatagramPacket p) {
                Answer a = parse(p.content().toString(StandardCharsets.US_ASCII), p.sender());
                if (a == null) {
                    return;
                }
                if (NatUtil.sameHost(p.sender().getAddress(), unicastTo.getAddress())) {
                    result.complete(a);
                } else {
                    log.debug("SSDP answer from {} (not the gateway {}): {}", p.sender(), unicastTo, a.location());
                    others.add(a);
                }
            }

            @Override
            public boolean isSharable() {
                return true;
            }
        };
        // one socket for unicast (bound where the route to the gateway leaves), one per multicast interface
        List<CompletableFuture<Void>> opened = new ArrayList<>();
        opened.add(open(loops, handler, source, null, channels, true, unicastTo));
        for (NetworkInterface nif : interfaces) {
            InetAddress a = nif.inetAddresses().filter(x -> x instanceof Inet4Address).findFirst().orElse(null);
            if (a == null) {
                log.debug("SSDP: interface {} has no IPv4 address, no multicast there", nif.getName());
                continue;
            }
            opened.add(open(loops, handler, a, nif, channels, false, unicastTo));
        }
        long budgetNanos = budget.toNanos();
        for (long at : new long[] {0, budgetNanos / 4, budgetNanos / 2}) {
            loops.next().schedule(() -> {
                if (!result.isDone()) {
                    for (Channel ch : List.copyOf(channels)) {
                        sendAll(ch);
                    }
                }
            }, at, TimeUnit.NANOSECONDS);
        }
        loops.next().schedule(() -> {
            if (!others.isEmpty()) {
                result.complete(others.get(0));
            } else {
                result.completeExceptionally(new GatewayUdp.NoAnswer("UPnP: no SSDP answer from " + NatUtil.format(unicastTo)
                        + (interfaces.isEmpty() ? "" : " or by multicast on " + names(interfaces)) + " within "
                        + NatUtil.format(Duration.ofNanos(System.nanoTime() - started)) + " (3 rounds of M-SEARCH for IGD v1 and v2)",
                        3, Duration.ofNanos(System.nanoTime() - started), false));
            }
        }, budgetNanos, TimeUnit.NANOSECONDS);
        result.whenComplete((a, t) -> {
            for (Channel ch : List.copyOf(channels)) {
                ch.close();
            }
        });
        CompletableFuture.allOf(opened.toArray(CompletableFuture[]::new)).whenComplete((v, t) -> {
            if (t != null) {
                log.debug("SSDP: a socket failed to open: {}", t.toString());
            }
        });
        return result;
    }

    private static String names(List<NetworkInterface> nifs) {
        List<String> n = new ArrayList<>();
        nifs.forEach(i -> n.add(i.getName()));
        return String.join(", ", n);
    }

    private static CompletableFuture<Void> open(EventLoops loops, SimpleChannelInboundHandler<DatagramPacket> handler, InetAddress bindTo,
                                                NetworkInterface multicastIf, List<Channel> channels, boolean unicast,
                                                InetSocketAddress unicastTo) {
        Bootstrap b = new Bootstrap().group(loops.next()).channel(loops.datagramChannelClass()).handler(handler);
        if (multicastIf != null) {
            b.option(ChannelOption.IP_MULTICAST_TTL, 2);
        }
        ChannelFuture f = b.bind(new InetSocketAddress(bindTo != null ? bindTo : NatUtil.wildcardFor(unicastTo.getAddress()), 0));
        return NatUtil.toCompletable(f).thenRun(() -> {
            Channel ch = f.channel();
            if (multicastIf != null) {
                try {
                    ch.config().setOption(ChannelOption.IP_MULTICAST_IF, multicastIf);
                } catch (RuntimeException e) {
                    // bound to the interface's address, Linux routes multicast out of that interface anyway
                    log.debug("SSDP: IP_MULTICAST_IF {} not settable ({}); relying on the bound source address", multicastIf.getName(), e.toString());
                }
            }
            ch.attr(TARGET).set(unicast ? unicastTo : MULTICAST);
            channels.add(ch);
            sendAll(ch);
        });
    }

    private static final io.netty.util.AttributeKey<InetSocketAddress> TARGET = io.netty.util.AttributeKey.valueOf("ssdp-target");

    private static void sendAll(Channel ch) {
        InetSocketAddress to = ch.attr(TARGET).get();
        if (to == null || !ch.isActive()) {
            return;
        }
        for (String st : SEARCH_TARGETS) {
            ch.write(new DatagramPacket(Unpooled.wrappedBuffer(search(st, MULTICAST)), to));
        }
        ch.flush();
    }

    /** An M-SEARCH answer's LOCATION and ST, or null when it is not a 200 answer with a LOCATION. */
    static Answer parse(String text, InetSocketAddress from) {
        String[] lines = text.split("\r?\n");
        if (lines.length == 0 || !lines[0].toUpperCase(Locale.ROOT).startsWith("HTTP/1.") || !lines[0].contains(" 200")) {
            return null;
        }
        String location = null;
        String st = null;
        for (String l : lines) {
            int colon = l.indexOf(':');
            if (colon <= 0) {
                continue;
            }
            String key = l.substring(0, colon).trim().toUpperCase(Locale.ROOT);
            String value = l.substring(colon + 1).trim();
            if (key.equals("LOCATION")) {
                location = value;
            } else if (key.equals("ST")) {
                st = value;
            }
        }
        if (location == null || !(location.startsWith("http://") || location.startsWith("https://"))) {
            return null;
        }
        return new Answer(location, st, from);
    }
}
