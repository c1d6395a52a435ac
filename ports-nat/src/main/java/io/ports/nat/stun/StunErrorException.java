package io.ports.nat.stun;

import io.ports.nat.NatTraversalException;

import java.net.InetSocketAddress;

/**
 * A STUN server answered with an error response (RFC 8489 section 14.8): 300 Try Alternate, 400 Bad
 * Request, 401 Unauthenticated, 420 Unknown Attribute, 438 Stale Nonce, 500 Server Error, or another
 * code. The client already followed one 300 redirect and tried the other servers it was given.
 */
public class StunErrorException extends NatTraversalException {
    private static final long serialVersionUID = 1L;

    private final int errorCode;
    private final String reason;
    private final transient InetSocketAddress server;
    private final transient InetSocketAddress alternateServer;

    public StunErrorException(String message, InetSocketAddress server, int errorCode, String reason, InetSocketAddress alternateServer) {
        super(message);
        this.server = server;
        this.errorCode = errorCode;
        this.reason = reason;
        this.alternateServer = alternateServer;
    }

    /** The STUN error code, for example 420. */
    public int errorCode() {
        return errorCode;
    }

    /** The server's reason phrase, possibly empty. */
    public String reason() {
        return reason;
    }

    public InetSocketAddress server() {
        return server;
    }

    /** ALTERNATE-SERVER of a 300 response, or null. */
    public InetSocketAddress alternateServer() {
        return alternateServer;
    }

    /** What the standard says a code means and what to do about it. */
    static String explain(int code) {
        switch (code) {
            case 300: return "Try Alternate: the server redirects to its ALTERNATE-SERVER";
            case 400: return "Bad Request: the server could not parse the request";
            case 401: return "Unauthenticated: the server wants credentials (a TURN server, not an open STUN server); configure another server";
            case 420: return "Unknown Attribute: the server does not support an attribute of the request (for CHANGE-REQUEST: no RFC 5780 support)";
            case 438: return "Stale Nonce: retry with the new nonce";
            case 500: return "Server Error: a temporary failure on the server; retry later";
            default: return code >= 500 ? "a server error; retry later" : "a request error";
        }
    }
}
