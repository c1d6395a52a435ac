package io.ports.server.daemon;

import io.netty.handler.codec.http.HttpResponseStatus;
import io.ports.core.PortRange;
import io.ports.core.ServiceType;
import io.ports.core.registry.Allocation;
import io.ports.core.registry.AllocationStatus;
import io.ports.core.registry.Registry;
import io.ports.health.Finding;
import io.ports.health.Health;
import io.ports.health.HealthMonitor;
import io.ports.health.ProcessInfo;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * The dashboard: {@code GET /} serves one static page (inline CSS and JS, nothing from elsewhere) under a
 * Content-Security-Policy that allows exactly its own inline script and style (by hash) and requests to
 * this daemon; {@code GET /ports/map} is the state it draws: every managed range with the state of each
 * port that is not free, the services with their heartbeat age, the health findings, and the pool
 * utilization history sampled here every {@link DaemonConfig#historyInterval()}.
 *
 * <p>Port states: {@code reserved} and {@code active} (live records), {@code expired} (the last record on
 * the port expired within the retention and nobody holds it), {@code stranger} (a process listens there
 * without a record, or on a recorded port that is not its own: the health round's SQUATTER and STOLEN
 * findings), and {@code free} (everything else, not listed).
 */
final class Dashboard {
    private static final String PAGE = "io/ports/server/dashboard/index.html";

    private final Registry registry;
    private final HealthMonitor monitor;
    private final Clock clock;
    private final int historySize;
    private final byte[] page;
    private final String csp;
    private final ArrayDeque<Map<String, Object>> history = new ArrayDeque<>();

    Dashboard(Registry registry, HealthMonitor monitor, Clock clock, int historySize) {
        this.registry = registry;
        this.monitor = monitor;
        this.clock = clock;
        this.historySize = historySize;
        String html = load();
        this.page = html.getBytes(StandardCharsets.UTF_8);
        this.csp = "default-src 'none'; script-src " + hashes(html, "script") + "; style-src " + hashes(html, "style")
                + "; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";
    }

    private static String load() {
        try (InputStream in = Dashboard.class.getClassLoader().getResourceAsStream(PAGE)) {
            if (in == null) {
                throw new IllegalStateException("the dashboard page " + PAGE + " is missing from the class path: the build is broken");
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new IllegalStateException("cannot read the dashboard page " + PAGE + ": " + e, e);
        }
    }

    /** The CSP sources of every inline block of a tag: {@code 'sha256-...'}. */
    static String hashes(String html, String tag) {
        Matcher m = Pattern.compile("<" + tag + ">(.*?)</" + tag + ">", Pattern.DOTALL).matcher(html);
        List<String> out = new ArrayList<>();
        while (m.find()) {
            try {
                byte[] d = MessageDigest.getInstance("SHA-256").digest(m.group(1).getBytes(StandardCharsets.UTF_8));
                out.add("'sha256-" + Base64.getEncoder().encodeToString(d) + "'");
            } catch (NoSuchAlgorithmException e) {
                throw new IllegalStateException(e);
            }
        }
        return out.isEmpty() ? "'none'" : String.join(" ", out);
    }

    String csp() {
        return csp;
    }

    CompletableFuture<Response> page(Router.Request req) {
        return CompletableFuture.completedFuture(new Response(HttpResponseStatus.OK, "text/html; charset=utf-8", page,
                Map.of("Content-Security-Policy", csp), null));
    }

    CompletableFuture<Response> map(Router.Request req) {
        return CompletableFuture.completedFuture(Response.ok(snapshot()));
    }

    /** Takes one utilization sample (on a loop: it reads memory only). */
    void sample() {
        Map<String, Object> s = new LinkedHashMap<>();
        s.put("at", JsonCodec.format(clock.instant()));
        Map<String, Integer> used = new LinkedHashMap<>();
        var ranges = ranges().keySet();
        for (PortRange r : ranges) {
            used.put(r.toString(), 0);
        }
        for (Allocation a : registry.live()) {
            for (PortRange r : ranges) {
                if (r.contains(a.port())) {
                    used.merge(r.toString(), 1, Integer::sum);
                }
            }
        }
        s.put("used", used);
        synchronized (history) {
            history.addLast(s);
            while (history.size() > historySize) {
                history.removeFirst();
            }
        }
    }

    /** The distinct ranges of the catalog, by start, with the types that allocate from each. */
    private Map<PortRange, List<String>> ranges() {
        Map<PortRange, List<String>> m = new TreeMap<>(Comparator.comparingInt(PortRange::start).thenComparingInt(PortRange::end));
        for (ServiceType t : registry.catalog().types()) {
            m.computeIfAbsent(t.range(), r -> new ArrayList<>()).add(t.name());
        }
        return m;
    }

    private record Cell(int port, String state, String service, String type, Long pid, String id, String detail) {
        Map<String, Object> json() {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("port", port);
            m.put("state", state);
            m.put("service_name", service);
            m.put("service_type", type);
            m.put("pid", pid);
            m.put("allocation_id", id);
            m.put("detail", detail);
            return m;
        }
    }

    Map<String, Object> snapshot() {
        Instant now = clock.instant();
        Map<Integer, Cell> cells = new HashMap<>();
        List<Allocation> all = registry.directory();
        for (Allocation a : all) {
            if (a.status() == AllocationStatus.EXPIRED && !cells.containsKey(a.port())) {
                cells.put(a.port(), new Cell(a.port(), "expired", a.serviceName(), a.serviceType(), a.pid() > 0 ? a.pid() : null, a.id(),
                        "expired; free again"));
            }
        }
        for (Allocation a : all) {
            if (a.status().isLive()) {
                cells.put(a.port(), new Cell(a.port(), a.status() == AllocationStatus.ACTIVE ? "active" : "reserved", a.serviceName(),
                        a.serviceType(), a.pid() > 0 ? a.pid() : null, a.id(), a.protocol() + ", " + a.host()));
            }
        }
        Health health = monitor.current().orElse(null);
        if (health != null) {
            for (Finding f : health.findings()) {
                if (f.kind() == Finding.Kind.SQUATTER || f.kind() == Finding.Kind.STOLEN) {
                    ProcessInfo p = f.observed().isEmpty() ? null : f.observed().get(0);
                    String who = p == null ? "a process not visible to the daemon" : p.toString();
                    cells.put(f.port(), new Cell(f.port(), "stranger", f.record().map(Allocation::serviceName).orElse(null),
                            f.record().map(Allocation::serviceType).orElse(null), p == null ? null : p.pid(), f.recordId().orElse(null),
                            (f.kind() == Finding.Kind.STOLEN ? "recorded, but served by " : "no record; held by ") + who));
                }
            }
        }
        List<Map<String, Object>> ranges = new ArrayList<>();
        Map<String, Integer> totals = new LinkedHashMap<>();
        for (String s : List.of("free", "reserved", "active", "expired", "stranger")) {
            totals.put(s, 0);
        }
        for (Map.Entry<PortRange, List<String>> e : ranges().entrySet()) {
            PortRange r = e.getKey();
            List<Cell> in = cells.values().stream().filter(c -> r.contains(c.port())).sorted(Comparator.comparingInt(Cell::port)).toList();
            Map<String, Integer> counts = new LinkedHashMap<>();
            for (String s : List.of("reserved", "active", "expired", "stranger")) {
                counts.put(s, (int) in.stream().filter(c -> c.state().equals(s)).count());
            }
            counts.put("free", r.size() - in.size() + counts.get("expired"));
            counts.forEach((k, v) -> totals.merge(k, v, Integer::sum));
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("range", r.toString());
            m.put("start", r.start());
            m.put("end", r.end());
            m.put("size", r.size());
            m.put("types", e.getValue());
            m.put("counts", counts);
            m.put("cells", in.stream().map(Cell::json).toList());
            ranges.add(m);
        }
        List<Map<String, Object>> services = new ArrayList<>();
        for (Allocation a : all) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("service_name", a.serviceName());
            m.put("service_type", a.serviceType());
            m.put("port", a.port());
            m.put("protocol", a.protocol().name());
            m.put("status", a.status().name());
            m.put("pid", a.pid() > 0 ? a.pid() : null);
            m.put("host", a.host());
            m.put("allocation_id", a.id());
            m.put("last_heartbeat", a.lastHeartbeat());
            m.put("heartbeat_age_ms", Math.max(0, Duration.between(a.lastHeartbeat(), now).toMillis()));
            m.put("heartbeat_timeout_ms", a.heartbeatTimeoutMillis());
            services.add(m);
        }
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("success", true);
        body.put("generated_at", now);
        body.put("host", registry.host());
        body.put("totals", totals);
        body.put("ranges", ranges);
        body.put("services", services);
        if (health != null) {
            Map<String, Object> h = Api.healthBody(health);
            h.remove("success");
            body.put("health", h);
        } else {
            body.put("health", null);
        }
        synchronized (history) {
            body.put("history", List.copyOf(history));
        }
        body.put("history_ranges", ranges().entrySet().stream().collect(Collectors.toMap(e -> e.getKey().toString(),
                e -> e.getKey().size(), (a, b) -> a, LinkedHashMap::new)));
        return body;
    }
}
