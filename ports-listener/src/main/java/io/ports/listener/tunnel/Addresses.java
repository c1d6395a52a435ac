package io.ports.listener.tunnel;

import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelInitializer;
import io.netty.util.NetUtil;
import io.ports.core.PortsException;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ForkJoinPool;

/** Address helpers: IP literals need no lookup; host names are resolved off the event loops. */
final class Addresses {
    /** The bootstrap handler of a target connection: holds its input until the bridge installs its handlers. */
    static final ChannelHandler HOLD_INPUT = new ChannelInitializer<Channel>() {
        @Override
        protected void initChannel(Channel ch) {
            EpollHalfClose.apply(ch); // before anything is read: a target may half-close at once
            ch.pipeline().addLast("tunnel-held", new HeldInput());
        }
    };

    private Addresses() {
    }

    /** The host of a URI or target without IPv6 brackets. */
    static String bare(String host) {
        return host.startsWith("[") && host.endsWith("]") ? host.substring(1, host.length() - 1) : host;
    }

    /**
     * Resolves {@code host}: at once for an IP literal, else with the JDK resolver on the common pool
     * (it blocks, so never on an event loop). Fails with a {@link PortsException} naming the host.
     */
    static CompletableFuture<InetSocketAddress> resolve(String host, int port) {
        String h = bare(host);
        byte[] literal = NetUtil.createByteArrayFromIpAddressString(h);
        if (literal != null) {
            try {
                return CompletableFuture.completedFuture(new InetSocketAddress(InetAddress.getByAddress(h, literal), port));
            } catch (UnknownHostException e) {
                throw new AssertionError(e); // a literal of the right length
            }
        }
        return CompletableFuture.supplyAsync(() -> {
            try {
                return new InetSocketAddress(InetAddress.getByName(h), port);
            } catch (UnknownHostException e) {
                throw new PortsException("cannot resolve host '" + h + "': " + e.getMessage() + ". Check the name or use an IP address", e);
            }
        }, ForkJoinPool.commonPool());
    }
}
