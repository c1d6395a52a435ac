package io.ports.manager.examples;

import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.ports.manager.NodePorts;
import io.ports.manager.PortConfig;
import io.ports.manager.PortManager;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A database node's start-up: the five node services (DATABASE, CLUSTER, REPLICATION, ADMIN, API)
 * get their ports, listeners and registry records in one call; the node prints its summary, serves
 * until told to stop (a line on stdin, or end of input), and shuts down cleanly.
 *
 * <p>Run: {@code java -cp ... io.ports.manager.examples.DatabaseNodeExample [config.properties|yaml]}
 */
public final class DatabaseNodeExample {
    private DatabaseNodeExample() {
    }

    /** Stands in for the database's protocol handlers: echoes what it reads. */
    @ChannelHandler.Sharable
    static final class Echo extends ChannelInboundHandlerAdapter {
        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ctx.writeAndFlush(msg);
        }
    }

    public static void main(String[] args) throws Exception {
        PortConfig config = args.length > 0 ? PortConfig.load(java.nio.file.Path.of(args[0])) : PortConfig.fromMap(Map.of(), System.getenv());
        Map<String, ChannelHandler> pipelines = new LinkedHashMap<>();
        config.services().keySet().forEach(s -> pipelines.put(s, new Echo()));
        try (PortManager ports = PortManager.start(config, pipelines).closeOnShutdown()) { // allocate, listen, (map), register
            NodePorts node = ports.nodePorts();
            System.out.println(ports.report().format());
            System.out.print(node.format());
            node.services().values().forEach(s -> System.out.println("STARTED " + s.service() + " " + s.type() + " " + s.port()));
            System.out.println("READY");
            System.out.flush();
            System.in.read(); // serve until a line (or end of input) arrives
        }
        System.out.println("STOPPED");
    }
}
