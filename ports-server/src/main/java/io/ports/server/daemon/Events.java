package io.ports.server.daemon;

import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.ports.core.registry.Allocation;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Server-sent events ({@code GET /ports/events}): every change the daemon makes is sent as
 * {@code event: change} with a small JSON payload (what happened, the port), so a dashboard fetches the
 * new state at once instead of waiting for its next poll. Slow clients that stop reading are dropped
 * rather than buffered without bound; at most {@link #MAX_STREAMS} streams are open at once.
 */
final class Events {
    private static final Logger log = LoggerFactory.getLogger(Events.class);
    static final int MAX_STREAMS = 64;

    private final Set<Channel> streams = ConcurrentHashMap.newKeySet();
    private final AtomicLong ids = new AtomicLong();

    /** Adds a stream whose response head was written; false when too many are open already. */
    boolean add(Channel ch) {
        if (streams.size() >= MAX_STREAMS) {
            return false;
        }
        streams.add(ch);
        ch.closeFuture().addListener(f -> streams.remove(ch));
        return true;
    }

    int streams() {
        return streams.size();
    }

    /** Sends a change to every stream. */
    void publish(String kind, Object subject) {
        Map<String, Object> data = new LinkedHashMap<>();
        data.put("kind", kind);
        if (subject instanceof Allocation a) {
            data.put("port", a.port());
            data.put("service_name", a.serviceName());
            data.put("status", a.status().name());
        } else if (subject instanceof Map<?, ?> m) {
            m.forEach((k, v) -> data.put(String.valueOf(k), v));
        }
        send("change", new String(JsonCodec.write(data), StandardCharsets.UTF_8));
    }

    /** A comment line that keeps proxies and the browser from closing an idle stream. */
    void keepAlive() {
        sendRaw(": keep-alive\n\n");
    }

    private void send(String event, String json) {
        sendRaw("id: " + ids.incrementAndGet() + "\nevent: " + event + "\ndata: " + json + "\n\n");
    }

    private void sendRaw(String frame) {
        if (streams.isEmpty()) {
            return;
        }
        byte[] bytes = frame.getBytes(StandardCharsets.UTF_8);
        for (Channel ch : streams) {
            if (!ch.isActive()) {
                streams.remove(ch);
                continue;
            }
            if (!ch.isWritable()) {
                log.debug("dropping event stream {}: it does not read", ch.remoteAddress());
                ch.close();
                continue;
            }
            ch.writeAndFlush(new DefaultHttpContent(Unpooled.wrappedBuffer(bytes)));
        }
    }

    void closeAll() {
        streams.forEach(Channel::close);
        streams.clear();
    }
}
