package io.ports.resolver;

/**
 * The servers answered, but not usefully: every server that answered returned an error code
 * (SERVFAIL, REFUSED, NOTIMP, FORMERR, ...), or the data was unusable (a CNAME loop, a CNAME chain
 * longer than the resolver follows). Not cached. {@link #rcode()} is the last error code seen, or
 * -1 when the data was the problem.
 */
public final class ServerFailureException extends DnsException {
    private static final long serialVersionUID = 1L;

    private final int rcode;

    ServerFailureException(String name, String type, int rcode, String detail) {
        super(name, type, detail, "server failure for " + quote(name) + " (" + type + "): " + detail
                + ". Check the servers' logs and the zone; retrying later may succeed", null);
        this.rcode = rcode;
    }

    /** The DNS response code (2 = SERVFAIL, 5 = REFUSED, ...), or -1 when the answer's data was unusable. */
    public int rcode() {
        return rcode;
    }
}
