package io.ports.resolver;

import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;

/**
 * No server answered in time: every attempt on every server timed out (or could not be sent).
 * Not cached; the next lookup asks again, and retrying later may succeed. The message lists the
 * servers, the attempts and what happened on each server.
 */
public final class DnsTimeoutException extends DnsException {
    private static final long serialVersionUID = 1L;

    private final List<InetSocketAddress> servers;
    private final int attempts;
    private final Duration timeout;

    DnsTimeoutException(String name, String type, List<InetSocketAddress> servers, int attempts, Duration timeout,
                        String detail) {
        super(name, type, detail, "no answer for " + quote(name) + " (" + type + ") from " + Names.format(servers) + " after "
                + attempts + (attempts == 1 ? " attempt" : " attempts") + " of " + timeout.toMillis() + " ms per server ("
                + detail + "). Check that the servers run and are reachable, or raise the timeout or attempts; retrying may succeed",
                null);
        this.servers = List.copyOf(servers);
        this.attempts = attempts;
        this.timeout = timeout;
    }

    /** The servers asked, in the order they were tried first. */
    public List<InetSocketAddress> servers() {
        return servers;
    }

    /** Attempts per server. */
    public int attempts() {
        return attempts;
    }

    /** The timeout of one attempt. */
    public Duration timeout() {
        return timeout;
    }
}
