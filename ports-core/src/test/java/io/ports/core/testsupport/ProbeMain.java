package io.ports.core.testsupport;

import io.ports.core.BindProbe;

/** Child JVM: probes the given port on the wildcard and prints {@code RESULT <status>}. */
public final class ProbeMain {
    private ProbeMain() {
    }

    public static void main(String[] args) {
        System.out.println("RESULT " + BindProbe.wildcard().probe(Integer.parseInt(args[0])).status());
    }
}
