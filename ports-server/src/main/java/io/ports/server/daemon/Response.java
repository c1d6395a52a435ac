package io.ports.server.daemon;

import io.netty.handler.codec.http.HttpResponseStatus;

import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * One response before it is written: status, body, content type, extra headers, and for mutations the
 * line the audit log gets.
 */
record Response(HttpResponseStatus status, String contentType, byte[] body, Map<String, String> headers, String audit) {
    static final String JSON = "application/json; charset=utf-8";
    /** The content type that makes the handler keep the connection open as a server-sent event stream. */
    static final String EVENT_STREAM = "text/event-stream; charset=utf-8";

    Response {
        headers = headers == null ? Map.of() : Map.copyOf(headers);
        audit = audit == null ? "" : audit;
    }

    static Response json(HttpResponseStatus status, Object body) {
        return new Response(status, JSON, JsonCodec.write(body), Map.of(), null);
    }

    static Response ok(Object body) {
        return json(HttpResponseStatus.OK, body);
    }

    static Response text(HttpResponseStatus status, String contentType, String body) {
        return new Response(status, contentType, body.getBytes(StandardCharsets.UTF_8), Map.of(), null);
    }

    static Response stream() {
        return new Response(HttpResponseStatus.OK, EVENT_STREAM, new byte[0], Map.of(), null);
    }

    static Response error(ApiException e) {
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("success", false);
        body.put("error", e.code());
        body.put("message", e.getMessage());
        body.put("field", e.field());
        return new Response(e.status(), JSON, JsonCodec.write(body), e.headers(), e.code());
    }

    Response withAudit(String line) {
        return new Response(status, contentType, body, headers, line);
    }

    Response withHeader(String name, String value) {
        Map<String, String> h = new LinkedHashMap<>(headers);
        h.put(name, value);
        return new Response(status, contentType, body, h, audit);
    }
}
