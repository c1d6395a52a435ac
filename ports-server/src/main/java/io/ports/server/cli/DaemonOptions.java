package io.ports.server.cli;

import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.time.Duration;

/** The options of every command that talks to the daemon (a picocli mixin). */
final class DaemonOptions {
    @Option(names = "--url", paramLabel = "URL",
            description = "The daemon's URL (default: $PORTS_URL, else the url of <data-dir>/daemon.json, else " + DaemonTarget.DEFAULT_URL + ").")
    String url;

    @Option(names = "--token", paramLabel = "TOKEN",
            description = "Bearer token (default: $PORTS_TOKEN, else <data-dir>/admin.token, and for reading <data-dir>/read.token).")
    String token;

    @Option(names = "--data-dir", paramLabel = "DIR",
            description = "The daemon's data directory, where daemon.json and the token files are (default: $PORTS_DATA_DIR, else ~/.ports).")
    Path dataDir;

    @Option(names = "--timeout", paramLabel = "DURATION", converter = Converters.Hold.class, defaultValue = "30s",
            description = "How long to wait for the daemon to connect and to answer (default: ${DEFAULT-VALUE}).")
    Duration timeout;

    @Option(names = "--json", description = "Print the daemon's JSON answer on one line (on failure, its JSON error, when it sent one).")
    boolean json;
}
