package io.ports.server.cli;

import io.ports.core.PortsException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine;
import picocli.CommandLine.IExecutionExceptionHandler;
import picocli.CommandLine.IParameterExceptionHandler;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.ParseResult;
import picocli.CommandLine.TypeConversionException;
import picocli.CommandLine.UnmatchedArgumentException;

import java.io.PrintWriter;
import java.util.List;
import java.util.Locale;

/**
 * Turns every failure into one line on stderr: bad arguments exit {@link Main#USAGE}, a failed call to
 * the daemon the exit code of its {@link DaemonException}, anything else {@link Main#FAILURE}. No stack
 * traces: {@code -vv} logs them at DEBUG.
 */
final class ErrorHandler implements IParameterExceptionHandler, IExecutionExceptionHandler {
    private static final Logger log = LoggerFactory.getLogger(ErrorHandler.class);

    @Override
    public int handleParseException(ParameterException ex, String[] args) {
        CommandLine cl = ex.getCommandLine();
        log.debug("bad arguments", ex);
        String help = cl.getCommandSpec().qualifiedName() + " --help";
        print(cl.getErr(), "ports: " + oneLine(usageMessage(ex)) + " (see '" + help + "')");
        return Main.USAGE;
    }

    @Override
    public int handleExecutionException(Exception ex, CommandLine cl, ParseResult parseResult) {
        log.debug("'{}' failed", cl.getCommandSpec().qualifiedName(), ex);
        String msg;
        if (ex instanceof PortsException && ex.getMessage() != null) {
            msg = ex.getMessage();
        } else {
            msg = "unexpected error: " + ex + " (run with -vv for details)";
        }
        print(cl.getErr(), "ports: " + oneLine(msg));
        return ex instanceof DaemonException ? ((DaemonException) ex).exitCode() : Main.FAILURE;
    }

    private static String usageMessage(ParameterException ex) {
        if (ex.getCause() instanceof TypeConversionException && ex.getCause().getMessage() != null) {
            return ex.getCause().getMessage(); // our converters' messages name the input and the valid form
        }
        CommandLine cl = ex.getCommandLine();
        if (ex instanceof UnmatchedArgumentException && cl.getParent() == null && !cl.getSubcommands().isEmpty()) {
            List<String> unmatched = ((UnmatchedArgumentException) ex).getUnmatched();
            if (!unmatched.isEmpty() && !unmatched.get(0).startsWith("-")) {
                return "unknown command '" + unmatched.get(0) + "': expected one of " + PortsCommand.COMMANDS;
            }
        }
        return decapitalize(ex.getMessage() == null ? ex.toString() : ex.getMessage());
    }

    private static String decapitalize(String s) {
        if (s.length() > 1 && Character.isUpperCase(s.charAt(0)) && Character.isLowerCase(s.charAt(1))) {
            return s.substring(0, 1).toLowerCase(Locale.ROOT) + s.substring(1);
        }
        return s;
    }

    static String oneLine(String s) {
        return s.strip().replaceAll("\\s*\\R\\s*", " ");
    }

    private static void print(PrintWriter err, String line) {
        err.println(line);
        err.flush();
    }
}
