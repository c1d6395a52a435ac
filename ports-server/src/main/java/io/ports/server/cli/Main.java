package io.ports.server.cli;

import picocli.CommandLine;

import java.io.PrintWriter;

/**
 * Entry point of the {@code ports} command line.
 *
 * <p>Exit codes: {@value #OK} success (for {@code check}: every port free), {@value #FAILURE} a failure
 * or, for {@code check}, a port that is not free, {@value #USAGE} a bad argument.
 */
public final class Main {
    /** Success. */
    public static final int OK = 0;
    /** The command ran into a failure (or {@code check} found a port that is not free). */
    public static final int FAILURE = 1;
    /** Bad arguments: unknown option or command, missing or invalid value. */
    public static final int USAGE = 2;

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
