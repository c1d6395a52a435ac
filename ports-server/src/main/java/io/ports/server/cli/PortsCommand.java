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
        description = {"Reserves ports host-wide for database nodes and tells who holds a port.",
            "serve runs the registry daemon and migrate copies its store; reserve, check and scan work on this host alone; the other commands ask the daemon."},
        subcommands = {ServeCommand.class, MigrateCommand.class, ReserveCommand.class, CheckCommand.class, ScanCommand.class,
            LookupCommands.ListCommand.class, LookupCommands.OverviewCommand.class, LookupCommands.ServiceCommand.class,
            LookupCommands.PortCommand.class, LookupCommands.TypeCommand.class, LookupCommands.StatsCommand.class,
            LookupCommands.HealthCommand.class, LookupCommands.RangesCommand.class,
            MutationCommands.AllocateCommand.class, MutationCommands.ReleaseCommand.class, MutationCommands.HeartbeatCommand.class,
            MutationCommands.CleanupCommand.class, MutationCommands.ReconcileCommand.class,
            CompletionCommand.class, CommandLine.HelpCommand.class},
        footer = {"", "Exit codes: 0 ok; 1 failed or not found (check: a port not free; health: not UP);",
            "2 bad arguments; 3 daemon unreachable; 4 token refused; 5 rate limited or range exhausted.",
            "Details in docs/CLI.md."})
final class PortsCommand implements Callable<Integer> {
    /** The names of the commands, for messages. */
    static final String COMMANDS = "serve, migrate, reserve, check, scan, list, overview, service, port, type, stats, health, ranges, "
            + "allocate, release, heartbeat, cleanup, reconcile, completion, help";

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
