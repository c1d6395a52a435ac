package io.ports.server.cli;

import picocli.CommandLine;

import java.io.PrintWriter;

/**
 * Entry point of the {@code ports} command line.
 *
 * <p>Exit codes: {@value #OK} success (for {@code check}: every port free; for {@code health}: UP),
 * {@value #FAILURE} a failure, something not found, or, for {@code check}, a port that is not free,
 * {@value #USAGE} a bad argument (rejected here or by the daemon), {@value #UNREACHABLE} the daemon
 * cannot be reached, {@value #AUTH} the daemon refused the token, {@value #UNAVAILABLE} the daemon
 * cannot serve the request now (rate limited, or the range is exhausted). The table is in docs/CLI.md.
 */
public final class Main {
    /** Success. */
    public static final int OK = 0;
    /** The command ran into a failure (or {@code check} found a port that is not free). */
    public static final int FAILURE = 1;
    /** Bad arguments: unknown option or command, missing or invalid value. */
    public static final int USAGE = 2;
    /** The daemon cannot be reached: nothing listens at its URL, or it did not answer in time. */
    public static final int UNREACHABLE = 3;
    /** The daemon refused the token: none or an unknown one (401), or a read-only one for a change (403). */
    public static final int AUTH = 4;
    /** The daemon cannot serve it now: rate limited (429) or the range exhausted (503); try again later or elsewhere. */
    public static final int UNAVAILABLE = 5;

    private Main() {
    }

    public static void main(String[] args) {
        System.exit(newCommandLine().execute(args));
    }

    /** The {@code ports} command writing to {@code System.out} and {@code System.err}. */
    public static CommandLine newCommandLine() {
        return configure(new CommandLine(new PortsCommand()));
    }

    /** The {@code ports} command writing to the given streams (for tests and embedding). */
    public static CommandLine newCommandLine(PrintWriter out, PrintWriter err) {
        CommandLine cl = new CommandLine(new PortsCommand());
        cl.setOut(out);
        cl.setErr(err);
        return configure(cl);
    }

    private static CommandLine configure(CommandLine cl) {
        ErrorHandler errors = new ErrorHandler();
        cl.setParameterExceptionHandler(errors);
        cl.setExecutionExceptionHandler(errors);
        cl.setExecutionStrategy(parseResult -> {
            Logging.configure(PortsCommand.verbosity(parseResult));
            return new CommandLine.RunLast().execute(parseResult);
        });
        return cl;
    }
}
