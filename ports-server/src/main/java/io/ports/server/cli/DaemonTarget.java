package io.ports.server.cli;

import com.fasterxml.jackson.databind.JsonNode;
import io.ports.core.PortsException;

import java.io.IOException;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.function.UnaryOperator;

/**
 * Which daemon the command line talks to and with which token, resolved as the daemon contract says:
 * the URL from {@code --url}, else {@code PORTS_URL}, else {@code <data-dir>/daemon.json}, else
 * {@value #DEFAULT_URL}; the token from {@code --token}, else {@code PORTS_TOKEN}, else
 * {@code <data-dir>/admin.token} (for reading, then {@code <data-dir>/read.token}); the data directory
 * from {@code --data-dir}, else {@code PORTS_DATA_DIR}, else {@code ~/.ports}.
 *
 * <p>Every choice remembers where it came from, so that an error can say which URL was tried and
 * where the token was read.
 *
 * @param url       the daemon's base URL, {@code http://host:port} without a trailing slash
 * @param urlSource where the URL came from: "--url", "PORTS_URL", a daemon.json path, or {@value #DEFAULT_SOURCE}
 * @param dataDir   the data directory
 * @param explicit  a token given by {@code --token} or {@code PORTS_TOKEN}, or empty
 */
record DaemonTarget(URI url, String urlSource, Path dataDir, Optional<Token> explicit) {
    static final String DEFAULT_URL = "http://127.0.0.1:8500";
    static final String URL_ENV = "PORTS_URL";
    static final String TOKEN_ENV = "PORTS_TOKEN";
    static final String DATA_DIR_ENV = "PORTS_DATA_DIR";
    static final String ADMIN_TOKEN_FILE = "admin.token";
    static final String READ_TOKEN_FILE = "read.token";
    static final String DAEMON_FILE = "daemon.json";
    /** The {@link #urlSource} of the default URL. */
    static final String DEFAULT_SOURCE = "default";

    /**
     * A token and where it was read from.
     *
     * @param value  the bearer token
     * @param source "--token", "PORTS_TOKEN" or a file path
     */
    record Token(String value, String source) {
        @Override
        public String toString() {
            return "token from " + source; // never the value
        }
    }

    /** What a request sends: the token, if any, and where tokens were looked for, for the message of a refusal. */
    record Credentials(Optional<Token> token, String lookedAt) {
    }

    /**
     * Resolves the target from the options (each may be null) and the environment.
     *
     * @throws IllegalArgumentException when a given URL is not an http(s) URL, or {@code --token} is empty
     * @throws PortsException when the data directory's daemon.json cannot be used
     */
    static DaemonTarget resolve(String urlOption, String tokenOption, Path dataDirOption, UnaryOperator<String> env) {
        Path dataDir = dataDirOption != null ? dataDirOption
                : nonBlank(env.apply(DATA_DIR_ENV)) != null ? Path.of(env.apply(DATA_DIR_ENV).strip())
                : Path.of(System.getProperty("user.home"), ".ports");

        URI url;
        String urlSource;
        if (nonBlank(urlOption) != null) {
            url = parseUrl(urlOption, "--url");
            urlSource = "--url";
        } else if (nonBlank(env.apply(URL_ENV)) != null) {
            url = parseUrl(env.apply(URL_ENV), URL_ENV);
            urlSource = URL_ENV;
        } else {
            Path daemonFile = dataDir.resolve(DAEMON_FILE);
            Optional<URI> fromFile = readDaemonFile(daemonFile);
            url = fromFile.orElse(URI.create(DEFAULT_URL));
            urlSource = fromFile.isPresent() ? daemonFile.toString() : DEFAULT_SOURCE;
        }

        Optional<Token> explicit;
        if (tokenOption != null) {
            if (tokenOption.isBlank()) {
                throw usage("--token is empty: pass the daemon's token, or leave --token out to read " + dataDir.resolve(ADMIN_TOKEN_FILE));
            }
            explicit = Optional.of(new Token(tokenOption.strip(), "--token"));
        } else if (nonBlank(env.apply(TOKEN_ENV)) != null) {
            explicit = Optional.of(new Token(env.apply(TOKEN_ENV).strip(), TOKEN_ENV));
        } else {
            explicit = Optional.empty();
        }
        return new DaemonTarget(url, urlSource, dataDir, explicit);
    }

