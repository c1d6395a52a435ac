package io.ports.resolver;

/**
 * The name cannot be a DNS name (empty, an empty label, a label over 63 or a name over 253
 * characters, a character other than letters, digits, '-' and '_', a bad {@code host:port}).
 * Nothing was sent. Non-ASCII names must be converted first with {@link java.net.IDN#toASCII(String)}.
 */
public final class MalformedNameException extends DnsException {
    private static final long serialVersionUID = 1L;

    MalformedNameException(String name, String type, String reason) {
        super(name, type, reason, "malformed name " + quote(name) + " (" + type + "): " + reason, null);
    }
}
