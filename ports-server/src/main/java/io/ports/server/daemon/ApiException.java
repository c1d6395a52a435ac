package io.ports.server.daemon;

import io.netty.handler.codec.http.HttpResponseStatus;

import java.util.Map;

/**
 * A request the daemon refuses or could not serve, as the client sees it: a status, a snake_case error
 * code, a message saying what was wrong and what would be valid, and the input it is about.
 */
final class ApiException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final transient HttpResponseStatus status;
    private final String code;
    private final String field;
    private final transient Map<String, String> headers;

    ApiException(HttpResponseStatus status, String code, String message, String field) {
        this(status, code, message, field, Map.of());
    }

    ApiException(HttpResponseStatus status, String code, String message, String field, Map<String, String> headers) {
        super(message, null, false, false);
        this.status = status;
        this.code = code;
        this.field = field;
        this.headers = Map.copyOf(headers);
    }

    static ApiException badRequest(String field, String message) {
        return new ApiException(HttpResponseStatus.BAD_REQUEST, "invalid_" + (field == null ? "request" : field), message, field);
    }

    static ApiException notFound(String code, String message, String field) {
        return new ApiException(HttpResponseStatus.NOT_FOUND, code, message, field);
    }

    HttpResponseStatus status() {
        return status;
    }

    String code() {
        return code;
    }

    String field() {
        return field;
    }

    Map<String, String> headers() {
        return headers;
    }
}
