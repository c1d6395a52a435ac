package io.ports.manager.lab;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.ports.core.testsupport.ThreadStarts;
import io.ports.manager.testsupport.Leaks;
import io.ports.manager.NodePorts;
import io.ports.manager.PortConfig;
import io.ports.manager.PortManager;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A node in the NAT lab's LAN namespace, driven by {@link ManagerNatLabTest} one command per line on
 * stdin, answering one line on stdout (logs go to the file named by the first argument):
 * <pre>
 * start FILE  -> NODE name port route endpoint via url checked directly   (one per service), then STARTED   or  FAILED message
 * close       -> CLOSED started=[threads started by close()] leaks=...      (what the process holds beyond its state before the node)
 * leaks       -> LEAKS ...
 * exit        -> BYE
 * </pre>
 * Every service's pipeline writes {@code hello NAME\n} to each new connection, then echoes.
 */
public final class NodeLabMain {
    private NodeLabMain() {
    }

    @ChannelHandler.Sharable
    static final class Greeter extends ChannelInboundHandlerAdapter {
        private final String name;

        Greeter(String name) {
            this.name = name;
        }

        @Override
        public void channelActive(ChannelHandlerContext ctx) {
            ctx.writeAndFlush(Unpooled.copiedBuffer("hello " + name + "\n", StandardCharsets.US_ASCII));
            ctx.fireChannelActive();
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ctx.writeAndFlush((ByteBuf) msg);
        }
    }

    public static void main(String[] args) throws Exception {
        System.setProperty("lab.log", args[0]);
        System.setProperty("logback.configurationFile", "logback-lab.xml");
        Leaks before = Leaks.now();
        PortManager pm = null;
        System.out.println("READY " + ProcessHandle.current().pid());
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        String line;
        while ((line = in.readLine()) != null) {
            String[] a = line.trim().split("\\s+");
            try {
                switch (a[0]) {
                    case "start": {
                        PortConfig config = PortConfig.load(Path.of(a[1]), Map.of());
                        Map<String, ChannelHandler> pipelines = new LinkedHashMap<>();
                        config.services().keySet().forEach(s -> pipelines.put(s, new Greeter(s)));
                        pm = PortManager.start(config, pipelines);
                        for (NodePorts.ServicePorts s : pm.nodePorts().services().values()) {
                            StringBuilder b = new StringBuilder("NODE " + s.service() + " " + s.port());
                            if (s.external().isPresent()) {
                                NodePorts.External e = s.external().get();
                                b.append(' ').append(e.route()).append(' ').append(e.endpoint().getAddress().getHostAddress()).append(':')
                                        .append(e.endpoint().getPort()).append(' ').append(e.via().replace(' ', '_')).append(' ')
                                        .append(e.tunnelUrl().map(Object::toString).orElse("-")).append(' ')
                                        .append(e.checked().map(Enum::name).orElse("-")).append(' ').append(e.directly().map(Enum::name).orElse("-"));
                            } else {
                                b.append(" LOCAL");
                            }
                            say(b.toString());
                        }
                        say("STARTED");
                        break;
                    }
                    case "close": {
                        PortManager m = pm;
                        pm = null;
                        long t0 = System.nanoTime();
                        List<String> started = m == null ? List.of() : ThreadStarts.during(m::close);
                        long ms = (System.nanoTime() - t0) / 1_000_000;
                        say("CLOSED ms=" + ms + " started=" + started.stream().filter(n -> !n.startsWith("ports-io-")).toList()
                                + " leaks=" + settled(before));
                        break;
                    }
                    case "leaks":
                        say("LEAKS " + settled(before));
                        break;
                    case "exit":
                        if (pm != null) {
                            pm.close();
                        }
                        say("BYE");
                        return;
                    default:
                        say("FAILED unknown command " + line);
                }
            } catch (Exception e) {
                say("FAILED " + String.valueOf(e.getMessage()).replace('\n', ' '));
            }
        }
    }

    /** What is held beyond {@code before}, after giving ending threads a moment (bounded: 50 x 10 ms). */
    private static String settled(Leaks before) throws Exception {
        String s = Leaks.now().beyond(before);
        for (int i = 0; i < 50 && !s.isEmpty(); i++) {
            Thread.sleep(10);
            s = Leaks.now().beyond(before);
        }
        return s.isEmpty() ? "none" : s.replace(' ', '_');
    }

    private static synchronized void say(String s) {
        System.out.println(s);
        System.out.flush();
    }
}
