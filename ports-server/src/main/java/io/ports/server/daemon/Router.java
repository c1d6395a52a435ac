package io.ports.server.daemon;

import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.QueryStringDecoder;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.stream.Collectors;

/**
 * Routes by method and path template ({@code /ports/service/{name}}: a braced segment matches one
 * non-empty path segment, percent-decoded). A path that no template matches is a 404; a path that
 * matches under another method a 405 with {@code Allow}.
 */
final class Router {
    /** What a route does; runs on the channel's event loop and must not block (hand disk work to the workers). */
    interface Endpoint {
        CompletableFuture<Response> handle(Request request);
    }

    /** One route: its template is also the {@code route} tag of the request meters. */
    record Route(HttpMethod method, String template, boolean mutating, Endpoint endpoint) {
        String[] segments() {
            return template.substring(1).split("/", -1);
        }
    }

    /** A routed request. */
    record Request(HttpMethod method, String path, Map<String, String> params, Map<String, List<String>> query, byte[] body,
                   String remote, Tokens.Kind token) {
        String param(String name) {
            return params.get(name);
        }
    }

    /** A match: the route and the path parameters. */
    record Match(Route route, Map<String, String> params) {
    }

    private final List<Route> routes = new ArrayList<>();

    Router add(HttpMethod method, String template, boolean mutating, Endpoint endpoint) {
        routes.add(new Route(method, template, mutating, endpoint));
        return this;
    }

    List<Route> routes() {
        return List.copyOf(routes);
    }

    /**
     * @throws ApiException 404 (no such path) or 405 (path known, method not)
     */
    Match match(HttpMethod method, String path) {
        String[] parts = path.equals("/") ? new String[] {""} : path.substring(1).split("/", -1);
        Set<String> allowed = new LinkedHashSet<>();
        for (Route r : routes) {
            Map<String, String> params = matchPath(r.segments(), parts);
            if (params == null) {
                continue;
            }
            if (r.method().equals(method) || (method.equals(HttpMethod.HEAD) && r.method().equals(HttpMethod.GET))) {
                return new Match(r, params);
            }
            allowed.add(r.method().name());
        }
        if (!allowed.isEmpty()) {
            String allow = String.join(", ", allowed);
            throw new ApiException(HttpResponseStatus.METHOD_NOT_ALLOWED, "method_not_allowed",
                    method.name() + " is not allowed on " + path + ": use " + allow, null, Map.of("Allow", allow));
        }
        throw ApiException.notFound("not_found", "no endpoint " + path + ": the API is " + describe()
                + "; the dashboard is GET /", null);
    }

    private String describe() {
        return routes.stream().filter(r -> r.template().startsWith("/ports") || r.template().equals("/metrics"))
                .map(r -> r.method().name() + " " + r.template()).collect(Collectors.joining(", "));
    }

    private static Map<String, String> matchPath(String[] template, String[] parts) {
        if (template.length != parts.length) {
            return null;
        }
        Map<String, String> params = null;
        for (int i = 0; i < template.length; i++) {
            String t = template[i];
            if (t.startsWith("{") && t.endsWith("}")) {
                if (parts[i].isEmpty()) {
                    return null;
                }
                if (params == null) {
                    params = new LinkedHashMap<>();
                }
                params.put(t.substring(1, t.length() - 1), QueryStringDecoder.decodeComponent(parts[i]));
            } else if (!t.equals(parts[i])) {
                return null;
            }
        }
        return params == null ? Map.of() : params;
    }
}
