package io.ports.manager;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.ports.core.AllocationStrategy;
import io.ports.core.EventLoops;
import io.ports.core.PortRange;
import io.ports.core.Ports;
import io.ports.listener.ListenAddress;

import java.io.IOException;
import java.io.InputStream;
import java.io.StringReader;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Properties;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * Everything a {@link PortManager} needs, with the defaults of the design it follows (base port 5432,
 * dynamic range 6000-7000, IPv6 and Unix sockets on, NAT traversal off, firewall-friendly features on,
 * listening on {@code 0.0.0.0:5432}, {@code SO_REUSEPORT} and {@code SO_REUSEADDR} on, health checks
 * every 60 s).
 *
 * <h2>Files and environment</h2>
 * {@link #load(Path)} reads a {@code .properties} file or a {@code .yaml}/{@code .yml} file (nested
 * keys join with dots; the order of the file is kept, so its first service is the main one), then lets
 * environment variables override it: each key {@code a.b-c} is
 * {@code PORTS_A_B_C}, and {@code PORT} sets the main service's port (the first service). Unknown
 * keys, unknown {@code PORTS_*} variables and bad values are rejected at load, naming the key, the
 * value and the valid form; nothing is half-applied. The keys are listed by {@link #describeKeys()}.
 *
 * <h2>Services</h2>
 * {@code services.NAME.type} (a catalog type), {@code services.NAME.port} (preferred; 0 = the type's
 * default), {@code services.NAME.required}, {@code services.NAME.listen} (true: start a listener),
 * {@code services.NAME.host} (the address to bind; empty: every address).
 * Without any, a node gets {@code database} (DATABASE on the base port), {@code cluster} (CLUSTER),
 * {@code replication} (REPLICATION), {@code admin} (ADMIN) and {@code api} (API).
 *
 * <h2>Reachability from outside</h2>
 * {@code nat-traversal=true} maps every started service on the NAT gateway ({@code nat.gateway}, else
 * the default route's). {@code reachability.check=http://HOST:PORT} names a dial-back service outside
 * (a {@link DialBackServer}) that connects back to this node's ports and says which it reached, within
 * {@code reachability.timeout}. When it finds a service unreachable and {@code firewall-friendly} is on,
 * the service is served through a WebSocket tunnel on the first of {@code tunnel.ports} (443, 80, 8443)
 * that binds, maps and is reachable, at {@code tunnel.path}, optionally behind {@code tunnel.token}.
 * See {@link PortManager#startServices}.
 */
public record PortConfig(
        int basePort,
        PortRange dynamicRange,
        boolean ipv6,
        boolean unixSockets,
        Path unixSocketDirectory,
        boolean natTraversal,
        boolean firewallFriendly,
        List<String> bindAddresses,
        boolean reusePort,
        boolean reuseAddress,
        Duration healthCheckInterval,
        Map<String, ServiceSpec> services,
        AllocationStrategy strategy,
        String nodeId,
        Path lockDirectory,
        String registryStore,
        List<String> resolverServers,
        List<String> resolverSearch,
        Duration resolverTimeout,
        List<String> stunServers,
        EventLoops.Transport transport,
        int eventLoopThreads,
        Duration heartbeatInterval,
        Duration shutdownTimeout,
        String natGateway,
        URI reachabilityCheck,
        Duration reachabilityTimeout,
        List<Integer> tunnelPorts,
        String tunnelPath,
        String tunnelToken) {

    /**
     * One service of a node.
     *
     * @param host the address its listener binds: empty for every address ({@code [::]} with IPv6 on,
     *             else {@code 0.0.0.0}), or one such as {@code 127.0.0.1} for an admin port kept local
     */
    public record ServiceSpec(String name, String type, int port, boolean required, boolean listen, String host) {
        public ServiceSpec {
            Objects.requireNonNull(name, "service name");
            Objects.requireNonNull(type, () -> "type of service " + name);
            if (port != 0) {
                Ports.check(port, "port of service " + name);
            }
            host = host == null ? "" : host.strip();
            if (!host.isEmpty()) {
                ListenAddress.parse(host + ":" + (port == 0 ? 1 : port)); // names the bad host
            }
        }

        /** A service listening on every address. */
        public ServiceSpec(String name, String type, int port, boolean required, boolean listen) {
            this(name, type, port, required, listen, "");
        }
    }

    public PortConfig {
        Ports.check(basePort, "base-port");
        Objects.requireNonNull(dynamicRange, "dynamic-range");
        bindAddresses = List.copyOf(bindAddresses);
        bindAddresses.forEach(ListenAddress::parse);
        services = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(services));
        resolverServers = List.copyOf(resolverServers);
        resolverSearch = List.copyOf(resolverSearch);
        stunServers = List.copyOf(stunServers);
        tunnelPorts = List.copyOf(tunnelPorts);
        natGateway = natGateway == null ? "" : natGateway;
        tunnelToken = tunnelToken == null ? "" : tunnelToken;
        if (eventLoopThreads < 0) {
            throw new IllegalArgumentException("event-loops.threads " + eventLoopThreads + " is negative: expected 0 (one per processor) or more");
        }
    }

    /** A summary; the tunnel token is never printed. */
    @Override
    public String toString() {
        return "PortConfig[node-id=" + nodeId + ", services=" + services.keySet() + ", strategy=" + strategy + ", nat-traversal=" + natTraversal
                + ", firewall-friendly=" + firewallFriendly + ", reachability.check=" + (reachabilityCheck == null ? "none" : reachabilityCheck)
                + ", tunnel.ports=" + tunnelPorts + (tunnelToken.isEmpty() ? "" : ", tunnel.token=(set)") + "]";
    }

    // ------------------------------------------------------------------------------- keys

    private record Key(String name, String form, String defaultValue, Function<String, Object> parse) {
        String env() {
            return "PORTS_" + name.toUpperCase(Locale.ROOT).replace('.', '_').replace('-', '_');
        }
    }

    private static final Pattern SERVICE_KEY = Pattern.compile("services\\.([A-Za-z0-9][A-Za-z0-9_-]{0,63})\\.(type|port|required|listen|host)");
    /** Variables of this namespace that are not configuration keys (the launcher's JVM options). */
    private static final List<String> OTHER_ENV = List.of("PORTS_JAVA_OPTS");

    private static final Map<String, Key> KEYS = keys();

    private static Map<String, Key> keys() {
        List<Key> k = List.of(
                new Key("base-port", "a port 1-65535", "5432", v -> Ports.parse(v, "base-port")),
                new Key("dynamic-range", "START-END within 1-65535", "6000-7000", PortRange::parse),
                new Key("ipv6", "true or false", "true", PortConfig::bool),
                new Key("unix-sockets", "true or false", "true", PortConfig::bool),
                new Key("unix-socket-directory", "a directory path", System.getProperty("java.io.tmpdir"), Path::of),
                new Key("nat-traversal", "true or false", "false", PortConfig::bool),
                new Key("firewall-friendly", "true or false", "true", PortConfig::bool),
                new Key("bind-addresses", "comma-separated HOST:PORT, [IPv6]:PORT or unix:/path", "0.0.0.0:5432", PortConfig::addresses),
                new Key("reuse-port", "true or false", "true", PortConfig::bool),
                new Key("reuse-address", "true or false", "true", PortConfig::bool),
                new Key("health-check-interval", "a duration such as 60s, 500ms, 5m", "60s", PortConfig::duration),
                new Key("strategy", "sequential, random or hash", "hash", AllocationStrategy::parse),
                new Key("node-id", "a non-blank name", "node", PortConfig::nonBlank),
                new Key("lock-dir", "a directory path (empty: the default /tmp/ports-locks)", "", v -> v.isBlank() ? null : Path.of(v)),
                new Key("registry.store", "memory, file:/path/to/dir, or etcd://HOST:PORT,HOST:PORT[/PREFIX][?user=..] (with ports-etcd)",
                        "memory", PortConfig::store),
                new Key("resolver.servers", "comma-separated IP or IP:PORT (empty: /etc/resolv.conf)", "", PortConfig::list),
                new Key("resolver.search", "comma-separated domains", "", PortConfig::list),
                new Key("resolver.timeout", "a duration such as 2s (0: /etc/resolv.conf or 2s)", "0s", PortConfig::duration),
                new Key("stun.servers", "comma-separated HOST:PORT", "", PortConfig::list),
                new Key("transport", "auto, io_uring, epoll or nio", "auto", EventLoops.Transport::parse),
                new Key("event-loops.threads", "0 (one per processor) or a positive number", "0", v -> nonNegative(v, "event-loops.threads")),
                new Key("heartbeat-interval", "a duration such as 10s", "10s", PortConfig::duration),
                new Key("shutdown-timeout", "a duration such as 10s", "10s", PortConfig::duration),
                new Key("nat.gateway", "an IP address (empty: the default route's gateway)", "", PortConfig::ipOrEmpty),
                new Key("reachability.check", "http://HOST:PORT of a dial-back service outside (empty: none)", "", PortConfig::dialBack),
                new Key("reachability.timeout", "a duration such as 3s", "3s", PortConfig::positiveDuration),
                new Key("tunnel.ports", "comma-separated ports, tried in order", "443,80,8443", PortConfig::ports),
                new Key("tunnel.path", "a request path starting with /", "/tunnel", PortConfig::path),
                new Key("tunnel.token", "a bearer token clients must send (empty: none)", "", String::strip));
        Map<String, Key> m = new LinkedHashMap<>();
        k.forEach(key -> m.put(key.name(), key));
        return m;
    }

    /** Every key with its valid form and default, one per line: for documentation and error messages. */
    public static String describeKeys() {
        return KEYS.values().stream().map(k -> k.name() + " (" + k.env() + "): " + k.form() + "; default " + (k.defaultValue().isEmpty() ? "none" : k.defaultValue()))
                .collect(Collectors.joining("\n")) + "\nservices.NAME.type|port|required|listen|host: a catalog type, a port, true/false, true/false, an address to bind (empty: all)";
    }

    // ------------------------------------------------------------------------------- loading

    /** The defaults, with no file and no environment. */
    public static PortConfig defaults() {
        return fromMap(Map.of(), Map.of());
    }

    /** Reads {@code file} ({@code .properties}, {@code .yaml}, {@code .yml}), then the process environment. */
    public static PortConfig load(Path file) {
        return load(file, System.getenv());
    }

    public static PortConfig load(Path file, Map<String, String> environment) {
        String name = file.getFileName().toString().toLowerCase(Locale.ROOT);
        String text;
        try {
            text = Files.readString(file);
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot read the configuration file " + file + ": " + e, e);
        }
        Map<String, String> flat;
        if (name.endsWith(".yaml") || name.endsWith(".yml")) {
            flat = flattenYaml(text, file);
        } else if (name.endsWith(".properties")) {
            try {
                flat = readProperties(new StringReader(text));
            } catch (IOException | IllegalArgumentException e) {
                throw new IllegalArgumentException("the configuration file " + file + " is not a valid properties file: " + e.getMessage(), e);
            }
        } else {
            throw new IllegalArgumentException("configuration file " + file + ": expected a .properties, .yaml or .yml file");
        }
        return fromMap(flat, environment);
    }

    /** Loads from a classpath or other stream of properties; the environment overrides it. */
    public static PortConfig loadProperties(InputStream in, Map<String, String> environment) throws IOException {
        return fromMap(readProperties(new java.io.InputStreamReader(in, java.nio.charset.StandardCharsets.UTF_8)), environment);
    }

    /** Properties in file order: the first service listed is the main one. */
    private static Map<String, String> readProperties(java.io.Reader reader) throws IOException {
        Map<String, String> ordered = new LinkedHashMap<>();
        Properties p = new Properties() {
            private static final long serialVersionUID = 1L;

            @Override
            public synchronized Object put(Object key, Object value) {
                ordered.put(key.toString().strip(), value.toString().strip());
                return super.put(key, value);
            }
        };
        p.load(reader);
        return ordered;
    }

    private static Map<String, String> flattenYaml(String text, Path file) {
        JsonNode root;
        try {
            root = new ObjectMapper(new YAMLFactory()).readTree(text);
        } catch (IOException e) {
            throw new IllegalArgumentException("the configuration file " + file + " is not valid YAML: " + e.getMessage(), e);
        }
        Map<String, String> flat = new LinkedHashMap<>();
        if (root != null && !root.isNull()) {
            if (!root.isObject()) {
                throw new IllegalArgumentException("the configuration file " + file + " must hold a mapping of keys, for example 'base-port: 5432'");
            }
            flatten("", root, flat);
        }
        return flat;
    }

    private static void flatten(String prefix, JsonNode node, Map<String, String> out) {
        if (node.isObject()) {
            Iterator<Map.Entry<String, JsonNode>> it = node.fields();
            while (it.hasNext()) {
                Map.Entry<String, JsonNode> e = it.next();
                flatten(prefix.isEmpty() ? e.getKey() : prefix + "." + e.getKey(), e.getValue(), out);
            }
        } else if (node.isArray()) {
            List<String> items = new ArrayList<>();
            node.forEach(n -> items.add(n.asText()));
            out.put(prefix, String.join(",", items));
        } else {
            out.put(prefix, node.isNull() ? "" : node.asText());
        }
    }

    /**
     * Builds a configuration from flat keys (as in a properties file), with {@code environment}
     * overriding them. Every problem found is reported at once, in one exception.
     */
    public static PortConfig fromMap(Map<String, String> flat, Map<String, String> environment) {
        Map<String, String> raw = new LinkedHashMap<>();
        KEYS.values().forEach(k -> raw.put(k.name(), k.defaultValue()));
        Map<String, Map<String, String>> serviceRaw = new LinkedHashMap<>();
        List<String> problems = new ArrayList<>();
        flat.forEach((key, value) -> {
            Matcher m = SERVICE_KEY.matcher(key);
            if (KEYS.containsKey(key)) {
                raw.put(key, value);
            } else if (m.matches()) {
                serviceRaw.computeIfAbsent(m.group(1), s -> new LinkedHashMap<>()).put(m.group(2), value);
            } else {
                problems.add("unknown key '" + key + "'" + suggestion(key));
            }
        });
        Map<String, String> byEnv = new LinkedHashMap<>();
        KEYS.values().forEach(k -> byEnv.put(k.env(), k.name()));
        environment.forEach((var, value) -> {
            if (byEnv.containsKey(var)) {
                raw.put(byEnv.get(var), value);
            } else if (var.startsWith("PORTS_") && !OTHER_ENV.contains(var)) {
                problems.add("unknown environment variable " + var + "=" + value + ": the PORTS_ variables are "
                        + String.join(", ", byEnv.keySet()));
            }
        });
        Map<String, Object> v = new LinkedHashMap<>();
        raw.forEach((key, value) -> {
            try {
                v.put(key, KEYS.get(key).parse().apply(value.strip()));
            } catch (RuntimeException e) {
                problems.add("bad value for " + key + ": '" + value + "' (expected " + KEYS.get(key).form() + ")");
            }
        });
        Map<String, ServiceSpec> services = new LinkedHashMap<>();
        serviceRaw.forEach((name, fields) -> {
            try {
                services.put(name, new ServiceSpec(name, fields.getOrDefault("type", "CUSTOM"),
                        fields.containsKey("port") ? Ports.parse(fields.get("port"), "services." + name + ".port") : 0,
                        bool(fields.getOrDefault("required", "false")), bool(fields.getOrDefault("listen", "true")),
                        fields.getOrDefault("host", "")));
            } catch (RuntimeException e) {
                problems.add("bad service " + name + ": " + e.getMessage());
            }
        });
        if (!problems.isEmpty()) {
            throw new IllegalArgumentException("invalid ports configuration:\n  " + String.join("\n  ", problems)
                    + "\nValid keys:\n" + describeKeys());
        }
        int base = (Integer) v.get("base-port");
        if (services.isEmpty()) {
            services.put("database", new ServiceSpec("database", "DATABASE", base, false, true));
            services.put("cluster", new ServiceSpec("cluster", "CLUSTER", 0, false, true));
            services.put("replication", new ServiceSpec("replication", "REPLICATION", 0, false, true));
            services.put("admin", new ServiceSpec("admin", "ADMIN", 0, false, true));
            services.put("api", new ServiceSpec("api", "API", 0, false, true));
        }
        String port = environment.get("PORT");
        if (port != null && !port.isBlank()) {
            Map.Entry<String, ServiceSpec> main = services.entrySet().iterator().next();
            ServiceSpec s = main.getValue();
            int p;
            try {
                p = Ports.parse(port, "PORT");
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("invalid ports configuration:\n  bad value for the environment variable PORT: '" + port
                        + "' (expected a port 1-65535; it sets the port of the main service '" + s.name() + "')", e);
            }
            services.put(main.getKey(), new ServiceSpec(s.name(), s.type(), p, s.required(), s.listen(), s.host()));
        }
        @SuppressWarnings("unchecked")
        List<String> binds = (List<String>) v.get("bind-addresses");
        @SuppressWarnings("unchecked")
        List<String> servers = (List<String>) v.get("resolver.servers");
        @SuppressWarnings("unchecked")
        List<String> search = (List<String>) v.get("resolver.search");
        @SuppressWarnings("unchecked")
        List<String> stun = (List<String>) v.get("stun.servers");
        @SuppressWarnings("unchecked")
        List<Integer> tunnelPorts = (List<Integer>) v.get("tunnel.ports");
        return new PortConfig(base, (PortRange) v.get("dynamic-range"), (Boolean) v.get("ipv6"), (Boolean) v.get("unix-sockets"),
                (Path) v.get("unix-socket-directory"), (Boolean) v.get("nat-traversal"), (Boolean) v.get("firewall-friendly"), binds,
                (Boolean) v.get("reuse-port"), (Boolean) v.get("reuse-address"), (Duration) v.get("health-check-interval"), services,
                (AllocationStrategy) v.get("strategy"), (String) v.get("node-id"), (Path) v.get("lock-dir"), (String) v.get("registry.store"),
                servers, search, (Duration) v.get("resolver.timeout"), stun, (EventLoops.Transport) v.get("transport"),
                (Integer) v.get("event-loops.threads"), (Duration) v.get("heartbeat-interval"), (Duration) v.get("shutdown-timeout"),
                (String) v.get("nat.gateway"), (URI) v.get("reachability.check"), (Duration) v.get("reachability.timeout"), tunnelPorts,
                (String) v.get("tunnel.path"), (String) v.get("tunnel.token"));
    }

    private static String suggestion(String key) {
        String best = null;
        int bestDistance = Integer.MAX_VALUE;
        for (String k : KEYS.keySet()) {
            int d = distance(key, k);
            if (d < bestDistance) {
                bestDistance = d;
                best = k;
            }
        }
        return best != null && bestDistance <= 3 ? " (did you mean '" + best + "'?)" : "";
    }

    private static int distance(String a, String b) {
        int[] prev = new int[b.length() + 1];
        int[] cur = new int[b.length() + 1];
        for (int j = 0; j <= b.length(); j++) {
            prev[j] = j;
        }
        for (int i = 1; i <= a.length(); i++) {
            cur[0] = i;
            for (int j = 1; j <= b.length(); j++) {
                cur[j] = Math.min(Math.min(cur[j - 1], prev[j]) + 1, prev[j - 1] + (a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1));
            }
            int[] t = prev;
            prev = cur;
            cur = t;
        }
        return prev[b.length()];
    }

    // ------------------------------------------------------------------------------- value parsers

    static boolean bool(String v) {
        switch (v.strip().toLowerCase(Locale.ROOT)) {
            case "true": case "yes": case "on": return true;
            case "false": case "no": case "off": return false;
            default: throw new IllegalArgumentException("'" + v + "' is not true or false");
        }
    }

    private static final Pattern DURATION = Pattern.compile("(\\d+)(ms|s|m|h)");

    static Duration duration(String v) {
        Matcher m = DURATION.matcher(v.strip().toLowerCase(Locale.ROOT));
        if (!m.matches()) {
            throw new IllegalArgumentException("'" + v + "' is not a duration such as 500ms, 30s, 5m or 1h");
        }
        long n = Long.parseLong(m.group(1));
        switch (m.group(2)) {
            case "ms": return Duration.ofMillis(n);
            case "s": return Duration.ofSeconds(n);
            case "m": return Duration.ofMinutes(n);
            default: return Duration.ofHours(n);
        }
    }

    private static List<String> list(String v) {
        return v.isBlank() ? List.of() : Arrays.stream(v.split(",")).map(String::strip).filter(s -> !s.isEmpty()).toList();
    }

    private static List<String> addresses(String v) {
        List<String> l = list(v);
        l.forEach(ListenAddress::parse);
        return l;
    }

    private static String nonBlank(String v) {
        if (v.isBlank()) {
            throw new IllegalArgumentException("blank");
        }
        return v.strip();
    }

    private static int nonNegative(String v, String what) {
        int n = Integer.parseInt(v.strip());
        if (n < 0) {
            throw new IllegalArgumentException(what + " is negative");
        }
        return n;
    }

    private static Duration positiveDuration(String v) {
        Duration d = duration(v);
        if (d.isZero()) {
            throw new IllegalArgumentException("zero");
        }
        return d;
    }

    private static String ipOrEmpty(String v) {
        String s = v.strip();
        if (!s.isEmpty() && !io.netty.util.NetUtil.isValidIpV4Address(s) && !io.netty.util.NetUtil.isValidIpV6Address(s)) {
            throw new IllegalArgumentException("not an IP address");
        }
        return s;
    }

    private static URI dialBack(String v) {
        String s = v.strip();
        if (s.isEmpty()) {
            return null;
        }
        URI u = URI.create(s);
        if (!"http".equals(u.getScheme()) || u.getHost() == null || u.getPort() < 1) {
            throw new IllegalArgumentException("not http://HOST:PORT");
        }
        return u;
    }

    private static List<Integer> ports(String v) {
        List<Integer> ports = new ArrayList<>();
        for (String p : list(v)) {
            ports.add(Ports.parse(p, "tunnel port"));
        }
        if (ports.isEmpty()) {
            throw new IllegalArgumentException("empty");
        }
        return ports;
    }

    private static String path(String v) {
        String s = v.strip();
        if (!s.startsWith("/") || s.contains("?") || s.contains(" ")) {
            throw new IllegalArgumentException("not a path");
        }
        return s;
    }

    private static String store(String v) {
        String s = v.strip();
        if (s.equals("memory") || s.startsWith("file:") && s.length() > 5) {
            return s;
        }
        int colon = s.indexOf("://");
        if (colon > 0) {
            String scheme = s.substring(0, colon).toLowerCase(java.util.Locale.ROOT);
            if (io.ports.core.registry.RegistryStores.providers().containsKey(scheme)) {
                return s; // the provider validates the rest when the store opens
            }
            throw new IllegalArgumentException("the store scheme " + scheme + ":// is not on the class path"
                    + (scheme.equals("etcd") ? " (add the ports-etcd module)" : ""));
        }
        throw new IllegalArgumentException("not memory, file:/dir or etcd://HOST:PORT,...");
    }
}
