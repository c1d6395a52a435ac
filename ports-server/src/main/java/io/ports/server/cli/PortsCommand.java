package io.ports.server.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.ParseResult;
import picocli.CommandLine.ScopeType;
import picocli.CommandLine.Spec;

import java.util.concurrent.Callable;

/** The top command, {@code ports}: only options shared by every subcommand live here. */
@Command(name = "ports",
        mixinStandardHelpOptions = true,
        scope = ScopeType.INHERIT,
        versionProvider = VersionProvider.class,
        usageHelpAutoWidth = true,
        description = "Reserves ports host-wide for database nodes and tells who holds a port.",
        subcommands = {ServeCommand.class, MigrateCommand.class, ReserveCommand.class, CheckCommand.class, ScanCommand.class, CommandLine.HelpCommand.class},
        footer = {"", "Exit codes: 0 success, 1 failure (check: a port is not free), 2 bad arguments."})
final class PortsCommand implements Callable<Integer> {
    /** The names of the commands, for messages. */
    static final String COMMANDS = "serve, migrate, reserve, check, scan, help";

    @Spec
    CommandSpec spec;

    @Option(names = {"-v", "--verbose"}, scope = ScopeType.INHERIT,
            description = "Log what ports does to stderr: -v for INFO, -vv for DEBUG.")
    boolean[] verbose = new boolean[0];

    @Override
    public Integer call() {
        throw new ParameterException(spec.commandLine(), "missing command: expected one of " + COMMANDS);
    }

    /** How many times -v was given, on the top command or any subcommand. */
    static int verbosity(ParseResult parseResult) {
        int n = 0;
        for (ParseResult r = parseResult; r != null; r = r.subcommand()) {
            // one entry per occurrence: -v -v and -vv count 2
            n += (int) r.matchedOptions().stream().filter(o -> "--verbose".equals(o.longestName())).count();
        }
        return n;
    }
}
