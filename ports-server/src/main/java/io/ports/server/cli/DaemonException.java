package io.ports.server.cli;

import io.ports.core.PortsException;

/**
 * The daemon answered a request with an error, or could not be asked at all. Carries the exit code
 * the command line ends with (see {@link Main}) and, when the daemon answered, its HTTP status and
 * the {@code error}, {@code field} and raw body of its JSON error.
 */
final class DaemonException extends PortsException {
    private static final long serialVersionUID = 1L;

    private final int exitCode;
    private final int status;
    private final String error;
    private final String field;
    private final transient String body;

    private DaemonException(String message, int exitCode, int status, String error, String field, String body, Throwable cause) {
        super(message, cause);
        this.exitCode = exitCode;
        this.status = status;
        this.error = error;
        this.field = field;
        this.body = body;
    }

    /** The daemon could not be reached: nothing listening, a timeout, a connection cut. */
    static DaemonException unreachable(String message, Throwable cause) {
        return new DaemonException(message, Main.UNREACHABLE, 0, null, null, null, cause);
    }

    /** The daemon answered with an error status. */
    static DaemonException status(String message, int status, String error, String field, String body) {
        return new DaemonException(message, exitCodeOf(status), status, error, field, body, null);
    }

    /** The daemon's answer made no sense to this command line (not JSON, or not the expected shape). */
    static DaemonException protocol(String message, Throwable cause) {
        return new DaemonException(message, Main.FAILURE, 0, null, null, null, cause);
    }

    /**
     * The exit code of an error status: 400 a bad argument, 401/403 refused auth, 429 and 503 try
     * again later, anything else a failed operation.
     */
    static int exitCodeOf(int status) {
        switch (status) {
            case 400:
                return Main.USAGE;
            case 401:
            case 403:
                return Main.AUTH;
            case 429:
            case 503:
                return Main.UNAVAILABLE;
            default:
                return Main.FAILURE;
        }
    }

    int exitCode() {
        return exitCode;
    }

    /** The HTTP status, or 0 when the daemon did not answer. */
    int status() {
        return status;
    }

    /** The daemon's snake_case error code, or null. */
    String error() {
        return error;
    }

    /** The input the daemon named as wrong, or null. */
    String field() {
        return field;
    }

    /** The daemon's error body when it was JSON, or null. */
    String body() {
        return body;
    }
}
