package io.ports.server.cli;

import picocli.AutoComplete;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.util.concurrent.Callable;

/** {@code ports completion [bash|zsh]}: prints the shell completion script of every command and option. */
@Command(name = "completion", sortOptions = false,
        header = "Print a shell completion script for ports (bash or zsh).",
        description = {"Prints a script that completes the commands, options and option values of ports. "
                + "The same script serves bash and zsh (in zsh it loads bashcompinit).",
            "Load it in the current shell with: source <(ports completion)",
            "or install it: ports completion > /etc/bash_completion.d/ports"},
        footer = {"", "Examples:", "  source <(ports completion)", "  ports completion zsh > ~/.zsh/ports-completion.sh"})
final class CompletionCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Parameters(index = "0", arity = "0..1", paramLabel = "SHELL", defaultValue = "bash", converter = ShellConverter.class,
            description = "bash (the default) or zsh.")
    String shell;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        out.print(AutoComplete.bash("ports", spec.root().commandLine()));
        out.flush();
        return Main.OK;
    }

    static final class ShellConverter implements picocli.CommandLine.ITypeConverter<String> {
        @Override
        public String convert(String value) {
            return Converters.convert(value, v -> {
                if (!v.equals("bash") && !v.equals("zsh")) {
                    throw new IllegalArgumentException("unknown shell '" + v + "': expected bash or zsh");
                }
                return v;
            });
        }
    }
}
