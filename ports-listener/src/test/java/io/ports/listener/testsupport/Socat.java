package io.ports.listener.testsupport;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** Debian's socat as a real client or server; every run bounded in time. */
public final class Socat {
    private Socat() {
    }

    /** Skips without socat on a developer machine, fails on CI (CI=true), where it must be installed. */
    public static void require() {
        boolean present = Files.isExecutable(Path.of("/usr/bin/socat"));
        if (!present && "true".equals(System.getenv("CI"))) {
            throw new AssertionError("socat is missing on CI: scripts/test installs the Debian package socat");
        }
        assumeTrue(present, "socat is not installed (apt-get install socat); scripts/test installs it");
    }

    /** Sends {@code input} through {@code socat -T2 - ADDRESS} and returns what came back. */
    public static String exchange(String address, String input) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(List.of("/usr/bin/socat", "-T", "2", "-", address)).redirectErrorStream(true).start();
        try {
            p.getOutputStream().write(input.getBytes(StandardCharsets.UTF_8));
            p.getOutputStream().flush();
            byte[] buf = new byte[4096];
            StringBuilder out = new StringBuilder();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (System.nanoTime() < deadline && out.length() < input.length()) {
                if (p.getInputStream().available() > 0) {
                    int n = p.getInputStream().read(buf);
                    out.append(new String(buf, 0, n, StandardCharsets.UTF_8));
                } else {
                    Thread.sleep(10);
                }
            }
            return out.toString();
        } finally {
            p.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
        }
    }

    /** Starts {@code socat ARGS...} in the background; the caller destroys it. */
    public static Process start(String... args) throws IOException {
        List<String> cmd = new ArrayList<>();
        cmd.add("/usr/bin/socat");
        cmd.addAll(List.of(args));
        return new ProcessBuilder(cmd).redirectErrorStream(true).start();
    }
}
