package io.ports.server.daemon;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeType;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.ports.core.PortExhaustedException;
import io.ports.core.PortUnavailableException;
import io.ports.core.PortsException;
import io.ports.core.Protocol;
import io.ports.core.ServiceCatalog;
import io.ports.core.ServiceType;
import io.ports.core.registry.Allocation;
import io.ports.core.registry.AllocationRequest;
import io.ports.core.registry.NoSuchAllocationException;
import io.ports.core.registry.PortConflictException;
import io.ports.core.registry.Registry;
import io.ports.core.registry.RegistryStoreException;
import io.ports.health.AppliedAction;
import io.ports.health.Finding;
import io.ports.health.Health;
import io.ports.health.HealthMonitor;
import io.ports.health.ProcessInfo;
import io.ports.health.RangeHealth;
import io.ports.health.Reconciliation;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.function.Supplier;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * The REST API over the registry: every input validated before anything changes, every failure mapped
 * to its status and error code. Lookups run on the event loop (they read memory); allocation, release,
 * heartbeat, cleanup and reconcile write to the store or read {@code /proc}, so they run on the workers.
 */
final class Api {
    private static final Logger log = LoggerFactory.getLogger(Api.class);

    static final Pattern SERVICE_NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._:/-]{0,127}");
    static final Pattern ALLOCATION_ID = Pattern.compile("[A-Za-z0-9][A-Za-z0-9-]{0,63}");
    static final Pattern HOST = Pattern.compile("[A-Za-z0-9][A-Za-z0-9.:_-]{0,252}");
    private static final Set<String> ALLOCATE_FIELDS = Set.of("service_name", "service_type", "preferred_port", "required", "protocol",
            "process_id", "host", "metadata");

    private final Registry registry;
    private final HealthMonitor monitor;
    private final Executor workers;
    private final Events events;

    Api(Registry registry, HealthMonitor monitor, Executor workers, Events events) {
        this.registry = registry;
        this.monitor = monitor;
        this.workers = workers;
        this.events = events;
    }

    void routes(Router r) {
        r.add(io.netty.handler.codec.http.HttpMethod.POST, "/ports/allocate", true, this::allocate)
         .add(io.netty.handler.codec.http.HttpMethod.POST, "/ports/release", true, this::release)
         .add(io.netty.handler.codec.http.HttpMethod.POST, "/ports/heartbeat/{allocation_id}", true, this::heartbeat)
         .add(io.netty.handler.codec.http.HttpMethod.POST, "/ports/cleanup", true, this::cleanup)
         .add(io.netty.handler.codec.http.HttpMethod.POST, "/ports/reconcile", true, req -> reconcile(req, true))
         .add(io.netty.handler.codec.http.HttpMethod.GET, "/ports/reconcile", false, req -> reconcile(req, false))
         .add(io.netty.handler.codec.http.HttpMethod.GET, "/ports/directory", false, this::directory)
         .add(io.netty.handler.codec.http.HttpMethod.GET, "/ports/service/{name}", false, this::service)
         .add(io.netty.handler.codec.http.HttpMethod.GET, "/ports/port/{port}", false, this::port)
         .add(io.netty.handler.codec.http.HttpMethod.GET, "/ports/type/{type}", false, this::type)
         .add(io.netty.handler.codec.http.HttpMethod.GET, "/ports/overview", false, this::overview)
         .add(io.netty.handler.codec.http.HttpMethod.GET, "/ports/stats", false, this::stats)
         .add(io.netty.handler.codec.http.HttpMethod.GET, "/ports/health", false, this::health)
         .add(io.netty.handler.codec.http.HttpMethod.GET, "/ports/ranges", false, this::ranges);
    }

    // ------------------------------------------------------------------------------------------ mutations

    private CompletableFuture<Response> allocate(Router.Request req) {
        JsonNode body = object(req.body());
        for (Iterator<String> it = body.fieldNames(); it.hasNext(); ) {
            String f = it.next();
            if (!ALLOCATE_FIELDS.contains(f)) {
                throw ApiException.badRequest(f, "unknown field '" + f + "': expected service_name, service_type, and optionally "
                        + "preferred_port, required, protocol, process_id, host, metadata");
            }
        }
        String name = requiredString(body, "service_name");
        checkServiceName(name, "service_name");
        String typeName = requiredString(body, "service_type");
        ServiceType type = requireType(typeName, "service_type");
        int preferred = optionalInt(body, "preferred_port", 0, 65535, 0, "a port 1-65535 (0 or absent: the type's default, else its range)");
        boolean required = optionalBoolean(body, "required", false);
        if (required && preferred == 0 && !type.hasDefaultPort()) {
            throw ApiException.badRequest("preferred_port", "required is true but there is no preferred_port, and type " + type.name()
                    + " has no default port: give preferred_port (1-65535), or drop required");
        }
        Protocol protocol = Protocol.TCP;
        JsonNode p = body.get("protocol");
        if (p != null && !p.isNull()) {
            String ps = p.isTextual() ? p.asText() : "";
            if (ps.equalsIgnoreCase("tcp")) {
                protocol = Protocol.TCP;
            } else if (ps.equalsIgnoreCase("udp")) {
                protocol = Protocol.UDP;
            } else {
                throw ApiException.badRequest("protocol", "protocol " + p + " is invalid: expected \"TCP\" or \"UDP\"");
            }
        }
        long pid = optionalLong(body, "process_id", 0, 4_194_304L, "a process id 1-4194304 of this host, or 0 / absent when unknown");
        String host = null;
        JsonNode h = body.get("host");
        if (h != null && !h.isNull()) {
            if (!h.isTextual() || !HOST.matcher(h.asText()).matches()) {
                throw ApiException.badRequest("host", "host " + h + " is invalid: expected a host name or address of 1-253 letters, digits, '.', ':', '_' or '-'");
            }
            host = h.asText();
        }
        Map<String, String> metadata = metadata(body.get("metadata"));
        AllocationRequest ar;
        try {
            ar = AllocationRequest.builder(name, type.name()).preferredPort(preferred).required(required).protocol(protocol)
                    .pid(pid).host(host).metadata(metadata).build();
        } catch (IllegalArgumentException e) {
            throw ApiException.badRequest(null, e.getMessage());
        }
        String target = "service=" + name + " type=" + type.name() + (preferred == 0 ? "" : " preferred_port=" + preferred)
                + (required ? " required" : "");
        return onWorkers(() -> {
            Allocation a;
            try {
                a = registry.allocate(ar);
            } catch (PortExhaustedException e) {
                throw new ApiException(HttpResponseStatus.SERVICE_UNAVAILABLE, "ports_exhausted", e.getMessage(), "service_type");
            } catch (PortUnavailableException e) {
                throw new ApiException(HttpResponseStatus.CONFLICT, "port_unavailable", e.getMessage(), "preferred_port");
            } catch (PortConflictException e) {
                throw new ApiException(HttpResponseStatus.CONFLICT, "port_conflict", e.getMessage(), "preferred_port");
            } catch (IllegalArgumentException e) {
                throw ApiException.badRequest("service_type", e.getMessage());
            }
            events.publish("allocate", a);
            String msg = "allocated port " + a.port() + "/" + a.protocol() + " to '" + a.serviceName() + "' (" + a.serviceType() + ")"
                    + (preferred != 0 && a.port() != preferred ? "; the preferred port " + preferred + " was taken" : "")
                    + "; send heartbeats to POST /ports/heartbeat/" + a.id() + " within " + a.heartbeatTimeoutMillis() / 1000 + " s";
            return Response.json(HttpResponseStatus.CREATED, result(a, msg))
                    .withAudit(target + " -> port=" + a.port() + " allocation_id=" + a.id());
        }, target);
    }

    private CompletableFuture<Response> release(Router.Request req) {
        JsonNode body = object(req.body());
        for (Iterator<String> it = body.fieldNames(); it.hasNext(); ) {
            String f = it.next();
            if (!f.equals("allocation_id")) {
                throw ApiException.badRequest(f, "unknown field '" + f + "': expected only allocation_id");
            }
        }
        String id = requiredString(body, "allocation_id");
        checkId(id);
        return onWorkers(() -> {
            Allocation before = find(id);
            Allocation a = registry.release(id);
            boolean changed = before.status().isLive();
            if (changed) {
                events.publish("release", a);
            }
            String msg = changed ? "released port " + a.port() + " of '" + a.serviceName() + "'"
                    : "allocation " + id + " of '" + a.serviceName() + "' was already " + a.status() + ": nothing changed";
            return Response.ok(result(a, msg)).withAudit("allocation_id=" + id + " port=" + a.port() + (changed ? " released" : " unchanged"));
        }, "allocation_id=" + id);
    }

    private CompletableFuture<Response> heartbeat(Router.Request req) {
        String id = req.param("allocation_id");
        checkId(id);
        if (req.body().length > 0) {
            object(req.body()); // tolerated when it is JSON (some clients send {}), refused when it is not
        }
        return onWorkers(() -> {
            Allocation before = find(id);
            Allocation a;
            try {
                a = registry.heartbeat(id);
            } catch (IllegalStateException e) {
                throw new ApiException(HttpResponseStatus.CONFLICT, "allocation_ended", e.getMessage(), "allocation_id");
            }
            if (before.status() != a.status()) {
                events.publish("heartbeat", a);
            }
            return Response.ok(result(a, "heartbeat recorded for '" + a.serviceName() + "' on port " + a.port() + ": " + a.status()))
                    .withAudit("allocation_id=" + id + " port=" + a.port() + " " + a.status());
        }, "allocation_id=" + id);
    }

    private CompletableFuture<Response> cleanup(Router.Request req) {
        return onWorkers(() -> {
            List<Allocation> expired = registry.cleanup();
            if (!expired.isEmpty()) {
                events.publish("cleanup", Map.of("expired", expired.size()));
            }
            Map<String, Object> body = new LinkedHashMap<>();
            body.put("success", true);
            body.put("expired", expired);
            body.put("count", expired.size());
            body.put("message", expired.isEmpty() ? "nothing to expire" : "expired " + expired.size() + " allocation(s): "
                    + expired.stream().map(a -> a.serviceName() + " on port " + a.port()).collect(Collectors.joining(", ")));
            return Response.ok(body).withAudit("expired=" + expired.size());
        }, "cleanup");
    }

    private CompletableFuture<Response> reconcile(Router.Request req, boolean apply) {
        return onWorkers(() -> {
            Reconciliation r = monitor.reconciler().reconcile(apply);
            if (apply && !r.done().isEmpty()) {
                events.publish("reconcile", Map.of("applied", r.done().size()));
            }
            Map<String, Object> body = new LinkedHashMap<>();
            body.put("success", true);
            body.put("applied", apply);
            body.put("checked_at", r.checkedAt());
            body.put("sockets_visible", r.socketsVisible());
            body.put("findings", r.findings().stream().map(Api::finding).toList());
            body.put("actions", r.actions().stream().map(Api::action).toList());
            body.put("unresolved", r.unresolved().size());
            body.put("skipped_remote", r.skippedRemote());
            body.put("message", r.findings().size() + " finding(s)" + (apply ? ", " + r.done().size() + " action(s) applied" : ", nothing changed"));
            Response resp = Response.ok(body);
            return apply ? resp.withAudit("findings=" + r.findings().size() + " applied=" + r.done().size()) : resp;
        }, apply ? "reconcile --apply" : "reconcile");
    }

    // ------------------------------------------------------------------------------------------ lookups

    /** The last directory answer: records are immutable values, so an equal list has the same JSON. */
    private record CachedDirectory(List<Allocation> records, byte[] json) {
    }

    private volatile CachedDirectory directoryCache = new CachedDirectory(List.of(), null);

    private CompletableFuture<Response> directory(Router.Request req) {
        List<Allocation> all = registry.directory();
        CachedDirectory c = directoryCache;
        if (c.json() == null || !c.records().equals(all)) {
            Map<String, Object> body = new LinkedHashMap<>();
            body.put("success", true);
            body.put("allocations", all);
            body.put("count", all.size());
            c = new CachedDirectory(all, JsonCodec.write(body));
            directoryCache = c;
        }
        return done(new Response(HttpResponseStatus.OK, Response.JSON, c.json(), Map.of(), null));
    }

    private CompletableFuture<Response> service(Router.Request req) {
        String name = req.param("name");
        checkServiceName(name, "name");
        List<Allocation> records = registry.byService(name);
        if (records.isEmpty()) {
            throw ApiException.notFound("unknown_service", "no allocation of service '" + name + "': it was never allocated here, "
                    + "or its records were purged after release or expiry (see GET /ports/directory)", "name");
        }
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("success", true);
        body.put("service_name", name);
        body.put("allocations", records);
        body.put("count", records.size());
        return done(Response.ok(body));
    }

    private CompletableFuture<Response> port(Router.Request req) {
        String text = req.param("port");
        int port = parsePort(text, "port");
        List<Allocation> records = registry.byPort(port);
        if (records.isEmpty()) {
            throw ApiException.notFound("port_not_allocated", "no live allocation on port " + port
                    + " (see GET /ports/directory; whether another program uses it: 'ports check " + port + "')", "port");
        }
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("success", true);
        body.put("port", port);
        body.put("allocation", records.get(0));
        body.put("allocations", records);
        return done(Response.ok(body));
    }

    private CompletableFuture<Response> type(Router.Request req) {
        ServiceType t = requireType(req.param("type"), "type");
        List<Allocation> records = registry.byType(t.name());
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("success", true);
        body.put("service_type", t.name());
        body.put("range", t.range().toString());
        body.put("default_port", t.hasDefaultPort() ? t.defaultPort() : null);
        body.put("allocations", records);
        body.put("count", records.size());
        return done(Response.ok(body));
    }

    private CompletableFuture<Response> overview(Router.Request req) {
        Registry.Overview o = registry.overview();
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("success", true);
        body.put("allocations", o.allocations());
        body.put("port_to_service", o.portToService());
        body.put("type_to_services", o.typeToServices());
        body.put("stats", o.stats());
        body.put("ranges", rangesBody());
        return done(Response.ok(body));
    }

    private CompletableFuture<Response> stats(Router.Request req) {
        Registry.Stats s = registry.stats();
        var st = registry.statistics();
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("success", true);
        body.put("total", s.total());
        body.put("active", s.active());
        body.put("reserved", s.reserved());
        body.put("expired", s.expired());
        body.put("released", s.released());
        body.put("per_type", s.perType());
        Map<String, Object> since = new LinkedHashMap<>();
        since.put("allocations", st.allocations());
        since.put("failures", st.failuresByReason());
        since.put("releases", st.releases());
        since.put("heartbeats", st.heartbeats());
        since.put("expiries", st.expiries());
        body.put("since_start", since);
        return done(Response.ok(body));
    }

    private CompletableFuture<Response> health(Router.Request req) {
        var current = monitor.current();
        CompletableFuture<Health> h = current.isPresent() ? CompletableFuture.completedFuture(current.get()) : monitor.checkNow();
        return h.thenApply(health -> Response.ok(healthBody(health)));
    }

    private CompletableFuture<Response> ranges(Router.Request req) {
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("success", true);
        body.put("ranges", rangesBody());
        return done(Response.ok(body));
    }

    List<Map<String, Object>> rangesBody() {
        List<Map<String, Object>> out = new ArrayList<>();
        for (Registry.RangeUsage u : registry.ranges()) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("service_type", u.serviceType());
            m.put("range", u.range());
            m.put("size", u.size());
            m.put("used", u.used());
            m.put("free", u.size() - u.used());
            m.put("utilization", Math.round(u.utilization() * 10000) / 10000.0);
            m.put("default_port", u.defaultPort());
            out.add(m);
        }
        return out;
    }

    // ------------------------------------------------------------------------------------------ JSON of health

    static Map<String, Object> healthBody(Health health) {
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("success", true);
        body.put("status", health.status().name());
        body.put("reasons", health.reasons());
        body.put("checked_at", health.checkedAt());
        body.put("findings", health.findings().stream().map(Api::finding).toList());
        body.put("actions", health.actions().stream().map(Api::action).toList());
        body.put("ranges", health.ranges().stream().map(Api::rangeHealth).toList());
        return body;
    }

    static Map<String, Object> finding(Finding f) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("kind", f.kind().name());
        m.put("port", f.port());
        m.put("protocol", f.protocol().name());
        m.put("allocation_id", f.recordId().orElse(null));
        m.put("service_name", f.record().map(Allocation::serviceName).orElse(null));
        m.put("holder", f.holder().map(Api::process).orElse(null));
        m.put("observed", f.observed().stream().map(Api::process).toList());
        m.put("action", f.action().name());
        m.put("automatic", f.action().isAutomatic());
        m.put("problem", f.kind().isProblem());
        m.put("detail", f.detail());
        return m;
    }

    static Map<String, Object> process(ProcessInfo p) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("pid", p.pid());
        m.put("command", p.command());
        return m;
    }

    static Map<String, Object> action(AppliedAction a) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("action", a.action().name());
        m.put("result", a.result().name());
        m.put("port", a.finding().port());
        m.put("allocation_id", a.finding().recordId().orElse(null));
        m.put("detail", a.detail());
        return m;
    }

    static Map<String, Object> rangeHealth(RangeHealth r) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("range", r.range());
        m.put("types", r.types());
        m.put("size", r.size());
        m.put("used", r.used());
        m.put("utilization", Math.round(r.utilization() * 10000) / 10000.0);
        m.put("level", r.level().name());
        m.put("allocations_per_minute", r.allocationsPerMinute().isPresent() ? r.allocationsPerMinute().getAsDouble() : null);
        m.put("time_to_exhaustion_seconds", r.timeToExhaustion().map(d -> d.toSeconds()).orElse(null));
        return m;
    }

    // ------------------------------------------------------------------------------------------ helpers

    private static Map<String, Object> result(Allocation a, String message) {
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("success", true);
        body.put("allocation", a);
        body.put("message", message);
        return body;
    }

    private Allocation find(String id) {
        return registry.find(id).orElseThrow(() -> ApiException.notFound("unknown_allocation", new NoSuchAllocationException(id).getMessage(),
                "allocation_id"));
    }

    private static CompletableFuture<Response> done(Response r) {
        return CompletableFuture.completedFuture(r);
    }

    /** Runs a registry operation on the workers; failures other than ApiException become 404/500 with a safe message. */
    private CompletableFuture<Response> onWorkers(Supplier<Response> op, String what) {
        try {
            return CompletableFuture.supplyAsync(() -> {
                try {
                    return op.get();
                } catch (ApiException e) {
                    throw e;
                } catch (NoSuchAllocationException e) {
                    throw ApiException.notFound("unknown_allocation", e.getMessage(), "allocation_id");
                } catch (RegistryStoreException e) {
                    log.error("store failure during {}", what, e);
                    throw new ApiException(HttpResponseStatus.INTERNAL_SERVER_ERROR, "store_failed", e.getMessage(), null);
                } catch (PortsException e) {
                    throw new ApiException(HttpResponseStatus.CONFLICT, "conflict", e.getMessage(), null);
                } catch (IllegalStateException e) {
                    throw new ApiException(HttpResponseStatus.SERVICE_UNAVAILABLE, "unavailable", e.getMessage(), null);
                }
            }, workers);
        } catch (RejectedExecutionException e) {
            throw new ApiException(HttpResponseStatus.SERVICE_UNAVAILABLE, "busy",
                    "the daemon has too many registry operations queued: retry shortly", null, Map.of("Retry-After", "1"));
        }
    }

    static Throwable unwrap(Throwable t) {
        while (t instanceof CompletionException && t.getCause() != null) {
            t = t.getCause();
        }
        return t;
    }

    static JsonNode object(byte[] body) {
        if (body.length == 0) {
            throw ApiException.badRequest(null, "the request body is empty: expected a JSON object, for example "
                    + "{\"service_name\":\"orders-db\",\"service_type\":\"DATABASE\"}");
        }
        JsonNode n;
        try {
            n = JsonCodec.MAPPER.readTree(body);
        } catch (JacksonException e) {
            throw new ApiException(HttpResponseStatus.BAD_REQUEST, "invalid_json", "the request body is not valid JSON: "
                    + e.getOriginalMessage().replaceAll("\\s+", " ") + " (line " + (e.getLocation() == null ? "?" : e.getLocation().getLineNr())
                    + "): expected a JSON object", null);
        } catch (java.io.IOException e) {
            throw new ApiException(HttpResponseStatus.BAD_REQUEST, "invalid_json", "the request body is not valid JSON: expected a JSON object", null);
        }
        if (n == null || !n.isObject()) {
            throw new ApiException(HttpResponseStatus.BAD_REQUEST, "invalid_json", "the request body is JSON but not an object ("
                    + (n == null ? "nothing" : n.getNodeType().name().toLowerCase(java.util.Locale.ROOT)) + "): expected {...}", null);
        }
        return n;
    }

    private static String requiredString(JsonNode body, String field) {
        JsonNode n = body.get(field);
        if (n == null || n.isNull()) {
            throw ApiException.badRequest(field, field + " is missing: it is required");
        }
        if (!n.isTextual()) {
            throw ApiException.badRequest(field, field + " must be a string, got " + kind(n) + " " + clip(n.toString()));
        }
        return n.asText();
    }

    private static int optionalInt(JsonNode body, String field, int min, int max, int dflt, String valid) {
        JsonNode n = body.get(field);
        if (n == null || n.isNull()) {
            return dflt;
        }
        if (!n.isIntegralNumber() || !n.canConvertToInt() || n.asInt() < min || n.asInt() > max) {
            throw ApiException.badRequest(field, field + " " + clip(n.toString()) + " is invalid: expected " + valid);
        }
        return n.asInt();
    }

    private static long optionalLong(JsonNode body, String field, long min, long max, String valid) {
        JsonNode n = body.get(field);
        if (n == null || n.isNull()) {
            return 0;
        }
        if (!n.isIntegralNumber() || !n.canConvertToLong() || n.asLong() < min || n.asLong() > max) {
            throw ApiException.badRequest(field, field + " " + clip(n.toString()) + " is invalid: expected " + valid);
        }
        return n.asLong();
    }

    private static boolean optionalBoolean(JsonNode body, String field, boolean dflt) {
        JsonNode n = body.get(field);
        if (n == null || n.isNull()) {
            return dflt;
        }
        if (!n.isBoolean()) {
            throw ApiException.badRequest(field, field + " must be true or false, got " + kind(n) + " " + clip(n.toString()));
        }
        return n.asBoolean();
    }

    private static Map<String, String> metadata(JsonNode n) {
        if (n == null || n.isNull()) {
            return Map.of();
        }
        if (!n.isObject()) {
            throw ApiException.badRequest("metadata", "metadata must be an object of strings, got " + kind(n));
        }
        if (n.size() > 64) {
            throw ApiException.badRequest("metadata", "metadata has " + n.size() + " entries: at most 64 are allowed");
        }
        Map<String, String> m = new LinkedHashMap<>();
        for (Map.Entry<String, JsonNode> e : n.properties()) {
            if (!e.getValue().isTextual()) {
                throw ApiException.badRequest("metadata", "metadata entry '" + clip(e.getKey()) + "' must be a string, got " + kind(e.getValue()));
            }
            if (e.getKey().isEmpty() || e.getKey().length() > 256 || e.getValue().asText().length() > 256) {
                throw ApiException.badRequest("metadata", "metadata entry '" + clip(e.getKey()) + "': keys must be 1-256 characters and values at most 256");
            }
            m.put(e.getKey(), e.getValue().asText());
        }
        return m;
    }

    static void checkServiceName(String name, String field) {
        if (name == null || !SERVICE_NAME.matcher(name).matches()) {
            throw ApiException.badRequest(field, field + " '" + clip(name) + "' is invalid: expected 1-128 characters of letters, digits, "
                    + "'.', '_', '-', ':' or '/', starting with a letter or digit");
        }
    }

    static void checkId(String id) {
        if (id == null || !ALLOCATION_ID.matcher(id).matches()) {
            throw ApiException.badRequest("allocation_id", "allocation_id '" + clip(id) + "' is invalid: expected the id an allocation "
                    + "returned (1-64 letters, digits and '-', for example 3f2b6c1e-0d4a-4e8f-9b1a-2c3d4e5f6a7b)");
        }
    }

    static int parsePort(String text, String field) {
        if (text == null || !text.matches("[0-9]{1,5}") || Integer.parseInt(text) < 1 || Integer.parseInt(text) > 65535) {
            throw ApiException.badRequest(field, field + " '" + clip(text) + "' is invalid: expected a port number 1-65535");
        }
        return Integer.parseInt(text);
    }

    private ServiceType requireType(String name, String field) {
        ServiceCatalog c = registry.catalog();
        if (name == null || name.isEmpty() || name.length() > 64) {
            throw ApiException.badRequest(field, field + " '" + clip(name) + "' is invalid: expected one of " + typeNames(c));
        }
        return c.find(name).orElseThrow(() -> ApiException.badRequest(field, "unknown " + field + " '" + clip(name)
                + "': expected one of " + typeNames(c)));
    }

    static String typeNames(ServiceCatalog c) {
        return c.types().stream().map(ServiceType::name).collect(Collectors.joining(", "));
    }

    private static String kind(JsonNode n) {
        JsonNodeType t = n.getNodeType();
        return t == JsonNodeType.NUMBER ? "a number" : t == JsonNodeType.BOOLEAN ? "a boolean" : t == JsonNodeType.ARRAY ? "an array"
                : t == JsonNodeType.OBJECT ? "an object" : t == JsonNodeType.STRING ? "a string" : t.name().toLowerCase(java.util.Locale.ROOT);
    }

    /** Echoed input, shortened and stripped of control characters, so an error never carries a large or odd payload back. */
    static String clip(String s) {
        if (s == null) {
            return "null";
        }
        String t = s.replaceAll("\\p{Cntrl}", "?");
        return t.length() > 80 ? t.substring(0, 77) + "..." : t;
    }
}
