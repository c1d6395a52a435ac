package io.ports.resolver;

import io.ports.core.PortsException;

/**
 * Root of the resolver's failures; every message names the name and the record type asked.
 * Catch a subclass where you act differently:
 * <ul>
 * <li>{@link UnknownNameException}: the name does not exist (NXDOMAIN); fix the name or the zone.</li>
 * <li>{@link NoDataException}: the name exists but has no records of the type asked (NODATA).</li>
 * <li>{@link DnsTimeoutException}: no server answered in time; retrying later may succeed.</li>
 * <li>{@link ServerFailureException}: servers answered with an error or with unusable data.</li>
 * <li>{@link MalformedNameException}: the name cannot be a DNS name; nothing was sent.</li>
 * </ul>
 * Answers from the cache carry the exception created for the original answer, shared by every
 * caller that hits it.
 */
public abstract class DnsException extends PortsException {
    private static final long serialVersionUID = 1L;

    private final String name;
    private final String type;
    private final String detail;

    DnsException(String name, String type, String detail, String message, Throwable cause) {
        super(message, cause);
        this.name = name;
        this.type = type;
        this.detail = detail;
    }

    /** What was found, without the name, type and advice around it. */
    String detail() {
        return detail;
    }

    /** The name asked, as the caller wrote it (or the name of the query that failed). */
    public String name() {
        return name;
    }

    /** The record type(s) asked: {@code A}, {@code AAAA}, {@code A/AAAA} or {@code SRV}. */
    public String type() {
        return type;
    }

    static String quote(String name) {
        return "'" + name + "'";
    }
}