    /**
     * The token to send: the explicit one, else the admin token file, else (for reading only) the
     * read-only token file.
     */
    Credentials credentials(boolean mutating) {
        if (explicit.isPresent()) {
            return new Credentials(explicit, explicit.get().source);
        }
        List<String> looked = new ArrayList<>();
        Optional<Token> admin = readToken(dataDir.resolve(ADMIN_TOKEN_FILE), looked);
        if (admin.isPresent() || mutating) {
            return new Credentials(admin, String.join(", ", looked));
        }
        Optional<Token> read = readToken(dataDir.resolve(READ_TOKEN_FILE), looked);
        return new Credentials(read, String.join(", ", looked));
    }

    /** Where the URL came from, for messages: "URL from --url", "the default URL; there is no DIR/daemon.json". */
    String urlOrigin() {
        return urlSource.equals(DEFAULT_SOURCE) ? "the default URL; there is no " + dataDir.resolve(DAEMON_FILE) : "URL from " + urlSource;
    }

    /** The URL of one API path, such as {@code /ports/stats}. */
    URI resolvePath(String path) {
        return URI.create(url.toString() + path);
    }

    private static Optional<Token> readToken(Path file, List<String> looked) {
        try {
            String value = Files.readString(file, StandardCharsets.UTF_8).strip();
            if (value.isEmpty()) {
                looked.add(file + " (empty)");
                return Optional.empty();
            }
            looked.add(file.toString());
            return Optional.of(new Token(value, file.toString()));
        } catch (NoSuchFileException e) {
            looked.add(file + " (not found)");
        } catch (AccessDeniedException e) {
            looked.add(file + " (not readable by this user)");
        } catch (IOException e) {
            looked.add(file + " (" + e.getMessage() + ")");
        }
        return Optional.empty();
    }

    /** The {@code url} of a daemon.json, or empty when there is no such file or it holds no usable URL. */
    private static Optional<URI> readDaemonFile(Path file) {
        if (!Files.isRegularFile(file)) {
            return Optional.empty();
        }
        try {
            JsonNode json = Json.mapper().readTree(Files.readString(file, StandardCharsets.UTF_8));
            JsonNode url = json == null ? null : json.get("url");
            if (url == null || !url.isTextual()) {
                throw new PortsException(file + " has no \"url\": expected {\"url\":\"http://127.0.0.1:8500\",\"pid\":N}; remove the file or pass --url");
            }
            return Optional.of(parseUrl(url.asText(), file.toString()));
        } catch (IllegalArgumentException e) {
            throw new PortsException(e.getMessage() + "; remove the file or pass --url");
        } catch (IOException e) {
            throw new PortsException(file + " is not valid JSON (" + ErrorHandler.oneLine(String.valueOf(e.getMessage()))
                    + "): remove the file or pass --url");
        }
    }

    /** The pid a daemon.json names, or 0. Only for messages: a URL from a dead daemon's file is worth pointing out. */
    long daemonFilePid() {
        Path file = dataDir.resolve(DAEMON_FILE);
        if (!urlSource.equals(file.toString())) {
            return 0;
        }
        try {
            JsonNode pid = Json.mapper().readTree(Files.readString(file, StandardCharsets.UTF_8)).get("pid");
            return pid != null && pid.canConvertToLong() ? pid.asLong() : 0;
        } catch (IOException | RuntimeException e) {
            return 0;
        }
    }

    static URI parseUrl(String text, String source) {
        String s = text.strip();
        while (s.endsWith("/")) {
            s = s.substring(0, s.length() - 1);
        }
        String valid = ": expected http://HOST:PORT or https://HOST:PORT, for example " + DEFAULT_URL;
        URI uri;
        try {
            uri = new URI(s);
        } catch (URISyntaxException e) {
            throw usage("invalid daemon URL '" + text + "' from " + source + valid);
        }
        String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
        if (!scheme.equals("http") && !scheme.equals("https") || uri.getHost() == null
                || uri.getRawQuery() != null || uri.getRawFragment() != null || uri.getRawUserInfo() != null
                || (uri.getRawPath() != null && !uri.getRawPath().isEmpty())) {
            throw usage("invalid daemon URL '" + text + "' from " + source + valid);
        }
        if (uri.getPort() == 0 || uri.getPort() > 65535) {
            throw usage("invalid daemon URL '" + text + "' from " + source + ": the port must be 1-65535");
        }
        return uri;
    }

    private static String nonBlank(String s) {
        return s == null || s.isBlank() ? null : s;
    }

    private static IllegalArgumentException usage(String message) {
        return new IllegalArgumentException(message);
    }
}
