package io.ports.manager;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpClientCodec;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.timeout.ReadTimeoutHandler;
import io.ports.core.EventLoops;
import io.ports.core.PortsException;
import io.ports.nat.FirewallProber;

import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

/** Asks a {@link DialBackServer} which of this node's ports it reaches, over HTTP on the shared loops. */
final class DialBackClient {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** What the outside found: the address it saw us come from, and each port's verdict. */
    record Answer(String observed, Map<Integer, FirewallProber.Result> results) {
    }

    private final EventLoops loops;
    private final URI uri;
    private final Duration probeTimeout;

    DialBackClient(EventLoops loops, URI uri, Duration probeTimeout) {
        this.loops = loops;
        this.uri = uri;
        this.probeTimeout = probeTimeout;
    }

    URI uri() {
        return uri;
    }

    CompletableFuture<Answer> check(List<Integer> ports) {
        CompletableFuture<Answer> answer = new CompletableFuture<>();
        String path = DialBackServer.PATH + "?ports=" + ports.stream().map(String::valueOf).collect(Collectors.joining(","));
        long readTimeout = probeTimeout.toMillis() + 5000; // the server answers once every probe ended: at most its own timeout
        Bootstrap b = new Bootstrap().group(loops.group()).channel(loops.socketChannelClass())
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, 5000)
                .handler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        ch.pipeline().addLast(new ReadTimeoutHandler(readTimeout, TimeUnit.MILLISECONDS), new HttpClientCodec(),
                                new HttpObjectAggregator(64 * 1024), new SimpleChannelInboundHandler<FullHttpResponse>() {
                                    @Override
                                    protected void channelRead0(ChannelHandlerContext ctx, FullHttpResponse res) {
                                        try {
                                            answer.complete(parse(res.status().code(), res.content().toString(StandardCharsets.UTF_8), ports));
                                        } catch (PortsException e) {
                                            answer.completeExceptionally(e);
                                        }
                                        ctx.close();
                                    }

                                    @Override
                                    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
                                        answer.completeExceptionally(new PortsException("the reachability check " + uri + " failed: " + cause, cause));
                                        ctx.close();
                                    }

                                    @Override
                                    public void channelInactive(ChannelHandlerContext ctx) {
                                        answer.completeExceptionally(new PortsException("the reachability check " + uri
                                                + " closed the connection without an answer"));
                                    }
                                });
                    }
                });
        ChannelFuture f = b.connect(new InetSocketAddress(uri.getHost(), uri.getPort()));
        f.addListener(x -> {
            if (!x.isSuccess()) {
                answer.completeExceptionally(new PortsException("cannot reach the reachability check " + uri + ": " + x.cause().getMessage()
                        + " (reachability.check must name a running DialBackServer outside this node's network)", x.cause()));
                return;
            }
            DefaultFullHttpRequest req = new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.GET, path);
            req.headers().set(HttpHeaderNames.HOST, uri.getHost() + ":" + uri.getPort()).set(HttpHeaderNames.CONNECTION, "close");
            f.channel().writeAndFlush(req);
        });
        return answer;
    }

    private Answer parse(int status, String body, List<Integer> ports) {
        try {
            JsonNode n = JSON.readTree(body);
            if (status != 200) {
                throw new PortsException("the reachability check " + uri + " answered " + status + ": " + n.path("error").asText(body));
            }
            Map<Integer, FirewallProber.Result> results = new LinkedHashMap<>();
            for (JsonNode r : n.path("results")) {
                int port = r.path("port").asInt();
                results.put(port, new FirewallProber.Result(r.path("port").asText(), FirewallProber.Reachability.valueOf(r.path("reachability").asText()),
                        Duration.ofMillis(r.path("millis").asLong()), r.path("detail").asText()));
            }
            if (!results.keySet().containsAll(ports)) {
                throw new PortsException("the reachability check " + uri + " answered for " + results.keySet() + ", not for " + ports);
            }
            return new Answer(n.path("observed").asText(), results);
        } catch (java.io.IOException | IllegalArgumentException e) {
            throw new PortsException("the reachability check " + uri + " sent an answer that is not its JSON: " + e.getMessage(), e);
        }
    }
}
