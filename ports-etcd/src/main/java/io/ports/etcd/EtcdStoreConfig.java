package io.ports.etcd;

import java.net.URI;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * Where and how {@link EtcdRegistryStore} reaches etcd. Validated at construction: a bad value is an
 * {@link IllegalArgumentException} naming it and the valid form.
 *
 * <p>The URI form, as {@code ports serve --store} and the {@code registry.store} key take it:
 * <pre>
 * etcd://HOST:PORT[,HOST:PORT...][/PREFIX][?OPTION=VALUE&amp;...]
 * </pre>
 * with options {@code user}, {@code password} or {@code password_file}, {@code tls=true} (https to
 * every endpoint), {@code ca} (PEM file of the CA to trust, implies tls), {@code cert} and {@code key}
 * (client certificate and PKCS#8 key, PEM), {@code authority} (TLS host name to verify instead of the
 * endpoint's), {@code timeout} (each request; default 2s), {@code connect_timeout} (default 5s).
 * The port defaults to 2379 and the prefix to {@code /ports/}. For example
 * {@code etcd://10.0.0.1:2379,10.0.0.2:2379/prod/ports?user=ports&password_file=/etc/ports/etcd.pw&tls=true}.
 *
 * @param endpoints      etcd client URLs, {@code http://h:p} or {@code https://h:p}; at least one
 * @param prefix         key prefix of every key the store writes, starting and ending with {@code /}
 * @param user           etcd user, or null for none
 * @param password       the user's password (required with a user), or null
 * @param trustedCa      PEM file of the CA that signed the servers' certificates, or null for the JDK's
 * @param clientCert     PEM client certificate for mutual TLS, or null
 * @param clientKey      PEM (PKCS#8) key of {@code clientCert}, or null
 * @param authority      host name the servers' certificates must name, or null for each endpoint's host
 * @param requestTimeout how long one request (a write, a heartbeat, a health probe) may take
 * @param connectTimeout how long opening the store waits for etcd to answer
 */
public record EtcdStoreConfig(List<URI> endpoints, String prefix, String user, String password, Path trustedCa, Path clientCert,
                              Path clientKey, String authority, Duration requestTimeout, Duration connectTimeout) {

    public static final int DEFAULT_PORT = 2379;
    public static final String DEFAULT_PREFIX = "/ports/";
    public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(2);
    public static final Duration DEFAULT_CONNECT_TIMEOUT = Duration.ofSeconds(5);
    private static final Set<String> OPTIONS = Set.of("user", "password", "password_file", "tls", "ca", "cert", "key", "authority",
            "timeout", "connect_timeout");

    public EtcdStoreConfig {
        Objects.requireNonNull(endpoints, "endpoints");
        if (endpoints.isEmpty()) {
            throw new IllegalArgumentException("no etcd endpoint given: expected at least one, as http://HOST:PORT or https://HOST:PORT");
        }
        endpoints = List.copyOf(endpoints);
        boolean tls = false;
        for (URI e : endpoints) {
            String scheme = e.getScheme() == null ? "" : e.getScheme().toLowerCase(Locale.ROOT);
            if (!scheme.equals("http") && !scheme.equals("https") || e.getHost() == null || e.getPort() < 1 || e.getPort() > 65535
                    || e.getPath() != null && !e.getPath().isEmpty() && !e.getPath().equals("/")) {
                throw new IllegalArgumentException("etcd endpoint '" + e + "' is not valid: expected http://HOST:PORT or https://HOST:PORT"
                        + " with a port in 1-65535 and no path");
            }
            tls |= scheme.equals("https");
        }
        if (tls && endpoints.stream().anyMatch(e -> e.getScheme().equalsIgnoreCase("http"))) {
            throw new IllegalArgumentException("etcd endpoints " + endpoints + " mix http and https: use one scheme for all of them");
        }
        prefix = prefix == null ? DEFAULT_PREFIX : prefix;
        if (!prefix.startsWith("/") || !prefix.endsWith("/") || prefix.contains("//") || prefix.chars().anyMatch(c -> c < 0x21 || c > 0x7e)) {
            throw new IllegalArgumentException("etcd key prefix '" + prefix + "' is not valid: expected printable ASCII without spaces, starting and"
                    + " ending with '/' (for example /ports/ or /prod/ports/)");
        }
        if (user != null && (user.isBlank() || user.contains(":"))) {
            throw new IllegalArgumentException("etcd user '" + user + "' is not valid: expected a non-blank name without ':'");
        }
        if (user != null && (password == null || password.isEmpty())) {
            throw new IllegalArgumentException("etcd user '" + user + "' has no password: give password or password_file");
        }
        if (user == null && password != null) {
            throw new IllegalArgumentException("an etcd password was given without a user: give user as well");
        }
        if ((trustedCa != null || clientCert != null || clientKey != null || authority != null) && !tls) {
            throw new IllegalArgumentException("TLS options (ca, cert, key, authority) need https endpoints, got " + endpoints
                    + ": use tls=true or https://");
        }
        if ((clientCert == null) != (clientKey == null)) {
            throw new IllegalArgumentException("a client certificate needs both cert and key (got cert=" + clientCert + ", key=" + clientKey + ")");
        }
        for (Path p : new Path[] {trustedCa, clientCert, clientKey}) {
            if (p != null && !Files.isReadable(p)) {
                throw new IllegalArgumentException("TLS file " + p + " does not exist or is not readable");
            }
        }
        requestTimeout = positive(requestTimeout == null ? DEFAULT_TIMEOUT : requestTimeout, "request timeout");
        connectTimeout = positive(connectTimeout == null ? DEFAULT_CONNECT_TIMEOUT : connectTimeout, "connect timeout");
    }

    private static Duration positive(Duration d, String what) {
        if (d.isNegative() || d.isZero() || d.compareTo(Duration.ofMinutes(10)) > 0) {
            throw new IllegalArgumentException("etcd " + what + " " + d + " is not valid: expected more than 0 and at most 10 minutes");
        }
        return d;
    }

    /** Plain-http endpoints {@code host:port,...} with the default prefix and timeouts. */
    public static EtcdStoreConfig of(String hostPorts) {
        return parse("etcd://" + hostPorts);
    }

    /** Whether the endpoints are https. */
    public boolean tls() {
        return endpoints.get(0).getScheme().equalsIgnoreCase("https");
    }

    /** The endpoints as etcd URLs, comma-separated, for messages and for jetcd. */
    public String endpointList() {
        return String.join(",", endpoints.stream().map(URI::toString).toList());
    }

    /** A copy with another key prefix. */
    public EtcdStoreConfig withPrefix(String newPrefix) {
        return new EtcdStoreConfig(endpoints, newPrefix, user, password, trustedCa, clientCert, clientKey, authority, requestTimeout, connectTimeout);
    }

    /** A copy with another request timeout. */
    public EtcdStoreConfig withRequestTimeout(Duration timeout) {
        return new EtcdStoreConfig(endpoints, prefix, user, password, trustedCa, clientCert, clientKey, authority, timeout, connectTimeout);
    }

    /** A copy with a user and password. */
    public EtcdStoreConfig withCredentials(String newUser, String newPassword) {
        return new EtcdStoreConfig(endpoints, prefix, newUser, newPassword, trustedCa, clientCert, clientKey, authority, requestTimeout, connectTimeout);
    }

    /**
     * Parses the URI form (see the class comment).
     *
     * @throws IllegalArgumentException naming the part that is wrong and the valid form
     */
    public static EtcdStoreConfig parse(String uri) {
        Objects.requireNonNull(uri, "etcd store URI");
        String form = "etcd://HOST:PORT[,HOST:PORT...][/PREFIX][?user=..&password=..|password_file=..&tls=true&ca=..&cert=..&key=..&timeout=2s]";
        if (!uri.regionMatches(true, 0, "etcd://", 0, 7)) {
            throw new IllegalArgumentException("store URI '" + redact(uri) + "' is not an etcd URI: expected " + form);
        }
        String rest = uri.substring(7);
        String query = null;
        int q = rest.indexOf('?');
        if (q >= 0) {
            query = rest.substring(q + 1);
            rest = rest.substring(0, q);
        }
        String prefix = null;
        int slash = rest.indexOf('/');
        if (slash >= 0) {
            prefix = rest.substring(slash);
            rest = rest.substring(0, slash);
            if (prefix.equals("/")) {
                prefix = null;
            } else if (!prefix.endsWith("/")) {
                prefix = prefix + "/";
            }
        }
        Map<String, String> options = new LinkedHashMap<>();
        if (query != null && !query.isEmpty()) {
            for (String kv : query.split("&")) {
                int eq = kv.indexOf('=');
                String k = eq < 0 ? kv : kv.substring(0, eq);
                String v = eq < 0 ? "" : URLDecoder.decode(kv.substring(eq + 1), StandardCharsets.UTF_8);
                k = k.toLowerCase(Locale.ROOT).replace('-', '_');
                if (!OPTIONS.contains(k)) {
                    throw new IllegalArgumentException("unknown option '" + k + "' in etcd store URI '" + redact(uri) + "': known options are "
                            + new java.util.TreeSet<>(OPTIONS));
                }
                if (options.put(k, v) != null) {
                    throw new IllegalArgumentException("option '" + k + "' is given twice in etcd store URI '" + redact(uri) + "'");
                }
            }
        }
        boolean tls = options.containsKey("ca") || options.containsKey("cert");
        if (options.containsKey("tls")) {
            String t = options.get("tls").toLowerCase(Locale.ROOT);
            if (!t.equals("true") && !t.equals("false")) {
                throw new IllegalArgumentException("option tls='" + options.get("tls") + "' in etcd store URI is not valid: expected true or false");
            }
            if (t.equals("false") && tls) {
                throw new IllegalArgumentException("etcd store URI has tls=false but TLS files (ca, cert): remove one or the other");
            }
            tls = t.equals("true");
        }
        if (rest.isEmpty()) {
            throw new IllegalArgumentException("etcd store URI '" + redact(uri) + "' names no endpoint: expected " + form);
        }
        List<URI> endpoints = new ArrayList<>();
        for (String hp : rest.split(",", -1)) {
            endpoints.add(endpoint(hp.strip(), tls, uri));
        }
        String password = options.get("password");
        if (options.containsKey("password_file")) {
            if (password != null) {
                throw new IllegalArgumentException("etcd store URI gives both password and password_file: give one");
            }
            Path f = Path.of(options.get("password_file"));
            try {
                password = Files.readString(f).strip();
            } catch (java.io.IOException e) {
                throw new IllegalArgumentException("password_file " + f + " of the etcd store URI cannot be read: " + e.getMessage(), e);
            }
        }
        return new EtcdStoreConfig(endpoints, prefix, options.get("user"), password, path(options.get("ca")), path(options.get("cert")),
                path(options.get("key")), options.get("authority"), duration(options.get("timeout"), "timeout"),
                duration(options.get("connect_timeout"), "connect_timeout"));
    }

    private static URI endpoint(String hp, boolean tls, String uri) {
        if (hp.isEmpty()) {
            throw new IllegalArgumentException("etcd store URI '" + redact(uri) + "' has an empty endpoint: expected HOST:PORT,HOST:PORT");
        }
        String host;
        String port;
        if (hp.startsWith("[")) {
            int end = hp.indexOf(']');
            if (end < 0) {
                throw new IllegalArgumentException("endpoint '" + hp + "' of the etcd store URI has an unclosed IPv6 bracket: expected [ADDR]:PORT");
            }
            host = hp.substring(0, end + 1);
            port = end + 1 < hp.length() && hp.charAt(end + 1) == ':' ? hp.substring(end + 2) : null;
        } else {
            int colon = hp.lastIndexOf(':');
            host = colon < 0 ? hp : hp.substring(0, colon);
            port = colon < 0 ? null : hp.substring(colon + 1);
            if (host.contains(":")) {
                throw new IllegalArgumentException("endpoint '" + hp + "' of the etcd store URI is not valid: write IPv6 addresses as [ADDR]:PORT");
            }
        }
        int p = DEFAULT_PORT;
        if (port != null) {
            try {
                p = Integer.parseInt(port);
            } catch (NumberFormatException e) {
                p = -1;
            }
            if (p < 1 || p > 65535) {
                throw new IllegalArgumentException("endpoint '" + hp + "' of the etcd store URI has port '" + port + "': expected 1-65535");
            }
        }
        if (host.isEmpty() || !host.matches("[A-Za-z0-9._\\-]+|\\[[0-9A-Fa-f:.]+]")) {
            throw new IllegalArgumentException("endpoint '" + hp + "' of the etcd store URI has no valid host: expected a name or address, HOST:PORT");
        }
        return URI.create((tls ? "https://" : "http://") + host + ":" + p);
    }

    private static Path path(String s) {
        return s == null || s.isEmpty() ? null : Path.of(s);
    }

    private static Duration duration(String s, String what) {
        if (s == null || s.isEmpty()) {
            return null;
        }
        String t = s.strip().toLowerCase(Locale.ROOT);
        try {
            if (t.endsWith("ms")) {
                return Duration.ofMillis(Long.parseLong(t.substring(0, t.length() - 2)));
            }
            if (t.endsWith("s")) {
                return Duration.ofMillis(Math.round(Double.parseDouble(t.substring(0, t.length() - 1)) * 1000));
            }
            return Duration.parse(s.strip());
        } catch (NumberFormatException | DateTimeParseException e) {
            throw new IllegalArgumentException("option " + what + "='" + s + "' of the etcd store URI is not a duration: expected for example 500ms, 2s or PT2S");
        }
    }

    /** The URI with any password replaced, for messages. */
    static String redact(String uri) {
        return uri.replaceAll("(?i)(password=)[^&]*", "$1***");
    }

    /** Never shows the password. */
    @Override
    public String toString() {
        return "EtcdStoreConfig[endpoints=" + endpointList() + ", prefix=" + prefix + (user != null ? ", user=" + user + ", password=***" : "")
                + (trustedCa != null ? ", ca=" + trustedCa : "") + (clientCert != null ? ", cert=" + clientCert : "")
                + (authority != null ? ", authority=" + authority : "") + ", timeout=" + requestTimeout + "]";
    }
}
