package io.ports.server.cli;

import com.fasterxml.jackson.databind.JsonNode;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.Callable;
import java.util.function.UnaryOperator;

/**
 * A command that asks the daemon one thing: resolves the target ({@link DaemonTarget}), sends one
 * request ({@link #request}) and prints the answer, as a table for people or the daemon's own JSON
 * on one line with {@code --json}.
 */
abstract class DaemonCommand implements Callable<Integer> {
    /** The environment the target is resolved from; tests replace it. */
    static volatile UnaryOperator<String> environment = System::getenv;

    @Spec
    CommandSpec spec;

    @Mixin
    DaemonOptions options;

    @Override
    public final Integer call() {
        DaemonTarget target;
        try {
            target = DaemonTarget.resolve(options.url, options.token, options.dataDir, environment);
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), e.getMessage());
        }
        PrintWriter out = spec.commandLine().getOut();
        JsonNode answer;
        try {
            answer = request(new DaemonClient(target, options.timeout));
        } catch (DaemonException e) {
            if (options.json && e.body() != null) {
                out.println(e.body());
                out.flush();
            }
            throw e;
        }
        int code;
        if (options.json) {
            out.println(Json.line(answer));
            code = exitCode(answer);
        } else {
            code = render(answer, out);
        }
        out.flush();
        return code;
    }

    /** Sends this command's request. */
    abstract JsonNode request(DaemonClient client);

    /** Prints the answer for people and returns the exit code. */
    abstract int render(JsonNode answer, PrintWriter out);

    /** The exit code of a successful answer, with {@code --json}: {@link Main#OK} unless a command says otherwise. */
    int exitCode(JsonNode answer) {
        return Main.OK;
    }

    /** One path segment, percent-encoded (RFC 3986): a service name may hold '/' and ':'. */
    static String segment(String value) {
        StringBuilder b = new StringBuilder();
        for (byte c : value.getBytes(StandardCharsets.UTF_8)) {
            if (c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~') {
                b.append((char) c);
            } else {
                b.append('%').append(Character.toUpperCase(Character.forDigit((c >> 4) & 0xF, 16)))
                        .append(Character.toUpperCase(Character.forDigit(c & 0xF, 16)));
            }
        }
        return b.toString();
    }
}
