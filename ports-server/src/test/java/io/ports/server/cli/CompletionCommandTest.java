package io.ports.server.cli;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/** {@code ports completion}: real bash sources the script, registers it for {@code ports}, and its function completes commands and options. */
class CompletionCommandTest {
    private static final long BASH_SECONDS = 30;

    private Path dir;
    private Path script;

    @BeforeEach
    void writeScript() throws IOException {
        dir = Cli.tempDir("ports-completion");
        Cli.Run run = Cli.run("completion");
        assertEquals(Main.OK, run.exitCode(), run::toString);
        assertEquals("", run.err(), run::toString);
        script = dir.resolve("ports-completion.bash");
        Files.writeString(script, run.out());
    }

    @AfterEach
    void deleteScript() {
        Cli.deleteTree(dir);
    }

    @Test
    void bash_sourcesTheScriptAndRegistersItsFunctionForPorts() throws Exception {
        String registered = bash("source \"$1\" && complete -p ports").strip();

        assertTrue(registered.matches("complete( -o \\w+)* -F _complete_ports ports"), registered);
    }

    @Test
    void bash_completesSubcommandsFromAPrefix() throws Exception {
        assertEquals(List.of("allocate"), complete("ports", "al"));
        assertEquals(List.of("reconcile", "release", "reserve"), complete("ports", "re").stream().sorted().toList());
        assertEquals(List.of("ranges"), complete("ports", "ra"));
        List<String> all = complete("ports", "");
        for (String c : PortsCommand.COMMANDS.split(", ")) {
            assertTrue(all.contains(c), "'" + c + "' completes from nothing: " + all);
        }
    }

    @Test
    void bash_completesTheOptionsOfADaemonCommand() throws Exception {
        List<String> options = complete("ports", "allocate", "--");
        for (String o : List.of("--preferred-port", "--required", "--url", "--token", "--data-dir", "--timeout", "--json")) {
            assertTrue(options.contains(o), o + " completes after 'ports allocate --': " + options);
        }
        assertEquals(List.of("--apply"), complete("ports", "reconcile", "--ap"));
    }

    @Test
    void zsh_getsTheSameScript_andAnUnknownShellIsABadArgument() {
        assertEquals(Cli.run("completion").out(), Cli.run("completion", "zsh").out(), "one script serves bash and zsh (bashcompinit)");
        Cli.Run fish = Cli.run("completion", "fish");
        assertEquals(Main.USAGE, fish.exitCode(), fish::toString);
        assertTrue(fish.err().contains("unknown shell 'fish': expected bash or zsh"), fish::toString);
    }

    /** What the registered completion function offers for the words, the last one being completed (what TAB does). */
    private List<String> complete(String... words) throws Exception {
        StringBuilder array = new StringBuilder();
        for (String w : words) {
            array.append('\'').append(w).append("' ");
        }
        String line = String.join(" ", words);
        String out = bash("source \"$1\" >/dev/null && fn=$(complete -p ports | sed -E 's/.*-F ([^ ]+) .*/\\1/') && "
                + "COMP_WORDS=(" + array + ") && COMP_CWORD=" + (words.length - 1) + " && COMP_LINE='" + line + "' && COMP_POINT=" + line.length()
                + " && $fn ports '" + words[words.length - 1] + "' '" + (words.length > 1 ? words[words.length - 2] : "") + "' 2>/dev/null; "
                + "printf '%s\\n' \"${COMPREPLY[@]}\"");
        return out.lines().map(String::strip).filter(s -> !s.isEmpty()).toList();
    }

    private String bash(String command) throws Exception {
        Process p = new ProcessBuilder("bash", "--norc", "--noprofile", "-c", command, "bash", script.toString())
                .redirectErrorStream(false).start();
        p.getOutputStream().close();
        if (!p.waitFor(BASH_SECONDS, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            fail("bash did not finish within " + BASH_SECONDS + " s");
        }
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, p.exitValue(), () -> "bash failed: " + err + out);
        return out;
    }
}
