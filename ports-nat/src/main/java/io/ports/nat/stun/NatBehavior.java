package io.ports.nat.stun;

import java.net.InetSocketAddress;
import java.util.Objects;

/**
 * How the NAT between this node and the STUN servers behaves (RFC 4787 terms), as
 * {@link StunClient#natBehavior()} found it.
 *
 * @param mapping   whether the public endpoint stays the same for every destination
 * @param filtering which outside hosts may send to a mapped endpoint; {@link Filtering#UNKNOWN} unless
 *                  the server supports RFC 5780 CHANGE-REQUEST
 * @param translated whether any NAT was seen at all (the mapped address differs from the local one)
 * @param local     the local endpoint the tests were sent from
 * @param mapped    the public endpoint the first server saw
 * @param method    how it was found
 * @param detail    the observations behind the verdict, for logs
 */
public record NatBehavior(Mapping mapping, Filtering filtering, boolean translated, InetSocketAddress local,
                          InetSocketAddress mapped, Method method, String detail) {
    public NatBehavior {
        Objects.requireNonNull(mapping, "mapping");
        Objects.requireNonNull(filtering, "filtering");
        Objects.requireNonNull(local, "local");
        Objects.requireNonNull(mapped, "mapped");
        Objects.requireNonNull(method, "method");
        Objects.requireNonNull(detail, "detail");
    }

    /** Mapping behaviour (RFC 4787 section 4.1). */
    public enum Mapping {
        /** The same public endpoint for every destination: peers can reach us at the address STUN reports. */
        ENDPOINT_INDEPENDENT,
        /** A new public endpoint per destination address. */
        ADDRESS_DEPENDENT,
        /** A new public endpoint per destination address and port ("symmetric NAT"). */
        ADDRESS_AND_PORT_DEPENDENT,
        /** Two servers saw different endpoints, without RFC 5780 to tell address from port dependence. */
        ENDPOINT_DEPENDENT,
        /** One server without OTHER-ADDRESS: nothing to compare against. */
        UNKNOWN;

        /** Whether the endpoint a STUN server reports is the one other peers will see. */
        public boolean isEndpointIndependent() {
            return this == ENDPOINT_INDEPENDENT;
        }
    }

    /** Filtering behaviour (RFC 4787 section 5). */
    public enum Filtering {
        ENDPOINT_INDEPENDENT, ADDRESS_DEPENDENT, ADDRESS_AND_PORT_DEPENDENT, UNKNOWN
    }

    /** How the verdict was reached. */
    public enum Method {
        /** RFC 5780 tests against a server with OTHER-ADDRESS and CHANGE-REQUEST. */
        RFC_5780,
        /** The mapped endpoints seen by two different servers, compared. */
        SERVER_COMPARISON,
        /** A single server without RFC 5780: only "translated or not" is known. */
        SINGLE_SERVER
    }
}
