package io.ports.listener.tunnel;

import java.time.Duration;
import java.util.Objects;

/** Option checks shared by both ends; every message names the option, the value and what is expected. */
final class Checks {
    static final int MIN_FRAME = 1024;
    static final int MAX_FRAME = 64 << 20;

    private Checks() {
    }

    static Duration positive(Duration d, String what) {
        Objects.requireNonNull(d, what);
        if (d.isNegative() || d.isZero()) {
            throw new IllegalArgumentException(what + " " + d + " must be positive");
        }
        return d;
    }

    static Duration notNegative(Duration d, String what) {
        Objects.requireNonNull(d, what);
        if (d.isNegative()) {
            throw new IllegalArgumentException(what + " " + d + " is negative: expected 0 or more");
        }
        return d;
    }

    static void limits(int maxFramePayload, int maxMessageSize) {
        if (maxFramePayload < MIN_FRAME || maxFramePayload > MAX_FRAME) {
            throw new IllegalArgumentException("max frame payload " + maxFramePayload + " bytes out of range: expected "
                    + MIN_FRAME + "-" + MAX_FRAME + " (1 KiB-64 MiB)");
        }
        if (maxMessageSize < maxFramePayload) {
            throw new IllegalArgumentException("max message size " + maxMessageSize + " bytes is below the max frame payload "
                    + maxFramePayload + ": a message is one frame or more");
        }
    }

    static void keepalive(Duration pingInterval, Duration pingTimeout) {
        notNegative(pingInterval, "ping interval");
        if (pingInterval.isZero()) {
            return; // keepalive off
        }
        positive(pingTimeout, "ping timeout");
        if (pingTimeout.compareTo(pingInterval) <= 0) {
            throw new IllegalArgumentException("ping timeout " + pingTimeout + " must be longer than the ping interval " + pingInterval
                    + ": a peer that only answers pings is silent for up to one interval");
        }
    }

    static void waterMarks(int low, int high) {
        if (low < 1024 || high > (64 << 20) || low > high) {
            throw new IllegalArgumentException("write buffer water marks low=" + low + " high=" + high
                    + " out of range: expected 1 KiB <= low <= high <= 64 MiB");
        }
    }

    static String token(String token) {
        if (token == null || token.isBlank() || token.chars().anyMatch(c -> c <= ' ' || c > '~')) {
            throw new IllegalArgumentException("bearer token must be non-empty printable ASCII without spaces (RFC 6750), got "
                    + (token == null ? "null" : token.isBlank() ? "a blank string" : "a token with " + token.length() + " characters"));
        }
        return token;
    }
}
