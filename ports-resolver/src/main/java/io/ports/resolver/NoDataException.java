package io.ports.resolver;

/**
 * The name exists but has no records of the type asked (NODATA), or an SRV set says the service
 * is decidedly not available (a single target of "."). Cached like {@link UnknownNameException}.
 */
public final class NoDataException extends DnsException {
    private static final long serialVersionUID = 1L;

    NoDataException(String name, String type, String detail) {
        super(name, type, detail, "no " + type + " records for " + quote(name) + ": " + detail, null);
    }
}
