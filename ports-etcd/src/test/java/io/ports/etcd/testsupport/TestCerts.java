package io.ports.etcd.testsupport;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * A throw-away CA with a server certificate for 127.0.0.1 and a client certificate, made with openssl
 * (EC P-256 keys, PKCS#8 PEM, valid one day), for the TLS tests.
 *
 * @param ca         the CA certificate
 * @param serverCert certificate of 127.0.0.1 (server and client use)
 * @param serverKey  its key
 * @param clientCert a client certificate of the same CA
 * @param clientKey  its key
 */
public record TestCerts(Path ca, Path serverCert, Path serverKey, Path clientCert, Path clientKey) {

    /** Makes the files in {@code dir}; skips without openssl on a developer machine, fails on CI. */
    public static TestCerts create(Path dir) throws IOException, InterruptedException {
        boolean present = Files.isExecutable(Path.of("/usr/bin/openssl"));
        if (!present && "true".equals(System.getenv("CI"))) {
            throw new AssertionError("openssl is missing on CI: scripts/test must install the Debian package openssl");
        }
        assumeTrue(present, "openssl is not installed; the TLS test is skipped");
        Files.createDirectories(dir);
        Files.writeString(dir.resolve("server.ext"), "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n");
        Files.writeString(dir.resolve("client.ext"), "extendedKeyUsage=clientAuth\n");
        run(dir, "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", "ca.key",
                "-out", "ca.pem", "-days", "1", "-subj", "/CN=ports-test-ca");
        for (String who : List.of("server", "client")) {
            run(dir, "openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", who + ".key",
                    "-out", who + ".csr", "-subj", "/CN=" + (who.equals("server") ? "127.0.0.1" : "ports-client"));
            run(dir, "openssl", "x509", "-req", "-in", who + ".csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
                    "-out", who + ".pem", "-days", "1", "-extfile", who + ".ext");
        }
        return new TestCerts(dir.resolve("ca.pem"), dir.resolve("server.pem"), dir.resolve("server.key"), dir.resolve("client.pem"),
                dir.resolve("client.key"));
    }

    private static void run(Path dir, String... cmd) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true).start();
        try {
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!p.waitFor(20, TimeUnit.SECONDS) || p.exitValue() != 0) {
                throw new IOException(String.join(" ", cmd) + " failed: " + out);
            }
        } finally {
            p.destroyForcibly();
        }
    }
}
