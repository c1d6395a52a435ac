package io.ports.listener.testsupport;

import io.netty.channel.ChannelInboundHandlerAdapter;
import io.ports.core.EventLoops;
import io.ports.listener.ListenerManager;
import io.ports.listener.ListenerOptions;

/** Child JVM: tries to listen on the address given and prints {@code OK port} or {@code ERROR message}. */
public final class ListenMain {
    private ListenMain() {
    }

    public static void main(String[] args) {
        try (EventLoops loops = EventLoops.builder().threads(1).build(); ListenerManager m = new ListenerManager(loops)) {
            System.out.println("OK " + m.start(args[0], ListenerOptions.defaults(), new ChannelInboundHandlerAdapter()).port());
        } catch (RuntimeException e) {
            System.out.println("ERROR " + e.getMessage());
        }
    }
}
