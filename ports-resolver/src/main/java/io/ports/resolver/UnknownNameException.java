package io.ports.resolver;

/**
 * The name does not exist: every candidate (after the search list) got NXDOMAIN. Cached as a
 * negative answer for the SOA's negative TTL (RFC 2308), capped by the builder's negative TTL.
 */
public final class UnknownNameException extends DnsException {
    private static final long serialVersionUID = 1L;

    UnknownNameException(String name, String type, String detail) {
        super(name, type, detail, "unknown name " + quote(name) + " (" + type + "): " + detail
                + ". Check the spelling, the search list and that the zone holds the name", null);
    }
}
