package io.ports.listener.tunnel;

import io.netty.channel.Channel;
import io.netty.channel.ChannelOutboundBuffer;

import java.util.Set;
import java.util.concurrent.atomic.LongAdder;

/**
 * Live counters of one tunnel end, as plain numbers for the metrics module to read (each getter is
 * cheap and thread-safe; totals only grow). "Sent" and "received" are WebSocket payload bytes seen
 * from this end: what it carried into the tunnel and what came out of it.
 */
public final class TunnelCounters {
    private final LongAdder opened = new LongAdder();
    private final LongAdder closedClean = new LongAdder();
    private final LongAdder closedAbnormally = new LongAdder();
    private final LongAdder rejected = new LongAdder();
    private final LongAdder failed = new LongAdder();
    private final LongAdder bytesSent = new LongAdder();
    private final LongAdder bytesReceived = new LongAdder();
    private final LongAdder pingTimeouts = new LongAdder();
    private final LongAdder dialAttempts = new LongAdder();
    private final LongAdder dialFailures = new LongAdder();
    private final Set<Bridge> active;

    TunnelCounters(Set<Bridge> active) {
        this.active = active;
    }

    /** Tunnels established (upgrade done, both sides connected) since the start. */
    public long connectionsOpened() {
        return opened.sum();
    }

    /** Tunnels open now. */
    public int connectionsActive() {
        return active.size();
    }

    /** Tunnels that ended with a Close handshake of 1000 both ways. */
    public long connectionsClosedClean() {
        return closedClean.sum();
    }

    /** Tunnels that ended any other way: an error code, a dead peer, a reset, a stop. */
    public long connectionsClosedAbnormally() {
        return closedAbnormally.sum();
    }

    /**
     * Upgrades refused before anything was bridged: on a server the 4xx answers it gave (path, token,
     * allow-list, subprotocol), on a client the 4xx answers it got.
     */
    public long connectionsRejected() {
        return rejected.sum();
    }

    /**
     * Connections that could not be bridged for another reason: on a server a target it could not
     * reach (502); on a client a local connection dropped because no tunnel could be opened in time.
     */
    public long connectionsFailed() {
        return failed.sum();
    }

    /** Payload bytes carried into the tunnel (read from TCP, sent in binary frames). */
    public long bytesSent() {
        return bytesSent.sum();
    }

    /** Payload bytes that came out of the tunnel (received in binary frames, written to TCP). */
    public long bytesReceived() {
        return bytesReceived.sum();
    }

    /** Peers dropped because nothing came from them for the ping timeout. */
    public long pingTimeouts() {
        return pingTimeouts.sum();
    }

    /** Attempts to open a WebSocket to the server (client only; 0 on a server). */
    public long dialAttempts() {
        return dialAttempts.sum();
    }

    /** Attempts that failed, retried or not (client only). */
    public long dialFailures() {
        return dialFailures.sum();
    }

    /**
     * Bytes written but not yet taken by the kernel, over both channels of every open tunnel: what the
     * backpressure bounds (about the high water mark plus one read per channel).
     */
    public long bufferedBytes() {
        long sum = 0;
        for (Bridge b : active) {
            sum += pending(b.webSocket()) + pending(b.tcp());
        }
        return sum;
    }

    private static long pending(Channel ch) {
        ChannelOutboundBuffer buf = ch.unsafe().outboundBuffer();
        return buf == null ? 0 : buf.totalPendingWriteBytes();
    }

    void opened() {
        opened.increment();
    }

    void closed(boolean clean) {
        (clean ? closedClean : closedAbnormally).increment();
    }

    void rejected() {
        rejected.increment();
    }

    void failed() {
        failed.increment();
    }

    void sent(int n) {
        bytesSent.add(n);
    }

    void received(int n) {
        bytesReceived.add(n);
    }

    void pingTimeout() {
        pingTimeouts.increment();
    }

    void dialAttempt() {
        dialAttempts.increment();
    }

    void dialFailure() {
        dialFailures.increment();
    }

    @Override
    public String toString() {
        return "TunnelCounters[opened=" + connectionsOpened() + ", active=" + connectionsActive() + ", clean=" + connectionsClosedClean()
                + ", abnormal=" + connectionsClosedAbnormally() + ", rejected=" + connectionsRejected() + ", failed=" + connectionsFailed()
                + ", sent=" + bytesSent() + ", received=" + bytesReceived() + ", pingTimeouts=" + pingTimeouts() + ", dialAttempts="
                + dialAttempts() + ", dialFailures=" + dialFailures() + ", buffered=" + bufferedBytes() + "]";
    }
}
