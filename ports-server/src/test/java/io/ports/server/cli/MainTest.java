package io.ports.server.cli;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class MainTest {
    @Test
    void help_listsTheCommandsOnStdoutAndExitsZero() {
        Cli.Run run = Cli.run("--help");

        assertEquals(Main.OK, run.exitCode(), run::toString);
        for (String command : new String[] {"reserve", "check", "scan"}) {
            assertTrue(run.out().contains(command), run::toString);
        }
        assertEquals("", run.err(), run::toString);
    }

    @Test
    void subcommandHelp_describesItsOptions() {
        Cli.Run run = Cli.run("reserve", "--help");

        assertEquals(Main.OK, run.exitCode(), run::toString);
        assertTrue(run.out().contains("--range"), run::toString);
        assertTrue(run.out().contains("--hold"), run::toString);
    }

    @Test
    void version_printsTheProjectVersion() {
        Cli.Run run = Cli.run("--version");

        assertEquals(Main.OK, run.exitCode(), run::toString);
        assertTrue(run.out().startsWith("ports " + VersionProvider.version()), run::toString);
        assertTrue(!VersionProvider.version().equals("unknown"), run::toString);
    }
}
