package io.ports.server.daemon;

import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.Assumptions;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import java.util.stream.Stream;

/** Finds the Debian programs the tests drive; on CI ({@code CI=true}) a missing one fails the test, elsewhere it skips it. */
final class Tools {
    private Tools() {
    }

    static Optional<Path> find(String name) {
        return Stream.concat(Stream.of("/usr/bin/" + name, "/usr/local/bin/" + name),
                        Stream.of(System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)).map(d -> d + "/" + name))
                .map(Path::of).filter(Files::isExecutable).findFirst();
    }

    /** The program, or a failure on CI / a skip elsewhere naming the Debian package. */
    static Path require(String name, String debianPackage) {
        Optional<Path> p = find(name);
        if (p.isEmpty()) {
            String msg = name + " not found: install the Debian package '" + debianPackage + "' (scripts/test installs it)";
            if ("true".equalsIgnoreCase(System.getenv("CI"))) {
                Assertions.fail("on CI " + msg);
            }
            Assumptions.abort(msg);
        }
        return p.get();
    }
}
