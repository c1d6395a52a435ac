package io.ports.manager;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.QueryStringDecoder;
import io.netty.util.NetUtil;
import io.ports.core.Ports;
import io.ports.listener.Listener;
import io.ports.listener.ListenerManager;
import io.ports.listener.ListenerOptions;
import io.ports.nat.FirewallProber;

import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * The outside half of a node's reachability check: a small HTTP service, run on a host outside the
 * node's NAT and firewall (another node, a seed or registry host), that connects back to the ports a
 * node asks about and says what it found. A node cannot see its own ports from outside (most gateways
 * do not even hairpin), so this is how {@link PortManager} learns whether a mapped port is really open,
 * and falls back to the firewall-friendly tunnel when it is not.
 *
 * <p>{@code GET /v1/reachability?ports=5432,8443} answers
 * {@code {"observed":"203.0.113.7","results":[{"port":5432,"reachability":"FILTERED","millis":3001,"detail":"..."},...]}}:
 * each port probed with a TCP connect ({@link FirewallProber}: OPEN, REFUSED, FILTERED, UNREACHABLE) at
 * the address the request came from, never at an address the caller names. That is the address the
 * outside sees (behind a NAT, the gateway's public one), and it keeps the service from being used to
 * probe anyone else. At most 16 ports per request.
 *
 * <pre>{@code
 * try (DialBackServer server = DialBackServer.start(listeners, "0.0.0.0:7070", Duration.ofSeconds(3))) { ... }
 * // nodes: reachability.check=http://seed.example:7070
 * }</pre>
 */
public final class DialBackServer implements AutoCloseable {
    /** The request path. */
    public static final String PATH = "/v1/reachability";
    static final int MAX_PORTS = 16;
    private static final ObjectMapper JSON = new ObjectMapper();

    private final FirewallProber prober;
    private final Listener listener;

    private DialBackServer(ListenerManager listeners, String address, Duration probeTimeout) {
        this.prober = FirewallProber.builder(listeners.loops()).timeout(probeTimeout).cacheFor(Duration.ZERO).build();
        this.listener = listeners.start(address, ListenerOptions.defaults(), new ChannelInitializer<Channel>() {
            @Override
            protected void initChannel(Channel ch) {
                ch.pipeline().addLast(new HttpServerCodec(4096, 8192, 8192), new HttpObjectAggregator(4096), new Handler());
            }
        });
    }

    /**
     * Starts the service on {@code address} ({@code 0.0.0.0:7070}, {@code [::]:0}, ...); each port is
     * probed within {@code probeTimeout} (silence that long counts as FILTERED).
     */
    public static DialBackServer start(ListenerManager listeners, String address, Duration probeTimeout) {
        Objects.requireNonNull(listeners, "listeners");
        return new DialBackServer(listeners, address, Objects.requireNonNull(probeTimeout, "probe timeout"));
    }

    public int port() {
        return listener.port();
    }

    public Listener listener() {
        return listener;
    }

    @Override
    public void close() {
        listener.close();
    }

    @Override
    public String toString() {
        return "DialBackServer[" + listener.address() + "]";
    }

    /** The ports of a request, or an error naming what is wrong. */
    static List<Integer> parsePorts(List<String> values) {
        List<Integer> ports = new ArrayList<>();
        if (values == null || values.isEmpty()) {
            throw new IllegalArgumentException("missing query parameter 'ports': expected for example ?ports=5432,8443");
        }
        for (String v : values) {
            for (String p : v.split(",")) {
                if (!p.isBlank()) {
                    ports.add(Ports.parse(p.strip(), "port"));
                }
            }
        }
        if (ports.isEmpty() || ports.size() > MAX_PORTS) {
            throw new IllegalArgumentException("'ports' names " + ports.size() + " ports: expected 1 to " + MAX_PORTS);
        }
        return ports;
    }

    static String hostPort(InetAddress a, int port) {
        String ip = NetUtil.toAddressString(a);
        return a instanceof Inet6Address ? "[" + ip + "]:" + port : ip + ":" + port;
    }

    private final class Handler extends SimpleChannelInboundHandler<FullHttpRequest> {
        @Override
        protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest req) {
            QueryStringDecoder q = new QueryStringDecoder(req.uri());
            if (!q.path().equals(PATH)) {
                reply(ctx, HttpResponseStatus.NOT_FOUND, error("no such path " + q.path() + ": use GET " + PATH + "?ports=5432,8443"));
                return;
            }
            if (!req.method().equals(HttpMethod.GET)) {
                reply(ctx, HttpResponseStatus.METHOD_NOT_ALLOWED, error("use GET " + PATH + "?ports=..."));
                return;
            }
            List<Integer> ports;
            try {
                ports = parsePorts(q.parameters().get("ports"));
            } catch (IllegalArgumentException e) {
                reply(ctx, HttpResponseStatus.BAD_REQUEST, error(e.getMessage()));
                return;
            }
            InetAddress observed = unmap(((InetSocketAddress) ctx.channel().remoteAddress()).getAddress());
            List<String> endpoints = ports.stream().map(p -> hostPort(observed, p)).toList();
            prober.probe(endpoints).whenComplete((report, t) -> {
                if (t != null) {
                    reply(ctx, HttpResponseStatus.INTERNAL_SERVER_ERROR, error("probing failed: " + t));
                    return;
                }
                ObjectNode body = JSON.createObjectNode();
                body.put("observed", NetUtil.toAddressString(observed));
                ArrayNode results = body.putArray("results");
                for (int i = 0; i < ports.size(); i++) {
                    FirewallProber.Result r = report.results().get(i);
                    results.addObject().put("port", ports.get(i)).put("reachability", r.reachability().name())
                            .put("millis", r.elapsed().toMillis()).put("detail", r.detail());
                }
                reply(ctx, HttpResponseStatus.OK, body);
            });
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            ctx.close();
        }
    }

    private static InetAddress unmap(InetAddress a) {
        byte[] b = a.getAddress();
        if (b.length == 16) {
            boolean mapped = b[10] == (byte) 0xFF && b[11] == (byte) 0xFF;
            for (int i = 0; i < 10 && mapped; i++) {
                mapped = b[i] == 0;
            }
            if (mapped) {
                return NetUtil.createInetAddressFromIpAddressString(a.getHostAddress().substring(a.getHostAddress().lastIndexOf(':') + 1));
            }
        }
        return a;
    }

    private static ObjectNode error(String message) {
        return JSON.createObjectNode().put("error", message);
    }

    private static void reply(ChannelHandlerContext ctx, HttpResponseStatus status, ObjectNode body) {
        byte[] bytes;
        try {
            bytes = JSON.writeValueAsBytes(body);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            bytes = ("{\"error\":\"" + e.getMessage() + "\"}").getBytes(StandardCharsets.UTF_8);
        }
        FullHttpResponse res = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status, Unpooled.wrappedBuffer(bytes));
        res.headers().set(HttpHeaderNames.CONTENT_TYPE, "application/json").setInt(HttpHeaderNames.CONTENT_LENGTH, bytes.length)
                .set(HttpHeaderNames.CONNECTION, "close");
        ctx.writeAndFlush(res).addListener(ChannelFutureListener.CLOSE);
    }
}
