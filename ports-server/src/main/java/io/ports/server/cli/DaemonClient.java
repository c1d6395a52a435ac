package io.ports.server.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;

import java.io.IOException;
import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpConnectTimeoutException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;

/**
 * The daemon's REST API over {@link HttpClient} (HTTP/1.1): one blocking call per command. Every
 * failure becomes a {@link DaemonException} whose message says which URL was tried, what came back
 * and what to do, and whose exit code follows {@link Main}.
 */
final class DaemonClient {
    /** Bytes of an unexpected body quoted in a message. */
    private static final int QUOTE = 120;

    private final DaemonTarget target;
    private final Duration timeout;
    private final HttpClient http;

    DaemonClient(DaemonTarget target, Duration timeout) {
        this.target = target;
        this.timeout = timeout;
        this.http = HttpClient.newBuilder()
                .version(HttpClient.Version.HTTP_1_1) // the daemon speaks HTTP/1.1; no h2c upgrade header
                .connectTimeout(timeout)
                .followRedirects(HttpClient.Redirect.NEVER)
                .build();
    }

    DaemonTarget target() {
        return target;
    }

    /** {@code GET path}: the JSON body of a 2xx answer. */
    JsonNode get(String path) {
        return send("GET", path, null);
    }

    /** {@code POST path} with a JSON body (or none when {@code body} is null): the JSON body of a 2xx answer. */
    JsonNode post(String path, Map<String, ?> body) {
        return send("POST", path, body);
    }

    private JsonNode send(String method, String path, Map<String, ?> body) {
        boolean mutating = !method.equals("GET");
        DaemonTarget.Credentials credentials = target.credentials(mutating);
        URI uri = target.resolvePath(path);
        HttpRequest.Builder b = HttpRequest.newBuilder(uri)
                .timeout(timeout)
                .header("Accept", "application/json")
                .header("User-Agent", "ports-cli/" + VersionProvider.version());
        credentials.token().ifPresent(t -> b.header("Authorization", "Bearer " + t.value()));
        if (body == null) {
            b.method(method, HttpRequest.BodyPublishers.noBody());
        } else {
            b.header("Content-Type", "application/json");
            b.method(method, HttpRequest.BodyPublishers.ofString(Json.line(body), StandardCharsets.UTF_8));
        }
        String call = method + " " + path;

        HttpResponse<String> response;
        try {
            response = http.send(b.build(), HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
        } catch (HttpConnectTimeoutException e) {
            throw DaemonException.unreachable("cannot reach the ports daemon at " + target.url() + " (" + target.urlOrigin()
                    + "): no connection within " + Durations.format(timeout) + "; " + howToStart(), e);
        } catch (HttpTimeoutException e) {
            throw DaemonException.unreachable("the ports daemon at " + target.url() + " did not answer " + call + " within "
                    + Durations.format(timeout) + " (raise --timeout, or check the daemon's log)", e);
        } catch (ConnectException e) {
            throw DaemonException.unreachable("cannot reach the ports daemon at " + target.url() + " (" + target.urlOrigin()
                    + "): connection refused" + staleDaemonFile() + "; " + howToStart(), e);
        } catch (IOException e) {
            throw DaemonException.unreachable("lost the connection to the ports daemon at " + target.url() + " during " + call + ": "
                    + describe(e) + " (" + target.urlOrigin() + "; is it a ports daemon?)", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw DaemonException.unreachable("interrupted while waiting for " + call + " at " + target.url(), e);
        }

        int status = response.statusCode();
        String text = response.body() == null ? "" : response.body();
        JsonNode json = parse(text);
        if (status >= 200 && status < 300) {
            if (json == null) {
                throw DaemonException.protocol(target.url() + " answered " + call + " with " + status + " but not with JSON ("
                        + quote(text) + "): is something other than a ports daemon listening there?", null);
            }
            return json;
        }
        throw error(call, status, text, json, credentials, response.headers().firstValue("Retry-After"));
    }

    private DaemonException error(String call, int status, String text, JsonNode json, DaemonTarget.Credentials credentials,
                                  Optional<String> retryAfter) {
        String code = json == null ? null : textOrNull(json.get("error"));
        String field = json == null ? null : textOrNull(json.get("field"));
        String message = json == null ? null : textOrNull(json.get("message"));
        if (message == null) {
            message = text.isBlank() ? "no message" : quote(text);
        }
        StringBuilder m = new StringBuilder();
        m.append("the daemon at ").append(target.url()).append(" answered ").append(call).append(" with ")
                .append(status).append(code == null ? "" : " " + code).append(": ").append(message);
        if (status == 401 || status == 403) {
            m.append(credentials.token().isPresent()
                    ? " (" + (status == 403 ? "the token from " + credentials.token().get().source() + " may only read; an admin token is in "
                        + target.dataDir().resolve(DaemonTarget.ADMIN_TOKEN_FILE) + " on the daemon's host"
                        : "the token from " + credentials.token().get().source() + " is not one of the daemon's tokens") + ")"
                    : " (no token sent; looked at " + credentials.lookedAt() + "; pass one with --token or " + DaemonTarget.TOKEN_ENV + ")");
        } else if (status == 429) {
            m.append(" (retry after ").append(retryAfter.map(s -> s + " s").orElse("a moment")).append(')');
        } else if (status == 404 && json == null) {
            m.append(" (is ").append(target.url()).append(" a ports daemon of this version?)");
        }
        return DaemonException.status(ErrorHandler.oneLine(m.toString()), status, code, field, json == null ? null : Json.line(json));
    }

    /** How to start the daemon or point at one, for a refused connection. */
    private String howToStart() {
        return "start it with 'ports serve" + (target.url().getPort() > 0 && target.url().getPort() != 8500 ? " --port " + target.url().getPort() : "")
                + "' or point to a running one with --url or " + DaemonTarget.URL_ENV;
    }

    /** For a URL read from daemon.json whose process is gone: say so, the file is stale. */
    private String staleDaemonFile() {
        long pid = target.daemonFilePid();
        if (pid <= 0) {
            return "";
        }
        boolean alive = ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false);
        return alive ? " (daemon.json names pid " + pid + ", which is running)" : " (daemon.json names pid " + pid + ", which is not running: a stale file of a daemon that crashed)";
    }

    private static JsonNode parse(String text) {
        if (text.isBlank()) {
            return null;
        }
        try {
            JsonNode node = Json.mapper().readTree(text);
            return node != null && node.isContainerNode() ? node : null;
        } catch (JsonProcessingException e) {
            return null;
        }
    }

    private static String textOrNull(JsonNode node) {
        return node == null || node.isNull() ? null : node.asText();
    }

    private static String quote(String text) {
        String s = ErrorHandler.oneLine(text);
        return "'" + (s.length() > QUOTE ? s.substring(0, QUOTE) + "..." : s) + "'";
    }

    private static String describe(IOException e) {
        String m = e.getMessage();
        return m == null || m.isBlank() ? e.getClass().getSimpleName() : m;
    }
}
