package io.ports.nat;

import java.time.Duration;

/**
 * A gateway or STUN server did not answer: every retransmission went unanswered, or a connection was
 * refused or timed out. The peer may be down, filtered, or not speak the protocol; retry later or ask
 * another one.
 */
public class NatTimeoutException extends NatTraversalException {
    private static final long serialVersionUID = 1L;

    private final int attempts;
    private final Duration elapsed;

    public NatTimeoutException(String message, int attempts, Duration elapsed) {
        super(message);
        this.attempts = attempts;
        this.elapsed = elapsed;
    }

    public NatTimeoutException(String message, int attempts, Duration elapsed, Throwable cause) {
        super(message, cause);
        this.attempts = attempts;
        this.elapsed = elapsed;
    }

    /** Requests sent (retransmissions included) before giving up; 1 for a TCP exchange. */
    public int attempts() {
        return attempts;
    }

    /** Time from the first send to giving up. */
    public Duration elapsed() {
        return elapsed;
    }
}
