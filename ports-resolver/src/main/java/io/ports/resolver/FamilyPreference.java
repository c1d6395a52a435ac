package io.ports.resolver;

/**
 * Which address families a host resolution asks for and in which order the addresses come back.
 * Within one family the order is the order the server sent.
 */
public enum FamilyPreference {
    /** A and AAAA; IPv4 addresses first. The default, matching the JDK's default preference. */
    IPV4_FIRST,
    /** A and AAAA; IPv6 addresses first. */
    IPV6_FIRST,
    /**
     * A and AAAA, alternating families starting with IPv6 (v6, v4, v6, v4, ..., then the rest), as
     * RFC 8305 section 4 recommends for Happy Eyeballs connection attempts.
     */
    INTERLEAVED,
    /** A only: no AAAA query is sent. */
    IPV4_ONLY,
    /** AAAA only: no A query is sent. */
    IPV6_ONLY;

    boolean wantsV4() {
        return this != IPV6_ONLY;
    }

    boolean wantsV6() {
        return this != IPV4_ONLY;
    }

    /** The record types asked for, as the exception messages name them: {@code A/AAAA}, {@code A} or {@code AAAA}. */
    String typeLabel() {
        return this == IPV4_ONLY ? "A" : this == IPV6_ONLY ? "AAAA" : "A/AAAA";
    }
}
