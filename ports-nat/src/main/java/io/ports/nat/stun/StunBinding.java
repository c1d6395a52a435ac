package io.ports.nat.stun;

import io.ports.core.Protocol;

import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.Objects;

/**
 * The answer to one STUN Binding request: the transport address the server saw ({@link #mapped()}),
 * which is this node's public endpoint for {@link #local()} when a NAT lies between them.
 *
 * @param mapped         XOR-MAPPED-ADDRESS (or the legacy MAPPED-ADDRESS) from the response
 * @param server         the server that answered
 * @param local          the local address and port the request left from
 * @param transport      UDP or TCP
 * @param otherAddress   the server's OTHER-ADDRESS (RFC 5780), or null when it offers none
 * @param responseOrigin where the server says it sent the response from (RFC 5780), or null
 * @param software       the server's SOFTWARE attribute, or null
 * @param sends          how many times the request was sent (1 over TCP)
 * @param roundTrip      time from the last send to the answer
 */
public record StunBinding(InetSocketAddress mapped, InetSocketAddress server, InetSocketAddress local, Protocol transport,
                          InetSocketAddress otherAddress, InetSocketAddress responseOrigin, String software, int sends,
                          Duration roundTrip) {
    public StunBinding {
        Objects.requireNonNull(mapped, "mapped address");
        Objects.requireNonNull(server, "server");
        Objects.requireNonNull(local, "local address");
        Objects.requireNonNull(transport, "transport");
        Objects.requireNonNull(roundTrip, "round trip");
        if (sends < 1) {
            throw new IllegalArgumentException("sends : " + sends + " (expected: >= 1)");
        }
        if (roundTrip.isNegative()) {
            throw new IllegalArgumentException("round trip : " + roundTrip + " (expected: >= 0)");
        }
    }

    /** Whether the server saw another address or port than the one the request left from: a NAT (or proxy) in between. */
    public boolean translated() {
        return !mapped.equals(local);
    }
}
