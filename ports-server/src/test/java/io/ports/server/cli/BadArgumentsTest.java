package io.ports.server.cli;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.params.provider.Arguments.arguments;

/** Every kind of bad argument: exit 2, exactly one line on stderr naming the bad input, nothing on stdout. */
class BadArgumentsTest {
    private static final Set<String> SUBCOMMANDS = Set.of("reserve", "check", "scan");

    private Path lockDir;

    @BeforeEach
    void createLockDir() throws Exception {
        lockDir = Cli.tempDir("ports-args-test");
    }

    @AfterEach
    void deleteLockDir() {
        Cli.deleteTree(lockDir);
    }

    static Stream<Arguments> badArguments() {
        return Stream.of(
                // reserve
                arguments(List.of("reserve", "--range", "70000-1", "--count", "1"), "'70000-1'", "ports reserve --help"),
                arguments(List.of("reserve", "--range", "abc", "--count", "1"), "'abc'", "ports reserve --help"),
                arguments(List.of("reserve", "--count", "1"), "--range", "ports reserve --help"),
                arguments(List.of("reserve", "--range", "20000-20010"), "--count", "ports reserve --help"),
                arguments(List.of("reserve", "--range", "20000-20010", "--count", "0"), "count '0'", "ports reserve --help"),
                arguments(List.of("reserve", "--range", "20000-20010", "--count", "-3"), "count '-3'", "ports reserve --help"),
                arguments(List.of("reserve", "--range", "20000-20010", "--count", "many"), "count 'many'", "ports reserve --help"),
                arguments(List.of("reserve", "--range", "20000-20010", "--count", "2", "--strategy", "bogus"), "'bogus'", "ports reserve --help"),
                arguments(List.of("reserve", "--range", "20000-20010", "--count", "2", "--hold", "5x"), "'5x'", "ports reserve --help"),
                arguments(List.of("reserve", "--range", "20000-20010", "--count", "2", "--hold", "1m1h"), "'1m1h'", "ports reserve --help"),
                arguments(List.of("reserve", "--range", "20000-20010", "--count", "2", "--hold"), "--hold", "ports reserve --help"),
                arguments(List.of("reserve", "--range", "20000-20010", "--count", "2", "--service", "no spaces"), "'no spaces'", "ports reserve --help"),
                arguments(List.of("reserve", "--range", "20000-20002", "--count", "4"), "20000-20002", "ports reserve --help"),
                arguments(List.of("reserve", "--range", "80-90", "--count", "1"), "80-90", "ports reserve --help"),
                arguments(List.of("reserve", "--range", "20000-20010", "--count", "1", "--frobnicate"), "--frobnicate", "ports reserve --help"),
                // check
                arguments(List.of("check", "70000"), "70000", "ports check --help"),
                arguments(List.of("check", "0"), "port 0", "ports check --help"),
                arguments(List.of("check", "http"), "'http'", "ports check --help"),
                arguments(List.of("check"), "PORT", "ports check --help"),
                arguments(List.of("check", "20000", "--frobnicate"), "--frobnicate", "ports check --help"),
                // scan
                arguments(List.of("scan", "9-1"), "'9-1'", "ports scan --help"),
                arguments(List.of("scan", "20000-"), "'20000-'", "ports scan --help"),
                arguments(List.of("scan"), "RANGE", "ports scan --help"),
                arguments(List.of("scan", "20000-20001", "20005"), "'20005'", "ports scan --help"),
                // the top command
                arguments(List.of("frobnicate"), "'frobnicate'", "ports --help"),
                arguments(List.of("--frobnicate"), "--frobnicate", "ports --help"),
                arguments(List.of(), "missing command", "ports --help"));
    }

    @ParameterizedTest(name = "ports {0}")
    @MethodSource("badArguments")
    void badArguments_printOneLineNamingTheInputAndExitTwo(List<String> args, String named, String help) {
        Cli.Run run = Cli.run(withLockDir(args));

        assertEquals(Main.USAGE, run.exitCode(), run::toString);
        assertEquals("", run.out(), run::toString);
        assertTrue(run.err().endsWith(System.lineSeparator()), run::toString);
        assertEquals(1, run.errLines().size(), run::toString);
        String line = run.errLines().get(0);
        assertTrue(line.startsWith("ports: "), run::toString);
        assertTrue(line.contains(named), () -> "should name " + named + ": " + run);
        assertTrue(line.endsWith("(see '" + help + "')"), run::toString);
        assertFalse(line.contains("Exception"), run::toString);
    }

    /** Subcommands get a temporary lock directory right after their name, so that nothing touches the default one. */
    private String[] withLockDir(List<String> args) {
        List<String> all = new ArrayList<>(args);
        if (!all.isEmpty() && SUBCOMMANDS.contains(all.get(0))) {
            all.addAll(1, Arrays.asList("--lock-dir", lockDir.toString()));
        }
        return all.toArray(String[]::new);
    }
}
