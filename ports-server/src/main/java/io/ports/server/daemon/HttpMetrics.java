package io.ports.server.daemon;

import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import io.ports.health.metrics.MeterSpec;
import io.ports.health.metrics.PortsMetrics;

import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * {@code ports.http.requests}: a timer per method, route template and status (in Prometheus
 * {@code ports_http_requests_seconds_count}, {@code _sum}, {@code _max}). The route is the template
 * ({@code /ports/service/{name}}), never the raw path, and unknown paths share {@code unmatched}: the
 * number of series stays small whatever clients send.
 */
final class HttpMetrics {
    static final MeterSpec REQUESTS = MeterSpec.of("ports.http.requests", Meter.Type.TIMER, null,
            "HTTP requests served by the registry daemon, by method, route template and status", "method", "route", "status");
    static final String UNMATCHED = "unmatched";

    private final PortsMetrics metrics;
    private final Map<String, Timer> timers = new ConcurrentHashMap<>();

    HttpMetrics(PortsMetrics metrics) {
        this.metrics = metrics;
    }

    void record(String method, String route, int status, long nanos) {
        String m = switch (method) {
            case "GET", "POST", "HEAD", "OPTIONS", "PUT", "DELETE", "PATCH" -> method;
            default -> "OTHER";
        };
        String key = m + ' ' + route + ' ' + status;
        Timer t = timers.computeIfAbsent(key, k -> metrics.timer(REQUESTS, Tags.of("method", m, "route", route,
                "status", Integer.toString(status))));
        t.record(nanos, TimeUnit.NANOSECONDS);
    }

    static String method(String name) {
        return name.toUpperCase(Locale.ROOT);
    }
}
