package io.ports.server.cli;

import io.ports.server.daemon.DaemonConfig;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The defaults of {@code ports serve}, without starting a daemon (8500 may be taken on this host): port 8500,
 * bind 127.0.0.1, and no data dir given, so {@link DaemonConfig#defaultDataDir()} picks {@code $PORTS_DATA_DIR}, else
 * {@code ~/.ports} (that choice end to end, on a free port: {@code ServeProcessTest}).
 */
class ServeDefaultsTest {

    @Test
    void serve_withoutOptions_listensOnLoopbackPort8500() {
        ServeCommand serve = new ServeCommand();
        new CommandLine(serve).parseArgs();
        assertEquals(8500, serve.port);
        assertEquals(DaemonConfig.DEFAULT_PORT, serve.port);
        assertEquals("127.0.0.1", serve.bind.getHostAddress());
        assertTrue(serve.bind.isLoopbackAddress());
        assertNull(serve.dataDir, "no --data-dir: the default data dir applies");
        assertEquals(50, serve.rateLimit);
        assertEquals(java.time.Duration.ofSeconds(30), serve.heartbeatTimeout);
    }

    @Test
    void daemonConfigDefaults_areLoopback8500_withReadsOpen() {
        DaemonConfig c = DaemonConfig.defaults(Path.of("some-dir"));
        assertEquals(8500, c.port());
        assertEquals(InetAddress.getLoopbackAddress(), c.bind());
        assertTrue(c.openReads());
        assertEquals(Path.of("some-dir"), c.dataDir());
    }

    @Test
    void defaultDataDir_isDotPortsInTheHome_withoutPortsDataDir() throws Exception {
        String env = System.getenv(DaemonConfig.DATA_DIR_ENV);
        if (env != null && !env.isBlank()) {
            assertEquals(Path.of(env), DaemonConfig.defaultDataDir(), "$PORTS_DATA_DIR wins");
            return;
        }
        Path home = Files.createTempDirectory("ports-home");
        String saved = System.getProperty("user.home");
        try {
            System.setProperty("user.home", home.toString());
            assertEquals(home.resolve(".ports"), DaemonConfig.defaultDataDir());
        } finally {
            System.setProperty("user.home", saved);
            Files.delete(home);
        }
    }

    @Test
    void help_namesTheDefaults() {
        Cli.Run run = Cli.run("serve", "--help");
        assertEquals(Main.OK, run.exitCode(), run::toString);
        assertTrue(run.out().contains("(default: 8500)"), run::toString);
        assertTrue(run.out().contains("(default: 127.0.0.1)"), run::toString);
        assertTrue(run.out().contains("$PORTS_DATA_DIR, else ~/.ports"), run::toString);
    }
}
